/**
 * The contender loop of the lock suite's contention cases, shared by the suite's own process and
 * the child processes of the 2-process cases (`src/lock-child.ts`).
 *
 * Each contender wants `sections` critical sections, one after the other: it notes when it starts
 * wanting the lock, acquires, holds it for `holdMs`, releases. A contender whose acquisition fails
 * (a timeout or a redlock give-up) counts a failed acquisition and simply asks again, still
 * wanting the lock since the same moment. The window closes when every contender is done or at
 * the deadline, whichever comes first; a contender still waiting then records its wait so far,
 * and one that gets the lock after the deadline releases it at once, uncounted.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { commandsSent } from './command-counter.js';
import type { Locker } from './configs.js';

/** Wall clock with sub-millisecond resolution, comparable across processes on one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export interface ContendOptions {
  contenders: number;
  /** Wanted per contender. */
  sections: number;
  holdMs: number;
  /** wallMs() at which every contender starts. */
  startAt: number;
  /** wallMs() at which the window closes at the latest. */
  deadline: number;
  /** How long contenders still in an acquisition at the deadline get to come back. */
  drainMs: number;
  /** Called once, synchronously, when the window closes (to snapshot server counters). */
  onWindowClose?: () => void;
}

export interface ContendResult {
  /** Completed sections per contender. */
  completed: number[];
  /** Wait per section (ms), plus the wait so far of every contender still waiting at the deadline. */
  waitsMs: number[];
  /** Acquisitions that failed (timeout / give-up) inside the window. */
  failures: number;
  /** Errors after the section ran (release failed). */
  releaseErrors: number;
  /** A few distinct error messages, for the log. */
  errorSamples: string[];
  /** [start, end] of every completed section, wallMs(). */
  intervals: Array<[number, number]>;
  /** Times a section started while another in this process was running. */
  overlapsInProcess: number;
  /** wallMs() when the window closed. */
  closedAt: number;
  /** commandsSent() at startAt and at closedAt. */
  commandsAtStart: number;
  commandsAtClose: number;
  /** Contenders still inside an acquisition after the drain period (abandoned). */
  undrained: number;
}

export async function contend(locker: Locker, options: ContendOptions): Promise<ContendResult> {
  const { contenders, sections, holdMs, startAt, deadline } = options;
  const result: ContendResult = {
    completed: Array.from({ length: contenders }, () => 0),
    waitsMs: [],
    failures: 0,
    releaseErrors: 0,
    errorSamples: [],
    intervals: [],
    overlapsInProcess: 0,
    closedAt: deadline,
    commandsAtStart: 0,
    commandsAtClose: 0,
    undrained: 0,
  };
  const noteError = (err: unknown): void => {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    if (result.errorSamples.length < 5 && !result.errorSamples.includes(message)) result.errorSamples.push(message);
  };

  let holders = 0;
  let running = contenders;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    result.closedAt = Math.min(wallMs(), deadline);
    result.commandsAtClose = commandsSent();
    options.onWindowClose?.();
  };
  const deadlineTimer = setTimeout(close, Math.max(0, deadline - wallMs()));

  const contender = async (index: number): Promise<void> => {
    let wantedAt: number | undefined;
    while ((result.completed[index] ?? 0) < sections && wallMs() < deadline) {
      const wanted = (wantedAt ??= wallMs());
      let gotAt: number | undefined;
      try {
        await locker.withLock(async () => {
          gotAt = wallMs();
          if (gotAt >= deadline) return; // came back after the cap: release at once
          if (++holders > 1) result.overlapsInProcess++;
          await sleep(holdMs);
          holders--;
          result.intervals.push([gotAt, wallMs()]);
        });
      } catch (err) {
        noteError(err);
        if (gotAt === undefined) {
          if (wallMs() < deadline) result.failures++;
          continue; // still wanting the lock since `wanted`
        }
        result.releaseErrors++;
      }
      if (gotAt === undefined) continue;
      if (gotAt >= deadline) {
        result.waitsMs.push(deadline - wanted);
        wantedAt = undefined;
        break;
      }
      result.waitsMs.push(gotAt - wanted);
      result.completed[index] = (result.completed[index] ?? 0) + 1;
      wantedAt = undefined;
    }
    // Gave up (or timed out) right before the deadline and never got it back.
    if (wantedAt !== undefined) result.waitsMs.push(deadline - wantedAt);
  };

  await sleep(Math.max(0, startAt - wallMs()));
  result.commandsAtStart = commandsSent();
  const all = Array.from({ length: contenders }, (_, i) =>
    contender(i).finally(() => {
      if (--running === 0 || wallMs() >= deadline) close();
    }),
  );
  // When every contender finishes early, the window closes with the last one (see above).
  const giveUp = new AbortController();
  const drainLimit = sleep(Math.max(0, deadline - wallMs() + options.drainMs), false, { signal: giveUp.signal }).catch(() => false);
  const drained = await Promise.race([Promise.all(all).then(() => true), drainLimit]);
  giveUp.abort();
  clearTimeout(deadlineTimer);
  close();
  if (!drained) result.undrained = running;
  return result;
}

/**
 * Untimed: loads the scripts and opens whatever the library opens lazily (a pub/sub subscriber),
 * first alone, then with two concurrent callers so waiting paths are exercised once too.
 */
export async function warmUp(locker: Locker): Promise<void> {
  const empty = (): Promise<void> => Promise.resolve();
  for (let i = 0; i < 20; i++) await locker.withLock(empty);
  const caller = async (): Promise<void> => {
    for (let done = 0; done < 3; ) {
      try {
        await locker.withLock(empty);
        done++;
      } catch {
        // a redlock give-up; ask again
      }
    }
  };
  await Promise.all([caller(), caller()]);
}
