import type { Logger } from '../src/index.js';

export function quietLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const at = (level: string) => (_f: Record<string, unknown>, message: string) => void lines.push({ level, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Deterministic local embedding provider that counts its calls. */
export function localProvider(dims = 8): { model: string; embed(texts: string[]): Promise<number[][]>; calls: number } {
  const p = {
    model: 'local-hash-embed',
    calls: 0,
    async embed(texts: string[]): Promise<number[][]> {
      p.calls++;
      return texts.map((t) => Array.from({ length: dims }, (_, i) => ((t.charCodeAt(i % t.length) || 1) * (i + 1)) / 1000));
    },
  };
  return p;
}

/** Names of non-admin clients in a CLIENT LIST reply. */
export function clientNames(list: string): string[] {
  return list
    .trim()
    .split('\n')
    .filter((l) => !/ cmd=client\|list /.test(l))
    .map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '');
}
