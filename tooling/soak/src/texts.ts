import { createHash } from 'node:crypto';
import { createRng, type Rng } from '@lota/fault-harness';

const SUBJECTS = ['The billing team', 'Our mobile app', 'The data platform', 'The support desk', 'Legal', 'The search service', 'Marketing', 'The infra group'];
const VERBS = ['prefers', 'migrated to', 'is evaluating', 'deprecated', 'standardised on', 'needs', 'rejected', 'pays for'];
const OBJECTS = ['Postgres 16', 'weekly releases', 'a Redis cluster', 'SSO via Okta', 'the EU region', 'gRPC APIs', 'feature flags', 'on-call rotations', 'Terraform modules', 'a 99.9% SLO'];
const REASONS = ['for compliance', 'to cut costs', 'after the outage', 'for the Q3 launch', 'because customers asked', 'to hit latency goals'];

/**
 * A turn's text: one to three statements about the org, drawn from a small per-org pool (so
 * facts repeat across turns: the embedding cache and the idempotent store see real hits), and
 * sometimes a question (which extraction skips).
 */
export function turnText(rng: Rng, orgIndex: number): string {
  const pick = <T>(list: readonly T[], salt: number): T => list[(Math.floor(rng.next() * 5) + orgIndex * salt) % list.length] as T;
  const n = 1 + Math.floor(rng.next() * 3);
  const sentences: string[] = [];
  for (let i = 0; i < n; i++) sentences.push(`${pick(SUBJECTS, 3)} ${pick(VERBS, 5)} ${pick(OBJECTS, 7)} ${pick(REASONS, 11)}.`);
  if (rng.next() < 0.3) sentences.push('Can you remind me what we decided?');
  return sentences.join(' ');
}

/** One fact taken from a turn: its id is stable per text, so the same fact is one memory. */
export interface Fact {
  id: string;
  text: string;
}

/** The soak's "model": statements of 3+ words, not questions; repeats within a turn collapse. */
export function extractFacts(text: string): Fact[] {
  const out = new Map<string, Fact>();
  for (const raw of text.split(/(?<=[.!?])\s+/u)) {
    const sentence = raw.trim();
    if (sentence === '' || sentence.endsWith('?') || sentence.split(/\s+/).length < 3) continue;
    const norm = sentence.toLowerCase().replace(/[\s.!?]+$/u, '');
    const id = createHash('sha256').update(norm).digest('hex').slice(0, 16);
    if (!out.has(id)) out.set(id, { id, text: sentence });
  }
  return [...out.values()];
}

/** A unit vector seeded by the text's sha256: the same text gets the same vector in every process. */
export function hashVector(text: string, dimensions: number): number[] {
  const rng = createRng(createHash('sha256').update(text).digest().readUInt32LE(0));
  const v = Array.from({ length: dimensions }, () => rng.next() * 2 - 1);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}
