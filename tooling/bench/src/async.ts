import type { ChildProcess } from 'node:child_process';

/** Small promise helpers shared by the suites that drive child processes (lock, fairness). */

/** A promise with its resolve/reject exposed; never an unhandled rejection (whoever awaits it observes it). */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(err: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Ends a child's pending promises when it cannot start or exits before reporting (each is
 * rejected with what it printed on stderr), and resolves `exited` when it exits.
 */
export function watchChildEnd(
  proc: ChildProcess,
  label: string,
  stderr: () => string,
  pending: ReadonlyArray<{ reject(err: Error): void }>,
  exited: { resolve(value: undefined): void },
): void {
  const failed = (why: string): void => {
    const text = stderr().trim();
    const err = new Error(`${label} ${why}${text ? `: ${text.slice(0, 2_000)}` : ''}`);
    for (const p of pending) p.reject(err);
  };
  proc.on('error', (err) => failed(`could not start: ${err.message}`));
  proc.on('exit', (code, signal) => {
    failed(`exited (${signal ?? String(code)}) before reporting`);
    exited.resolve(undefined);
  });
}
