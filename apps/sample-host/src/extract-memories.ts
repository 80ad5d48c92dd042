import { createHash } from 'node:crypto';

/** One fact taken from a turn. */
export interface ExtractedMemory {
  /** Stable per org: the same fact said twice is one memory. */
  id: string;
  text: string;
}

const MIN_WORDS = 3;
const MAX_CHARS = 500;

/** Lower-case, single spaces, no trailing punctuation: what makes two sentences "the same fact". */
export function normalizeFact(sentence: string): string {
  return sentence
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[\s.!?;:,]+$/u, '')
    .trim();
}

/**
 * The sample's "model": deterministic extraction of memories from a turn's text. Each sentence
 * of at least three words is a candidate fact; questions are not facts; repeats within the turn
 * collapse. A real host would call an LLM here; what matters to the runtime is that the result
 * is the same every time the job runs (retries and recovered jobs write the same memories).
 */
export function extractMemories(text: string): ExtractedMemory[] {
  const out = new Map<string, ExtractedMemory>();
  const sentences = text.split(/(?<=[.!?])\s+|\n+/u);
  for (const raw of sentences) {
    const sentence = raw.trim().replace(/\s+/g, ' ');
    if (sentence === '' || sentence.endsWith('?')) continue;
    if (sentence.split(' ').filter((w) => /\p{L}|\p{N}/u.test(w)).length < MIN_WORDS) continue;
    const fact = normalizeFact(sentence).slice(0, MAX_CHARS);
    const id = createHash('sha256').update(fact).digest('hex').slice(0, 16);
    if (!out.has(id)) out.set(id, { id, text: sentence.slice(0, MAX_CHARS) });
  }
  return [...out.values()];
}
