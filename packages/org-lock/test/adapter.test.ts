import { describe, expect, it } from 'vitest';
import { defineLockAdapterConformance, type ConformanceFramework } from '../src/conformance.js';
import { createOrgMemoryLock, type LockAdapter, type LockContext, type LockOptions } from '../src/index.js';

/** A host's own lock: an in-process mutex per scope with a fencing counter (think: a database advisory lock). */
function hostAdapter(): LockAdapter & { scopes: string[] } {
  const tails = new Map<string, Promise<void>>();
  const fences = new Map<string, number>();
  const scopes: string[] = [];
  return {
    scopes,
    async withLock<T>(scope: string, fn: (ctx: LockContext) => Promise<T>, _opts?: LockOptions): Promise<T> {
      scopes.push(scope);
      const prev = tails.get(scope) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((r) => (done = r));
      tails.set(scope, prev.then(() => mine));
      await prev;
      try {
        const token = (fences.get(scope) ?? 0) + 1;
        fences.set(scope, token);
        return await fn({ scope, fencingToken: token, signal: new AbortController().signal });
      } finally {
        done();
      }
    },
  };
}

/** An adapter that does not lock at all. */
const broken: LockAdapter = {
  withLock: (scope, fn) => fn({ scope, fencingToken: 1, signal: new AbortController().signal }),
};

defineLockAdapterConformance({ name: 'in-memory host adapter', adapter: () => hostAdapter() }, { describe, it, expect });

describe('host adapter routing', () => {
  it('withOrgMemoryLock and withWorkspaceMemoryLock go through the host adapter, on distinct scopes', async () => {
    const host = hostAdapter();
    const mem = createOrgMemoryLock(host);
    expect(await mem.withOrgMemoryLock('acme', async (ctx) => ctx.scope)).toBe('org:acme');
    expect(await mem.withWorkspaceMemoryLock('acme', async (ctx) => ctx.scope)).toBe('workspace:acme');
    expect(host.scopes).toEqual(['org:acme', 'workspace:acme']);
  });

  it('the conformance suite catches an adapter that does not exclude', async () => {
    const results: Array<{ name: string; ok: boolean }> = [];
    const pending: Array<Promise<void>> = [];
    const framework: ConformanceFramework = {
      describe: (_name, body) => body(),
      it: (name, body) => {
        pending.push(
          body().then(
            () => void results.push({ name, ok: true }),
            () => void results.push({ name, ok: false }),
          ),
        );
      },
      expect: expect,
    };
    defineLockAdapterConformance({ name: 'broken', adapter: () => broken }, framework);
    await Promise.all(pending);
    expect(results.find((r) => /never runs two holders/.test(r.name))?.ok).toBe(false);
    expect(results.find((r) => /fencing tokens strictly increase/.test(r.name))?.ok).toBe(false);
    expect(results.find((r) => /returns its value/.test(r.name))?.ok).toBe(true);
  });
});
