import { describe, expect, it } from 'vitest';
import { raceTimeout, settleWithin, sleep, withDeadline } from '../src/bounded-wait.js';

const never = new Promise<never>(() => undefined);

describe('bounded waits', () => {
  it('raceTimeout: the value in time, {done:false} past the bound, a rejection in time rejects', async () => {
    expect(await raceTimeout(Promise.resolve(7), 1_000)).toEqual({ done: true, value: 7 });
    const t0 = performance.now();
    expect(await raceTimeout(never, 50)).toEqual({ done: false });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    await expect(raceTimeout(Promise.reject(new Error('boom')), 1_000)).rejects.toThrow('boom');
  });

  it('raceTimeout with ioTurnFirst: a reply that sits in the I/O queue when the timer fires still wins', async () => {
    // The event loop is blocked past the bound; the reply is ready by then (setImmediate stands for it).
    const reply = new Promise<string>((resolve) => setTimeout(() => setImmediate(() => resolve('late but there')), 0));
    const race = raceTimeout(reply, 5, { ioTurnFirst: true });
    const until = performance.now() + 30;
    while (performance.now() < until) {
      /* a long synchronous task */
    }
    expect(await race).toEqual({ done: true, value: 'late but there' });
  });

  it('withDeadline rejects with the given error; settleWithin never rejects', async () => {
    await expect(withDeadline(never, 20, () => new Error('too slow'))).rejects.toThrow('too slow');
    expect(await withDeadline(Promise.resolve('ok'), 20, () => new Error('x'))).toBe('ok');
    expect(await settleWithin(Promise.reject(new Error('x')), 20)).toBe(true);
    expect(await settleWithin(never, 20)).toBe(false);
    expect(await settleWithin(undefined, 20)).toBe(true);
  });

  it('a settled race leaves no timer behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await raceTimeout(Promise.resolve(1), 60_000);
    await withDeadline(Promise.resolve(1), 60_000, () => new Error('x'));
    await settleWithin(Promise.resolve(1), 60_000);
    await sleep(0);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
  });
});
