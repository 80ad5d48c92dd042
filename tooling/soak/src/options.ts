/** The soak's command line, parsed and checked. */
export interface SoakOptions {
  /** How long turns are produced (and workers killed); draining comes after. */
  minutes: number;
  /** Worker processes kept running. */
  workers: number;
  orgs: number;
  /** Workstreams per org. */
  workstreams: number;
  /** Turns sent over the run (spread evenly, with random gaps). */
  turns: number;
  /** Mean time between SIGKILLs (each gap is uniform in [0.5x, 1.5x]); 0 turns chaos off. */
  killEveryMs: number;
  /** Workers never killed (the first N), so at least one process lives through the whole run for the leak check. */
  protect: number;
  /** Share of turns sent a second time (half at once, as a retrying client; half 0.2-3 s later). */
  duplicateRate: number;
  /** Jobs per worker process (memory-extraction; memory-digest gets half, at least 1). */
  concurrency: number;
  /** Debounce window of scheduleMemoryDigest. */
  digestDebounceMs: number;
  /** BullMQ lockDuration / stalledInterval of the workers. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  /** Org memory lock lease. */
  orgLockTtlMs: number;
  /** How long the drain may take before the jobs still missing are reported lost. */
  drainTimeoutMs: number;
  /** Memory samples before this much time after a worker is ready are ignored (JIT, caches, pools warming up). */
  warmupMs: number;
  memorySampleMs: number;
  /** Seed of the run's PRNG (turns, duplicates, kill times and victims). */
  seed: number;
  /** Self-check: workers skip the org lock, so the run must report overlaps and fail. */
  unsafeNoLock: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `Usage: pnpm --filter @lota/soak run soak [options]

  --minutes N          produce turns (and kill workers) for N minutes      (default 3)
  --workers N          worker processes                                    (default 4)
  --orgs N             organizations                                       (default 50)
  --workstreams N      workstreams per org                                 (default 4)
  --turns N            turns sent over the run                             (default 5000)
  --kill-every D       mean time between SIGKILLs, e.g. 20s, 1m, 0 = off   (default 20s)
  --protect N          the first N workers are never killed (leak check)   (default 1)
  --duplicates R       share of turns sent twice, 0..1                     (default 0.1)
  --concurrency N      memory-extraction jobs per worker process           (default 4)
  --debounce D         memory-digest debounce window                       (default 1s)
  --lock-duration D    BullMQ lockDuration of the workers                  (default 5s)
  --stalled-interval D BullMQ stalledInterval of the workers               (default 2500ms)
  --max-stalled N      BullMQ maxStalledCount                              (default 3)
  --org-lock-ttl D     org memory lock lease                               (default 5s)
  --drain-timeout D    longest wait for the queues to drain                (default 120s)
  --warmup D           memory samples ignored after a worker starts        (default 60s)
  --sample-every D     memory sample period                                (default 5s)
  --seed N             PRNG seed, to repeat a run's turns and kills        (default random)
  --unsafe-no-lock     self-check: workers skip the org lock; the run must FAIL with overlaps
  --help

Durations: a number of seconds, or with a unit: 500ms, 20s, 2m.`;

/** Parses "20s", "500ms", "2m", "1.5" (seconds). */
export function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 20s, 500ms or 2m, got '${raw}'.`);
  const value = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? value : unit === 'm' ? value * 60_000 : value * 1_000);
}

function parseNumber(flag: string, raw: string, min: number, integer: boolean, max = Number.POSITIVE_INFINITY): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${flag} must be ${integer ? 'a whole number' : 'a number'} >= ${min}${Number.isFinite(max) ? ` and <= ${max}` : ''}, got '${raw}'.`);
  }
  return value;
}

/** Parses argv (after the script name). Returns undefined for --help. */
export function parseOptions(argv: readonly string[]): SoakOptions | undefined {
  const o: SoakOptions = {
    minutes: 3,
    workers: 4,
    orgs: 50,
    workstreams: 4,
    turns: 5_000,
    killEveryMs: 20_000,
    protect: 1,
    duplicateRate: 0.1,
    concurrency: 4,
    digestDebounceMs: 1_000,
    lockDurationMs: 5_000,
    stalledIntervalMs: 2_500,
    maxStalledCount: 3,
    orgLockTtlMs: 5_000,
    drainTimeoutMs: 120_000,
    warmupMs: 60_000,
    memorySampleMs: 5_000,
    seed: Math.floor(Math.random() * 2 ** 31),
    unsafeNoLock: false,
  };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--help' || arg === '-h') return undefined;
    if (arg === '--unsafe-no-lock') {
      o.unsafeNoLock = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value.`);
      return next;
    };
    switch (flag) {
      case '--minutes':
        o.minutes = parseNumber(flag, value(), 0.1, false, 24 * 60);
        break;
      case '--workers':
        o.workers = parseNumber(flag, value(), 1, true, 32);
        break;
      case '--orgs':
        o.orgs = parseNumber(flag, value(), 1, true);
        break;
      case '--workstreams':
        o.workstreams = parseNumber(flag, value(), 1, true);
        break;
      case '--turns':
        o.turns = parseNumber(flag, value(), 1, true);
        break;
      case '--kill-every':
        o.killEveryMs = parseDuration(flag, value());
        break;
      case '--protect':
        o.protect = parseNumber(flag, value(), 0, true);
        break;
      case '--duplicates':
        o.duplicateRate = parseNumber(flag, value(), 0, false, 1);
        break;
      case '--concurrency':
        o.concurrency = parseNumber(flag, value(), 1, true, 100);
        break;
      case '--debounce':
        o.digestDebounceMs = parseDuration(flag, value());
        break;
      case '--lock-duration':
        o.lockDurationMs = parseDuration(flag, value());
        break;
      case '--stalled-interval':
        o.stalledIntervalMs = parseDuration(flag, value());
        break;
      case '--max-stalled':
        o.maxStalledCount = parseNumber(flag, value(), 1, true);
        break;
      case '--org-lock-ttl':
        o.orgLockTtlMs = parseDuration(flag, value());
        break;
      case '--drain-timeout':
        o.drainTimeoutMs = parseDuration(flag, value());
        break;
      case '--warmup':
        o.warmupMs = parseDuration(flag, value());
        break;
      case '--sample-every':
        o.memorySampleMs = parseDuration(flag, value());
        break;
      case '--seed':
        o.seed = parseNumber(flag, value(), 0, true);
        break;
      default:
        throw new UsageError(`unknown option '${arg}'.`);
    }
  }
  if (o.lockDurationMs < 1_000) throw new UsageError('--lock-duration must be at least 1s (BullMQ renews the lock every half of it).');
  if (o.stalledIntervalMs < 500) throw new UsageError('--stalled-interval must be at least 500ms.');
  if (o.orgLockTtlMs < 1_000) throw new UsageError('--org-lock-ttl must be at least 1s.');
  if (o.memorySampleMs < 500) throw new UsageError('--sample-every must be at least 500ms.');
  if (o.killEveryMs > 0 && o.killEveryMs < 2_000) throw new UsageError('--kill-every must be 0 (off) or at least 2s.');
  if (o.protect >= o.workers && o.killEveryMs > 0) throw new UsageError(`--protect (${o.protect}) must be below --workers (${o.workers}), or nothing can be killed; use --kill-every 0 for no kills.`);
  return o;
}
