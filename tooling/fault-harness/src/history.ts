/**
 * What the processes of a fault run did, as one list of events stamped with the harness clock
 * (see clock.ts). Workers write their events to stdout as lines starting with
 * {@link HISTORY_MARK} (synchronous on a pipe, so a SIGKILL cannot lose an event written before
 * it); the driver adds its own (acknowledged enqueues, faults, stalls it caused, exits). The
 * checks in checks/ read nothing else.
 *
 * Vocabulary:
 * - a *section* is one `fn` body of a lock (`withLock`), from the moment `fn` is called;
 * - a *run* is one processor call for one job attempt in one worker;
 * - an *effect* is an action with an outside consequence inside a section or run (a write, a
 *   chunk of work), stamped with whether the caller's `signal` was still live at that moment;
 * - a *stall* is a time a process could not run its event loop (SIGSTOP, a blocked loop);
 * - a *data loss* fault is one after which Redis may have forgotten acknowledged writes (a restart
 *   without persistence, FLUSHALL, deleted lock keys, a failover without a replica's confirmation).
 */

/** Prefix of a history line on a worker's stdout. */
export const HISTORY_MARK = '@@h ';

/** A lock's `fn` was called. */
export interface SectionStart {
  k: 'section';
  id: string;
  proc: string;
  scope: string;
  token: number;
  t: number;
  /**
   * When the acquire that granted it was sent (µs). A fault that made Redis forget the lock and
   * ended after this instant may have deleted this very lease (the acquire ran just before the
   * keys were deleted, its reply read just after). Defaults to `t`.
   */
  requested?: number;
}

/** The section's `fn` settled (`abortedAt`: when its signal aborted, if it did). */
export interface SectionEnd {
  k: 'section-end';
  id: string;
  proc: string;
  t: number;
  abortedAt?: number;
  outcome: 'ok' | 'lost' | 'error' | 'aborted';
  error?: string;
}

/** An action with outside consequences inside a section or run; `live`: its signal had not aborted. */
export interface Effect {
  k: 'effect';
  /** Section or run id. */
  of: string;
  proc: string;
  t: number;
  live: boolean;
  what: string;
}

/** A processor call started for one job attempt. `key`/`seq`: the debounce key and the sequence number its data carries. */
export interface RunStart {
  k: 'run';
  id: string;
  proc: string;
  queue: string;
  jobId: string;
  t: number;
  key?: string;
  seq?: number;
}

/** The processor call settled. */
export interface RunEnd {
  k: 'run-end';
  id: string;
  proc: string;
  t: number;
  ok: boolean;
  abortedAt?: number;
  error?: string;
}

/** An enqueue returned (acknowledged) with this job id and status. */
export interface Ack {
  k: 'ack';
  proc: string;
  queue: string;
  jobId: string;
  status: string;
  t: number;
  /**
   * When the enqueue was sent (µs). A fault that loses queue data and ends after this instant may
   * have been applied after the job was written, even if the acknowledgement arrives later (the
   * add ran just before a FLUSHALL, its reply read after the FLUSHALL's). Defaults to `t`.
   */
  sent?: number;
  key?: string;
  seq?: number;
}

/** A bounded call and how long it took (`boundMs`: what its options promise). */
export interface BoundedCall {
  k: 'call';
  proc: string;
  op: string;
  boundMs: number;
  ms: number;
  /** When the call started. */
  t: number;
  ok: boolean;
  code?: string;
}

/** A vector returned by the cache, compared with the one its text, model and size should get. */
export interface VectorCheck {
  k: 'vector';
  proc: string;
  t: number;
  ok: boolean;
  detail?: string;
}

/** A time a process could not run its event loop. */
export interface Stall {
  k: 'stall';
  proc: string;
  kind: 'stop' | 'block';
  t0: number;
  t1: number;
}

/** What a fault may have made Redis forget. */
export type Loss = 'queue' | 'lock';

/** A fault the driver injected. */
export interface Fault {
  k: 'fault';
  kind: string;
  target: string;
  t0: number;
  t1: number;
  /** Data this fault may legitimately lose (acknowledged writes before `t1`). */
  loses: Loss[];
  detail?: string;
}

/** A process ended. `expected`: it was told to stop and must exit by itself with 0, or it was killed. */
export interface ProcessExit {
  k: 'exit';
  proc: string;
  t: number;
  code: number | null;
  signal: string | null;
  expected: 'self' | 'killed';
  /** For 'self': when the stop was requested and how long the process may take. */
  stopRequestedAt?: number;
  boundMs?: number;
}

export type HistoryEvent = SectionStart | SectionEnd | Effect | RunStart | RunEnd | Ack | BoundedCall | VectorCheck | Stall | Fault | ProcessExit;

/** A history line for stdout (see {@link HISTORY_MARK}). */
export function historyLine(event: HistoryEvent): string {
  return `${HISTORY_MARK}${JSON.stringify(event)}\n`;
}

/** The event on a line, or undefined for any other output. Throws on a marked line that is not an event. */
export function parseHistoryLine(line: string): HistoryEvent | undefined {
  if (!line.startsWith(HISTORY_MARK)) return undefined;
  const value: unknown = JSON.parse(line.slice(HISTORY_MARK.length));
  if (typeof value !== 'object' || value === null || typeof (value as { k?: unknown }).k !== 'string') {
    throw new Error(`not a history event: ${line.slice(0, 200)}`);
  }
  return value as HistoryEvent;
}

/** Every event of a run, with the indexes the checks use. */
export class History {
  readonly events: HistoryEvent[] = [];

  add(event: HistoryEvent): void {
    this.events.push(event);
  }

  of<K extends HistoryEvent['k']>(k: K): Array<Extract<HistoryEvent, { k: K }>> {
    return this.events.filter((e): e is Extract<HistoryEvent, { k: K }> => e.k === k);
  }

  /** Stalls of `proc` that overlap [from, to]. */
  stalled(proc: string, from: number, to: number): boolean {
    return this.of('stall').some((s) => s.proc === proc && s.t0 <= to && s.t1 >= from);
  }

  /** A fault that may lose `loss` data started within [from, to]. */
  lossBetween(loss: Loss, from: number, to: number): boolean {
    return this.of('fault').some((f) => f.loses.includes(loss) && f.t0 <= to && f.t1 >= from);
  }

  /** When `proc` exited (Infinity while it runs). */
  exitOf(proc: string): number {
    return this.of('exit').find((e) => e.proc === proc)?.t ?? Number.POSITIVE_INFINITY;
  }
}
