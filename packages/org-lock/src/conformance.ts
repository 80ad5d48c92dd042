/* eslint-disable @typescript-eslint/require-await, @typescript-eslint/no-non-null-assertion -- a test suite: async callbacks and indexed assertions are the idiom */
import type { LockAdapter, LockContext } from './types.js';

/** The bits of a test framework the suite needs (vitest, jest and node:test-with-expect fit). */
export interface ConformanceFramework {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => Promise<void>, timeoutMs?: number) => void;
  expect: (value: unknown) => {
    toBe(expected: unknown): void;
    toEqual(expected: unknown): void;
    toBeGreaterThan(n: number): void;
    toBeLessThanOrEqual(n: number): void;
  };
}

export interface ConformanceOptions {
  /** Shown in test names. */
  name: string;
  /** The adapter under test (called once per test). */
  adapter: () => LockAdapter | Promise<LockAdapter>;
  /** Whether `ctx.fencingToken` must strictly increase per scope (true for the Redis lock). @defaultValue true */
  fencing?: boolean;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let unique = 0;
const scope = (what: string): string => `conformance:${what}:${process.pid}:${Date.now()}:${unique++}`;

/**
 * The contract every lock adapter must keep, as a test suite a host runs against its own
 * adapter before handing it to the SDK:
 *
 * ```ts
 * import { describe, it, expect } from 'vitest';
 * import { defineLockAdapterConformance } from '@lota/org-lock/conformance';
 * defineLockAdapterConformance({ name: 'my lock', adapter: () => myAdapter }, { describe, it, expect });
 * ```
 */
export function defineLockAdapterConformance(options: ConformanceOptions, t: ConformanceFramework): void {
  const { describe, it, expect } = t;
  const fencing = options.fencing ?? true;
  describe(`LockAdapter conformance: ${options.name}`, () => {
    it('runs fn once, with the scope and a live signal, and returns its value', async () => {
      const adapter = await options.adapter();
      const s = scope('value');
      let calls = 0;
      let seen: LockContext | undefined;
      const value = await adapter.withLock(s, async (ctx) => {
        calls++;
        seen = ctx;
        return { answer: 42 };
      });
      expect(value).toEqual({ answer: 42 });
      expect(calls).toBe(1);
      expect(seen?.scope).toBe(s);
      expect(seen?.signal instanceof AbortSignal).toBe(true);
      expect(seen?.signal.aborted).toBe(false);
      expect(Number.isFinite(seen?.fencingToken)).toBe(true);
    });

    it('rethrows what fn throws, unchanged, and frees the scope', async () => {
      const adapter = await options.adapter();
      const s = scope('throw');
      const boom = new Error('boom');
      let caught: unknown;
      try {
        await adapter.withLock(s, async () => {
          throw boom;
        });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBe(boom);
      expect(await adapter.withLock(s, async () => 'again', { acquireTimeoutMs: 2_000 })).toBe('again');
    });

    it('never runs two holders of one scope at once', async () => {
      const adapter = await options.adapter();
      const s = scope('exclusive');
      let inside = 0;
      let maxInside = 0;
      let counter = 0;
      await Promise.all(
        Array.from({ length: 20 }, () =>
          adapter.withLock(
            s,
            async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              const read = counter;
              await pause(2);
              counter = read + 1;
              inside--;
            },
            { acquireTimeoutMs: 20_000 },
          ),
        ),
      );
      expect(maxInside).toBe(1);
      expect(counter).toBe(20);
    }, 30_000);

    it('different scopes never wait on each other', async () => {
      const adapter = await options.adapter();
      const a = scope('a');
      const b = scope('b');
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let aStarted!: () => void;
      const aRunning = new Promise<void>((r) => (aStarted = r));
      const first = adapter.withLock(a, async () => {
        aStarted();
        await held;
      });
      await aRunning;
      const order: string[] = [];
      await adapter.withLock(b, async () => void order.push('b ran while a was held'), { acquireTimeoutMs: 2_000 });
      release();
      await first;
      expect(order).toEqual(['b ran while a was held']);
    });

    if (fencing) {
      it('fencing tokens strictly increase with every acquisition of a scope', async () => {
        const adapter = await options.adapter();
        const s = scope('fence');
        const tokens: number[] = [];
        for (let i = 0; i < 5; i++) await adapter.withLock(s, async (ctx) => void tokens.push(ctx.fencingToken));
        await Promise.all(Array.from({ length: 5 }, () => adapter.withLock(s, async (ctx) => void tokens.push(ctx.fencingToken), { acquireTimeoutMs: 10_000 })));
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
      });
    }

    it('a lock is usable again right after its holder returns (no waiting out a lease)', async () => {
      const adapter = await options.adapter();
      const s = scope('reuse');
      const t0 = Date.now();
      for (let i = 0; i < 10; i++) await adapter.withLock(s, async () => undefined, { acquireTimeoutMs: 5_000 });
      expect(Date.now() - t0).toBeLessThanOrEqual(2_000);
    });
  });
}
