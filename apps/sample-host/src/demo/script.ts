import type { Turn } from '../turns.js';

/** One scripted request: a turn, and whether it re-sends a turnId already sent (a client retry). */
export interface ScriptedTurn {
  turn: Turn;
  duplicate: boolean;
}

/** The scripted burst: waves of turns, one per workstream per wave, with some turns sent twice. */
export interface DemoScript {
  orgs: string[];
  workstreams: number;
  waves: ScriptedTurn[][];
  uniqueTurns: number;
  duplicates: number;
}

/** Facts that come up again and again across orgs: after the first, their embeddings come from the cache. */
const SHARED_FACTS = [
  'The deploy freeze starts on Friday at noon.',
  'Staging runs on the new Kubernetes cluster.',
  'Invoices are generated on the first day of the month.',
  'The mobile app release is blocked on the login fix.',
  'Customer data must stay in the EU region.',
  'The on-call rotation changes every Monday.',
  'Postgres upgrades happen in the Sunday maintenance window.',
  'The search index is rebuilt every night.',
  'Feature flags are managed in the admin console.',
  'The API rate limit is one hundred requests per second.',
  'Support tickets are triaged within four hours.',
  'The design system uses the new color tokens.',
  'Quarterly planning starts next Tuesday.',
  'The data warehouse syncs every fifteen minutes.',
  'Error budgets are reviewed in the weekly SRE meeting.',
  'Legal must approve every new subprocessor.',
];

const PEOPLE = ['Maria', 'Kenji', 'Ada', 'Tomas', 'Priya', 'Lena', 'Omar', 'Sofia'];
const TOPICS = ['the billing migration', 'the SSO rollout', 'the onboarding flow', 'the usage dashboard', 'the webhook retries', 'the export job'];
const QUESTIONS = ['Can you summarise where we are?', 'What should I look at first?', 'Did anything change since yesterday?'];

/** A small deterministic PRNG (the script is the same on every run). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 4_294_967_296;
  };
}

export interface ScriptOptions {
  orgs?: string[];
  workstreamsPerOrg?: number;
  turnsPerWorkstream?: number;
  /** Every n-th turn is sent twice, at the same moment (a client retrying). */
  duplicateEvery?: number;
}

/**
 * Builds the burst: for each wave, one new turn in every workstream of every org. Each turn
 * has two facts from the shared pool (cache hits once seen), on two turns of three a fact of
 * its own (a cache miss), and a question (not a fact). Every `duplicateEvery`-th turn appears twice in its wave.
 */
export function buildScript(opts: ScriptOptions = {}): DemoScript {
  const orgs = opts.orgs ?? ['acme', 'globex', 'initech', 'umbrella'];
  const perOrg = opts.workstreamsPerOrg ?? 3;
  const turns = opts.turnsPerWorkstream ?? 6;
  const dupEvery = opts.duplicateEvery ?? 4;
  const rand = prng(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const waves: ScriptedTurn[][] = [];
  let n = 0;
  let duplicates = 0;
  for (let w = 0; w < turns; w++) {
    const wave: ScriptedTurn[] = [];
    for (const orgId of orgs) {
      for (let ws = 1; ws <= perOrg; ws++) {
        n++;
        const a = pick(SHARED_FACTS);
        let b = pick(SHARED_FACTS);
        if (b === a) b = SHARED_FACTS[(SHARED_FACTS.indexOf(a) + 1) % SHARED_FACTS.length] as string;
        // Every third turn only restates shared facts: once they are cached, its job makes no provider call.
        const own = n % 3 === 0 ? '' : ` ${pick(PEOPLE)} from ${orgId} is working on ${pick(TOPICS)} in ticket ${orgId.toUpperCase()}-${100 + n}.`;
        const turn = { orgId, workstreamId: `ws-${ws}`, turnId: `turn-${w + 1}`, text: `${a}${own} ${b} ${pick(QUESTIONS)}` };
        wave.push({ turn, duplicate: false });
        if (n % dupEvery === 0) {
          wave.push({ turn, duplicate: true });
          duplicates++;
        }
      }
    }
    waves.push(wave);
  }
  return { orgs, workstreams: orgs.length * perOrg, waves, uniqueTurns: n, duplicates };
}
