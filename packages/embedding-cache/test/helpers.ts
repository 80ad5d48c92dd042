import { createHash } from 'node:crypto';
import type { EmbeddingProvider, Logger } from '../src/index.js';

/** Deterministic vectors from the text: the same text always gives the same vector. */
export function vectorFor(text: string, dims: number, salt = ''): number[] {
  const out = new Array<number>(dims);
  let seed = createHash('sha256').update(salt + text).digest().readUInt32LE(0);
  for (let i = 0; i < dims; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    out[i] = seed / 2 ** 32 - 0.5;
  }
  return out;
}

/** A provider that records what it was asked, optionally slow or failing. */
export function fakeProvider(opts: { model?: string; dims?: number; latencyMs?: number; salt?: string; dimensionsOption?: boolean } = {}): EmbeddingProvider & {
  calls: string[][];
  failWith?: Error;
} {
  const dims = opts.dims ?? 8;
  const model = opts.model ?? 'test-embed-1';
  const provider = {
    model,
    ...(opts.dimensionsOption ? { dimensions: dims } : {}),
    calls: [] as string[][],
    failWith: undefined as Error | undefined,
    async embed(texts: string[]): Promise<number[][]> {
      provider.calls.push([...texts]);
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
      if (provider.failWith) throw provider.failWith;
      return texts.map((t) => vectorFor(t, dims, opts.salt ?? model));
    },
  };
  return provider;
}

/** The float32 rounding every returned value goes through. */
export const f32 = (v: number[]): number[] => Array.from(Float32Array.from(v));

export function quietLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (_f, m) => void warnings.push(m), error: (_f, m) => void warnings.push(m) };
}
