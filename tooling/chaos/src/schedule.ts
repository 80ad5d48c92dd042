import { createRng } from '@lota/fault-harness';

/** Every fault a schedule can inject. */
export const FAULT_KINDS = [
  'worker-stop',
  'worker-kill',
  'worker-block',
  'worker-block-in-section',
  'redis-kill',
  'redis-pause',
  'proxy-latency',
  'proxy-blackhole',
  'proxy-half-open',
  'proxy-reset',
  'proxy-refuse',
  'flush-lock-keys',
  'flushall',
  'failover',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  kind: FaultKind;
  /** When, in ms after the workload starts. */
  atMs: number;
  /** How long it lasts before it is healed (stall, pause, partition, outage). */
  durationMs: number;
  /** Which worker (index into the running workers, modulo), for worker faults. */
  target: number;
  /** For worker-stop: prefer a worker that holds a lock section right now. */
  preferHolder: boolean;
}

/** One short run: its topology, its workload and its faults, all drawn from its seed. */
export interface Schedule {
  seed: number;
  /** AOF on the queue/lock Redis (a SIGKILL then loses nothing acknowledged); off: a restart empties it. */
  persistence: boolean;
  /** Workers reach Redis through the testkit's fault proxy. */
  proxy: boolean;
  workers: number;
  /** How long the producer runs and faults are injected. */
  workloadMs: number;
  faults: PlannedFault[];
  orgs: string[];
  lockScopes: string[];
  lockLoops: number;
  lockTtlMs: number;
  acquireTimeoutMs: number;
  jobLockMs: number;
  /** The password of the queue/lock Redis: with characters that break naive URL handling. */
  password: string;
  /**
   * One server (most schedules), or a Cluster (3 masters, 1 replica each) or a Sentinel group
   * (1 primary, 2 replicas) whose master is killed once (`failover`); producers then enqueue
   * durably (waitForReplicas: every replica), so no acknowledged job may be lost.
   */
  topology: 'single' | 'cluster' | 'sentinel';
}

/** Weights of the fault kinds (proxy faults only apply with a proxy). */
const WEIGHTS: Record<FaultKind, number> = {
  'worker-stop': 4,
  'worker-kill': 2,
  'worker-block': 2,
  'worker-block-in-section': 3,
  'redis-kill': 2,
  'redis-pause': 2,
  'proxy-latency': 2,
  'proxy-blackhole': 2,
  'proxy-half-open': 2,
  'proxy-reset': 2,
  'proxy-refuse': 1,
  'flush-lock-keys': 2,
  'flushall': 1,
  'failover': 0,
};

export interface PlanOptions {
  /** Force faults of these kinds only. */
  only?: readonly FaultKind[];
  /** Workload length. @defaultValue 2_500 */
  workloadMs?: number;
}

/** Draws a schedule from its seed: the same seed always gives the same schedule. */
export function planSchedule(seed: number, opts: PlanOptions = {}): Schedule {
  const rng = createRng(seed);
  const topologyDraw = rng.next();
  const replicated = opts.only ? opts.only.includes('failover') : topologyDraw < 0.12;
  if (replicated) return planFailover(seed, rng, opts);
  const workloadMs = opts.workloadMs ?? 2_500;
  const proxy = opts.only ? opts.only.some((k) => k.startsWith('proxy-')) || rng.chance(0.5) : rng.chance(0.5);
  const persistence = rng.chance(0.7);
  const kinds = FAULT_KINDS.filter((k) => k !== 'failover' && (opts.only ? opts.only.includes(k) : true) && (proxy || !k.startsWith('proxy-')));
  const count = rng.int(1, 3);
  const faults: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted(kinds, kinds.map((k) => WEIGHTS[k]));
    const long = kind === 'worker-stop' || kind === 'redis-pause' || kind.startsWith('proxy-');
    faults.push({
      kind,
      atMs: Math.round(rng.between(200, workloadMs - 300)),
      durationMs: Math.round(long ? rng.between(150, 1_800) : rng.between(100, 900)),
      target: rng.int(0, 7),
      preferHolder: rng.chance(0.7),
    });
  }
  faults.sort((a, b) => a.atMs - b.atMs);
  const password = passwordFor(seed, rng);
  return {
    seed,
    persistence,
    proxy,
    workers: rng.int(2, 3),
    workloadMs,
    faults,
    orgs: ['o1', 'o2', 'o3'],
    lockScopes: ['w1', 'w2'],
    lockLoops: rng.int(1, 2),
    lockTtlMs: rng.pick([900, 1_200, 1_500]),
    acquireTimeoutMs: 2_000,
    jobLockMs: rng.pick([1_000, 1_500]),
    password,
    topology: 'single',
  };
}

function passwordFor(seed: number, rng: ReturnType<typeof createRng>): string {
  const pwChars = 'abcXYZ019@:/?#% &+=';
  return `Cs-${Array.from({ length: 12 }, () => pwChars.charAt(rng.int(0, pwChars.length - 1))).join('')}-${seed % 1_000}`;
}

/** A Cluster or Sentinel schedule: one failover of the master that holds the queues, maybe a worker fault too. */
function planFailover(seed: number, rng: ReturnType<typeof createRng>, opts: PlanOptions): Schedule {
  const workloadMs = Math.max(opts.workloadMs ?? 2_500, 4_000);
  const faults: PlannedFault[] = [{ kind: 'failover', atMs: Math.round(rng.between(600, 1_200)), durationMs: 0, target: 0, preferHolder: false }];
  if (rng.chance(0.5)) {
    const kind = rng.pick(['worker-stop', 'worker-kill', 'worker-block-in-section'] as const);
    faults.push({ kind, atMs: Math.round(rng.between(300, workloadMs - 500)), durationMs: Math.round(rng.between(150, 1_200)), target: rng.int(0, 7), preferHolder: rng.chance(0.7) });
  }
  faults.sort((a, b) => a.atMs - b.atMs);
  return {
    seed,
    persistence: true,
    proxy: false,
    workers: 2,
    workloadMs,
    faults,
    orgs: ['o1', 'o2', 'o3'],
    lockScopes: ['w1', 'w2'],
    lockLoops: 1,
    lockTtlMs: 1_500,
    acquireTimeoutMs: 4_000,
    jobLockMs: 1_500,
    password: passwordFor(seed, rng),
    topology: rng.chance(0.5) ? 'cluster' : 'sentinel',
  };
}
