import { recordingLogger } from '@lota/redis-testkit/vitest';
import { describe, expect, it } from 'vitest';
import { cacheKey, createEmbeddingCache, InvalidArgumentError, type EmbeddingProvider } from '../src/index.js';
import { fakeProvider, fileRedis } from './helpers.js';

const file = fileRedis();

const key = (options: unknown, text = 'hello'): string => cacheKey('lota', 'm', text, undefined, options as Record<string, unknown>);
const refused = (options: unknown, path: RegExp): void => {
  let caught: unknown;
  try {
    key(options);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InvalidArgumentError);
  expect(caught).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(path) });
};

describe('key derivation: distinct inputs, distinct keys (or INVALID_ARGUMENT)', () => {
  it('keys of plain JSON options are unchanged (pinned: existing cache entries stay readable)', () => {
    expect(cacheKey('lota', 'm', 'hello', 256, { openai: { a: [1, 'x', null, true, { b: 2, c: undefined }], z: -0, e: 1e21, s: 'é\u2028"' }, google: {} })).toBe(
      'lota:emb:v1:{23}:232f06bf71708e2f9982f6829ce507f0255b1290389afa9abbbf0c1ae39774ee',
    );
    expect(cacheKey('lota', 'm', 'hello')).toBe('lota:emb:v1:{b2}:b220937a5952fe7bc3b17872ba53eb9f135a08abde41b26fd299f8d659ecee6d');
    expect(cacheKey('lota', 'm', 'hello', undefined, {})).toBe('lota:emb:v1:{0c}:0ca1c9a01e07df55d85f49835ef478872ee8d4fe6a3f328b153b86d174e0577e');
    expect(cacheKey('lota', 'provider:model', 'héllo wörld 🙂', 1536, { mock: { taskType: 'query' } })).toBe(
      'lota:emb:v1:{6d}:6d48a1af820cc1a8d4a25d48e361078201ae3400a92a135fd70d029ad005a255',
    );
  });

  it('values JSON cannot tell apart are refused with INVALID_ARGUMENT naming the option path', () => {
    refused({ google: { since: new Date(0) } }, /options\.google\.since.*Date/);
    refused({ google: { since: new Map([['a', 1]]) } }, /options\.google\.since.*Map/);
    refused({ x: Number.NaN }, /options\.x.*NaN/);
    refused({ x: Number.POSITIVE_INFINITY }, /options\.x/);
    refused({ x: 10n }, /options\.x.*bigint/);
    refused({ x: [1, undefined] }, /options\.x\[1\]/);
    refused({ x: [1, , 2] }, /options\.x\[1\]/); // eslint-disable-line no-sparse-arrays
    refused({ f: () => 1 }, /options\.f.*function/);
    refused({ s: Symbol('s') }, /options\.s.*symbol/);
    refused({ r: /a/ }, /options\.r.*RegExp/);
    refused({ set: new Set([1]) }, /options\.set.*Set/);
    refused({ [Symbol('k')]: 1 }, /symbol key/);
    class Settings {
      mode = 'fast';
    }
    refused({ s: new Settings() }, /options\.s.*Settings/);
  });

  it('a cycle is refused with INVALID_ARGUMENT (not a stack overflow); a shared, acyclic reference is fine', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    refused({ google: cyclic }, /options\.google\.self.*cycle/);
    const arr: unknown[] = [];
    arr.push(arr);
    refused({ arr }, /options\.arr\[0\].*cycle/);
    const shared = { deep: true };
    expect(key({ a: shared, b: shared })).toBe(key({ a: { deep: true }, b: { deep: true } }));
  });

  it('distinct JSON values stay distinct keys; null-prototype objects equal plain ones', () => {
    const values: unknown[] = [null, 0, 1, '0', '', true, false, [], {}, [null], [[]], [{}], { a: null }, { a: 0 }, { a: '' }, { a: [] }, { a: {} }];
    const keys = values.map((v) => key({ x: v }));
    expect(new Set(keys).size).toBe(values.length);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(key({ x: bare })).toBe(key({ x: { a: 1 } }));
    expect(key({ x: { a: undefined, b: 1 } })).toBe(key({ x: { b: 1 } })); // undefined properties are absent, as in JSON
  });

  it('texts (and model names) with lone surrogates do not collide with each other or with U+FFFD', () => {
    const texts = ['\ud800', '\udc00', '\ufffd', 'a\ud83d', 'a\ude00', 'a\ud83d\ude00'];
    expect(new Set(texts.map((t) => key(undefined, t))).size).toBe(texts.length);
    expect(cacheKey('lota', '\ud800', 'x')).not.toBe(cacheKey('lota', '\udfff', 'x'));
  });

  it('embedMany with unkeyable options rejects before calling the provider', async () => {
    const c = createEmbeddingCache({ redis: file.redis, logger: recordingLogger(), memory: false });
    const p = fakeProvider();
    const provider: EmbeddingProvider = { ...p, options: { when: new Date() } };
    await expect(c.embedMany(provider, ['a'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/provider\.options\.when/) });
    expect(p.calls).toEqual([]);
  });
});
