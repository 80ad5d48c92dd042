import { abortReason } from './abort-reason.js';
import { LockTimeoutError } from './errors.js';

/**
 * One caller's place in line for a scope in this process. The holder before it may hand the
 * lock straight over (`handed`) or put it in the Redis queue behind other processes (`queued`)
 * in the same script that releases, so a hand-off costs one round trip.
 */
export interface Turn {
  readonly token: string;
  readonly ttlMs: number;
  /** Set when the previous holder's release gave the lock to this turn. */
  handed?: { fencingToken: number; validUntil: number };
  /** Set (to when that release was sent, performance.now()) when the previous holder's release queued this turn in Redis behind other processes. */
  queuedAt?: number;
  /** The caller gave up (timeout, abort) before its turn came. */
  gone: boolean;
}

interface Waiter {
  turn: Turn;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * In-process first-come-first-served queue per scope. Only the head of each process's queue
 * talks to Redis, so N local waiters cost one contender's worth of Redis commands, and they are
 * served in arrival order.
 */
export class ScopeQueues {
  private readonly queues = new Map<string, Waiter[]>();

  /** Called with a turn that was handed the lock but whose caller is gone: release it. */
  constructor(private readonly onOrphan: (scope: string, turn: Turn) => void) {}

  /** Resolves when it is `turn`'s turn in this process; the caller must call `leave(scope)` after. */
  enter(scope: string, turn: Turn, deadline: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const queue = this.queues.get(scope);
    if (!queue) {
      this.queues.set(scope, []);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
      };
      const waiter: Waiter = {
        turn,
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (err) => {
          cleanup();
          turn.gone = true;
          if (turn.handed) this.onOrphan(scope, turn);
          reject(err);
        },
      };
      const onAbort = (): void => waiter.reject(abortReason(signal));
      const timer = setTimeout(
        () => waiter.reject(new LockTimeoutError(scope, timeoutMs, ' (waiting behind callers in this process)')),
        Math.max(0, deadline - performance.now()),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /** The next local caller's turn, if any (the holder offers it the lock when releasing). */
  next(scope: string): Turn | undefined {
    return this.queues.get(scope)?.[0]?.turn;
  }

  /** Hands the turn to the next local waiter, or frees the scope. */
  leave(scope: string): void {
    const queue = this.queues.get(scope);
    if (!queue) return;
    const next = queue[0];
    if (next) next.resolve();
    else this.queues.delete(scope);
  }
}
