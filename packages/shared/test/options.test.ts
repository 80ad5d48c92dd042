import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { keyPrefixProblem, QUEUE_NAME } from '../src/names.js';
import { collectOptions, isWholeIn, ResolvedMarks } from '../src/option-checks.js';
import { joinPath, zodIssues } from '../src/option-issues.js';
import { unusableReason } from '../src/client-status.js';
import { isLogger } from '../src/logger.js';

describe('option helpers', () => {
  it('collectOptions: every unknown key (naming the known ones), and not an object is one issue at the path', () => {
    const c = collectOptions({ ttl: 1, prefix: 'p' }, 'memoryLock', ['prefix', 'ttlMs']);
    c.check('prefix', keyPrefixProblem('a b'));
    c.check('ttlMs', undefined);
    expect(c.issues.map((i) => i.path)).toEqual(['memoryLock.ttl', 'memoryLock.prefix']);
    expect(c.issues[0]!.message).toMatch(/unknown option.*known: prefix, ttlMs/);
    expect(collectOptions([1], 'x', []).issues).toEqual([{ path: 'x', message: 'must be an options object' }]);
    expect(collectOptions(undefined, '', ['a']).issues).toEqual([]);
  });

  it('zodIssues: dot paths under a prefix, one issue per unknown key, record keys explained', () => {
    const schema = z.strictObject({ a: z.number(), m: z.record(z.string().regex(QUEUE_NAME, 'bad name'), z.number()) });
    const r = schema.safeParse({ a: 'x', m: { 'a:b': 1 }, b: 1, c: 2 });
    expect(r.success).toBe(false);
    const issues = zodIssues(r.error!, 'queues');
    expect(issues.map((i) => i.path).sort()).toEqual(['queues.a', 'queues.b', 'queues.c', 'queues.m.a:b']);
    expect(issues.find((i) => i.path === 'queues.m.a:b')!.message).toContain('bad name');
  });

  it('ResolvedMarks refuses a look-alike; small rules hold', () => {
    const marks = new ResolvedMarks<{ a: number }>();
    const made = marks.mark({ a: 1 });
    expect(marks.has(made)).toBe(true);
    expect(marks.has({ a: 1 })).toBe(false);
    expect(marks.has(null)).toBe(false);
    expect(joinPath('', 'a', 0, '', 'b')).toBe('a.0.b');
    expect([isWholeIn(3, 1, 3), isWholeIn(3.5, 1, 4), isWholeIn('3', 1, 4)]).toEqual([true, false, false]);
    expect([keyPrefixProblem('lota'), keyPrefixProblem(''), keyPrefixProblem('{x}'), keyPrefixProblem(5)].map((p) => p === undefined)).toEqual([true, false, false, false]);
    expect(['ready', 'wait', 'connecting', 'reconnecting', 'end'].map((status) => unusableReason({ status }))).toEqual([
      undefined,
      undefined,
      undefined,
      'connection is reconnecting',
      'connection is end',
    ]);
    expect([isLogger(console), isLogger({ debug() {}, info() {}, warn: 1, error() {} })]).toEqual([true, false]);
  });
});
