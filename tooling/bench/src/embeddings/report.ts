/** The embeddings suite's rows and its details table. */
import { row } from '../stats.js';
import type { Row } from '../types.js';
import { COLD_REPS, MEMORY_SAMPLES, PROVIDER_DELAY_MS, type Case1, type Case2, type Case3, type Case4 } from './cases.js';
import { DIMS, SUITE, TEXTS } from './data.js';
import { REPS, WARMUP, type Spread, type Tally } from './measure.js';
import { JSON_ANCHOR, RAW_ANCHOR, RAW_ARRAY_FROM_ANCHOR } from './sides.js';

function fmt(value: number, digits = 2): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function tallyText(t: Tally, reps: number): string {
  return `${t.hits} hits (${t.memoryHits} from memory), ${t.misses} misses, ${t.errors} errors over ${reps} batches`;
}

/** A lower-is-better row of ours against one anchor; with a goal, `ok` says whether ours / anchor stayed within `maxRatio`. */
function lowerRow(caseName: string, metric: string, unit: string, ours: number, anchorName: string, anchorValue: number, goal?: { text: string; maxRatio: number }): Row {
  const r = row({ suite: SUITE, case: caseName, metric, unit, value: ours, anchorName, anchorValue, better: 'lower', ...(goal ? { goal: goal.text } : {}) });
  if (goal) r.ok = r.ratio <= goal.maxRatio;
  return r;
}

const P50 = 'p50 latency per batch';

export function rows(c1: Case1, c2: Case2, c3: Case3, c4: Case4): Row[] {
  const hitsCase = `${TEXTS} texts x ${DIMS} dims, all in Redis, LRU off (memory: false)`;
  return [
    lowerRow(hitsCase, P50, 'ms', c1.ours.p50, RAW_ANCHOR, c1.raw.p50, { text: '<= 1.3x raw', maxRatio: 1.3 }),
    lowerRow(hitsCase, P50, 'ms', c1.ours.p50, RAW_ARRAY_FROM_ANCHOR, c1.rawArrayFrom.p50),
    lowerRow(`${TEXTS} texts x ${DIMS} dims, all in Redis, LRU off; JSON side parses`, P50, 'ms', c2.ours.p50, JSON_ANCHOR, c2.json.p50, {
      text: '>= 10x faster than JSON (<= 0.10x)',
      maxRatio: 0.1,
    }),
    lowerRow(`${DIMS}-dim vector per Redis key, ${MEMORY_SAMPLES} keys sampled`, 'MEMORY USAGE per entry', 'bytes', c2.memOurs, 'JSON.stringify(number[]) string', c2.memJson, {
      text: '>= 4x smaller than JSON (<= 0.25x)',
      maxRatio: 0.25,
    }),
    lowerRow(`${TEXTS} texts x ${DIMS} dims, in-process LRU hits (memory: { maxEntries: 2000 })`, P50, 'ms', c3.ours.p50, RAW_ANCHOR, c3.raw.p50, {
      text: 'much faster than raw Redis (<= 0.5x)',
      maxRatio: 0.5,
    }),
    lowerRow(
      `cold batch: ${TEXTS} texts, nothing cached, provider ${PROVIDER_DELAY_MS} ms per call`,
      P50,
      'ms',
      c4.ours.p50,
      'provider.embed(texts) directly, no cache',
      c4.direct.p50,
    ),
  ];
}

export function details(c1: Case1, c2: Case2, c3: Case3, c4: Case4): string {
  const line = (name: string, s: Spread): string => `| ${name} | ${fmt(s.p50)} | ${fmt(s.min)} | ${fmt(s.max)} |`;
  return [
    '## embeddings: details',
    '',
    `${TEXTS} distinct texts (100-300 characters), a deterministic ${DIMS}-dim provider (seeded PRNG per text, float32 values), one redis-server, one shared ioredis client, FLUSHALL before each case. ` +
      `Every side derives its keys inside the timed region with \`cache.keyFor\` (SHA-256). Sides alternate, order rotating each round, ${WARMUP} untimed warm-up rounds; ${REPS} measured batches per side (cold batch: ${COLD_REPS}, 1 warm-up).`,
    '',
    '| side | p50 ms | min ms | max ms |',
    '| --- | ---: | ---: | ---: |',
    line('1. ours, Redis hits (memory: false)', c1.ours),
    line(`1. ${RAW_ANCHOR}`, c1.raw),
    line(`1. ${RAW_ARRAY_FROM_ANCHOR}`, c1.rawArrayFrom),
    line('2. ours, Redis hits (memory: false)', c2.ours),
    line(`2. ${JSON_ANCHOR}`, c2.json),
    line('3. ours, LRU hits', c3.ours),
    line(`3. ${RAW_ANCHOR}`, c3.raw),
    line(`4. ours, cold (provider ${PROVIDER_DELAY_MS} ms per call)`, c4.ours),
    line('4. provider directly', c4.direct),
    '',
    `Raw anchors, median per phase (case 1): keys ${fmt(c1.phases.keys)} ms, mgetBuffer ${fmt(c1.phases.mget)} ms, decode to number[][] ${fmt(c1.phases.decode)} ms with the for-loop; ` +
      `with Array.from: keys ${fmt(c1.phasesArrayFrom.keys)} ms, mgetBuffer ${fmt(c1.phasesArrayFrom.mget)} ms, decode ${fmt(c1.phasesArrayFrom.decode)} ms.`,
    '',
    `JSON is ${fmt(c2.json.p50 / c2.ours.p50, 1)}x slower than ours per batch. Per entry: ours ${fmt(c2.lenOurs, 0)} bytes stored, ${fmt(c2.memOurs, 0)} bytes MEMORY USAGE; ` +
      `JSON ${fmt(c2.lenJson, 0)} bytes stored, ${fmt(c2.memJson, 0)} bytes MEMORY USAGE (${fmt(c2.memJson / c2.memOurs, 1)}x).`,
    '',
    `Cold batch: ours made ${fmt(c4.oursCalls, 1)} provider calls per batch (batchSize 256, up to 4 in parallel), the direct side ${fmt(c4.directCalls, 1)}; ours costs ${fmt(c4.ours.p50 - c4.direct.p50)} ms more per cold batch at p50.`,
    '',
    'What the cache counted during the measured batches (warm-ups excluded; a hit batch should show only hits):',
    '',
    `- case 1: ${tallyText(c1.tally, REPS)}`,
    `- case 2: ${tallyText(c2.tally, REPS)}`,
    `- case 3: ${tallyText(c3.tally, REPS)}`,
    `- case 4: ${tallyText(c4.tally, COLD_REPS)}`,
  ].join('\n');
}
