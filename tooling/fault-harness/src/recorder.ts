import { nowUs } from './clock.js';
import { historyLine, type HistoryEvent } from './history.js';

/** A lock section or a job run in progress: record its effects, then its end. */
export interface Activity {
  readonly id: string;
  /**
   * Records an action with outside consequences, stamped with whether the signal was still live
   * right now. Call it synchronously just before the action is sent; returns that liveness.
   */
  effect(what: string): boolean;
}

export interface SectionHandle extends Activity {
  end(outcome: 'ok' | 'lost' | 'error' | 'aborted', error?: string): void;
}

export interface RunHandle extends Activity {
  end(ok: boolean, error?: string): void;
}

/** What a worker process uses to write its part of the history (to stdout by default). */
export interface Recorder {
  readonly proc: string;
  emit(event: HistoryEvent): void;
  /** Call first thing inside a lock's `fn`; `requested`: when the acquire was sent (µs, {@link nowUs}). */
  enterSection(scope: string, token: number, signal: AbortSignal, requested?: number): SectionHandle;
  /** Call first thing inside a processor. `key`/`seq` identify the data of a debounced job. */
  startRun(queue: string, jobId: string, signal: AbortSignal | undefined, data?: { key?: string; seq?: number }): RunHandle;
  /** Runs a bounded call and records how long it took against its bound (a rejection is recorded, then rethrown). */
  timed<T>(op: string, boundMs: number, call: () => Promise<T>): Promise<T>;
  /** Blocks this process's event loop for `ms` (synchronous busy wait), recorded as a stall. */
  block(ms: number): void;
  /** Records whether a vector the cache returned was the expected one. */
  vector(ok: boolean, detail?: string): void;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function createRecorder(proc: string, write: (line: string) => void = (line) => void process.stdout.write(line)): Recorder {
  let n = 0;
  const emit = (event: HistoryEvent): void => write(historyLine(event));
  const watch = (signal: AbortSignal | undefined): (() => number | undefined) => {
    let abortedAt: number | undefined = signal?.aborted ? nowUs() : undefined;
    signal?.addEventListener('abort', () => (abortedAt ??= nowUs()), { once: true });
    return () => abortedAt;
  };
  const effectOf = (id: string, signal: AbortSignal | undefined) => (what: string): boolean => {
    const live = !(signal?.aborted ?? false);
    emit({ k: 'effect', of: id, proc, t: nowUs(), live, what });
    return live;
  };
  return {
    proc,
    emit,
    enterSection(scope, token, signal, requested) {
      const id = `${proc}:s${++n}`;
      emit({ k: 'section', id, proc, scope, token, t: nowUs(), ...(requested === undefined ? {} : { requested }) });
      const abortedAt = watch(signal);
      return {
        id,
        effect: effectOf(id, signal),
        end(outcome, error) {
          const at = abortedAt();
          emit({ k: 'section-end', id, proc, t: nowUs(), outcome, ...(at === undefined ? {} : { abortedAt: at }), ...(error === undefined ? {} : { error }) });
        },
      };
    },
    startRun(queue, jobId, signal, data = {}) {
      const id = `${proc}:r${++n}`;
      emit({ k: 'run', id, proc, queue, jobId, t: nowUs(), ...data });
      const abortedAt = watch(signal);
      return {
        id,
        effect: effectOf(id, signal),
        end(ok, error) {
          const at = abortedAt();
          emit({ k: 'run-end', id, proc, t: nowUs(), ok, ...(at === undefined ? {} : { abortedAt: at }), ...(error === undefined ? {} : { error }) });
        },
      };
    },
    async timed(op, boundMs, call) {
      const t = nowUs();
      try {
        const value = await call();
        emit({ k: 'call', proc, op, boundMs, ms: (nowUs() - t) / 1000, t, ok: true });
        return value;
      } catch (err) {
        const code = errorCode(err);
        emit({ k: 'call', proc, op, boundMs, ms: (nowUs() - t) / 1000, t, ok: false, ...(code === undefined ? {} : { code }) });
        throw err;
      }
    },
    block(ms) {
      const t0 = nowUs();
      const until = t0 + ms * 1000;
      while (nowUs() < until) {
        // a synchronous stall: no timer, no socket read, no callback runs
      }
      emit({ k: 'stall', proc, kind: 'block', t0, t1: nowUs() });
    },
    vector(ok, detail) {
      emit({ k: 'vector', proc, t: nowUs(), ok, ...(detail === undefined ? {} : { detail }) });
    },
  };
}
