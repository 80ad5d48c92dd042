/** The vector the local provider gives `text`: made from its character codes, the same in every process. */
export function localVector(text: string, dims = 8): number[] {
  return Array.from({ length: dims }, (_, i) => ((text.charCodeAt(i % text.length) || 1) * (i + 1)) / 1000);
}

/** {@link localVector} as the embedding cache returns it (float32 values). */
export const cachedLocalVector = (text: string, dims = 8): number[] => Array.from(Float32Array.from(localVector(text, dims)));

/** Deterministic local embedding provider that counts its calls. */
export function localProvider(dims = 8): { model: string; embed(texts: string[]): Promise<number[][]>; calls: number } {
  const p = {
    model: 'local-hash-embed',
    calls: 0,
    async embed(texts: string[]): Promise<number[][]> {
      p.calls++;
      return texts.map((t) => localVector(t, dims));
    },
  };
  return p;
}
