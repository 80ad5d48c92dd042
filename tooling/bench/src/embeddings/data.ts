/**
 * The embeddings suite's data: 1 000 distinct texts and a deterministic 1536-dimension provider
 * (a seeded PRNG per text, values rounded to float32 like a real model's output; no network).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmbeddingProvider } from '@lota/embedding-cache';
import { createRng } from '@lota/fault-harness';
import type { Redis } from 'ioredis';
import type { BenchContext } from '../types.js';

export const SUITE = 'embeddings';
export const TEXTS = 1_000;
export const DIMS = 1_536;
export const MODEL = 'bench-embed-1536';

export interface Env {
  ctx: BenchContext;
  /** The one client every side uses. */
  redis: Redis;
  /** FLUSHALL, DBSIZE, MEMORY USAGE; never used by the code under test. */
  admin: Redis;
  texts: string[];
  vectors: Map<string, number[]>;
}

/** FNV-1a of a string: the seed of its vector. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Values in about [-0.1, 0.1], rounded to float32 (what embedding APIs return). */
export function vectorOf(text: string): number[] {
  const rng = createRng(fnv1a(text));
  return Array.from({ length: DIMS }, () => Math.fround((rng.next() - 0.5) * 0.2));
}

const WORDS = ['redis', 'vector', 'cache', 'embedding', 'model', 'token', 'batch', 'memory', 'latency', 'queue', 'worker', 'lock', 'search', 'index'];

/** 1 000 distinct texts of 100-300 characters. */
export function makeTexts(): string[] {
  const rng = createRng(42);
  return Array.from({ length: TEXTS }, (_, i) => {
    const words: string[] = [`document ${i}:`];
    const length = 100 + Math.floor(rng.next() * 200);
    while (words.join(' ').length < length) words.push(WORDS[Math.floor(rng.next() * WORDS.length)] ?? 'x');
    return words.join(' ');
  });
}

export function provider(env: Env, delayMs = 0): EmbeddingProvider & { calls: number } {
  const p = {
    model: MODEL,
    dimensions: DIMS,
    calls: 0,
    async embed(texts: string[]): Promise<number[][]> {
      p.calls++;
      if (delayMs > 0) await sleep(delayMs);
      return texts.map((t) => env.vectors.get(t) ?? vectorOf(t));
    },
  };
  return p;
}
