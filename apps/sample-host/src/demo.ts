import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { RedisServer } from '@lota/redis-testkit';
import { loadConfig } from './config.js';
import { Progress } from './demo/progress.js';
import { startChild, stopChild, type Child } from './demo/processes.js';
import { buildScript, type ScriptedTurn } from './demo/script.js';
import { demoPassed, formatSummary, type DemoResults } from './demo/summary.js';
import { Host } from './host.js';
import { createLogger } from './logger.js';

/* eslint-disable no-console -- this is a terminal program: stdout is its interface. */

const DIST = dirname(fileURLToPath(import.meta.url));
const DEBOUNCE_MS = 1_500;
const DRAIN_TIMEOUT_MS = 40_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const WAVE_PAUSE_MS = 250;
const PENDING = ['waiting', 'active', 'delayed', 'prioritized'] as const;

type EnqueueStatus = 'added' | 'deduplicated' | 'replaced';
interface TurnResponse {
  turn: { recorded: boolean };
  extraction: { status: EnqueueStatus };
  digest: { status: EnqueueStatus };
}

const interrupted = new AbortController();
process.once('SIGINT', () => interrupted.abort(new Error('interrupted (SIGINT)')));
process.once('SIGTERM', () => interrupted.abort(new Error('interrupted (SIGTERM)')));

function say(line = ''): void {
  console.log(line);
}

async function main(): Promise<number> {
  const started = performance.now();
  const progress = new Progress();
  const children: Child[] = [];
  let redis: RedisServer | undefined;
  let host: Host | undefined;
  let keyPrefix = 'lota';
  const external = process.env.REDIS_URL;
  const onLog = (name: string, line: string) => {
    progress.clear();
    console.log(`  [${name}] ${line}`);
  };

  try {
    say('Lota sample host demo: an API process and two worker processes on one Redis.');
    let redisUrl: string;
    if (external) {
      redisUrl = external;
      keyPrefix = `lota-demo-${Date.now().toString(36)}`;
      say(`  Redis: REDIS_URL (${redisUrl.replace(/\/\/[^@]*@/, '//***@')}), keys under ${keyPrefix}:* (removed at the end)`);
    } else {
      try {
        redis = await startDemoRedis();
      } catch (err) {
        console.error(`\nThe demo needs a Redis server and could not start one:\n  ${err instanceof Error ? err.message : String(err)}\nOr run it against an existing server: REDIS_URL=redis://host:port npm run demo`);
        return 1;
      }
      redisUrl = redis.url;
      say(`  Redis: started for this demo at ${redisUrl} (${redis.backend === 'container' ? 'Docker container' : `redis-server pid ${redis.pid ?? '?'}`})`);
    }
    interrupted.signal.throwIfAborted();

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      REDIS_URL: redisUrl,
      LOTA_KEY_PREFIX: keyPrefix,
      PORT: '0', // the API takes a free port and says which in its 'listening' line
      HOST: '127.0.0.1',
      DIGEST_DEBOUNCE_MS: String(DEBOUNCE_MS),
      EXTRACTION_CONCURRENCY: '4',
      EXTRACTION_DELAY_MS: '10',
      EMBEDDING_LATENCY_MS: '20',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: 'warn',
    };
    children.push(startChild({ name: 'api', script: join(DIST, 'api.js'), env, readyEvent: 'listening', onLog }));
    for (const name of ['worker-1', 'worker-2']) {
      children.push(startChild({ name, script: join(DIST, 'worker.js'), env: { ...env, WORKER_NAME: name }, readyEvent: 'ready', onLog }));
    }
    const [listening] = await Promise.race([
      Promise.all(children.map((c) => c.ready)),
      sleep(20_000, undefined, { signal: interrupted.signal }).then(() => {
        throw new Error('the API and workers did not start within 20 s');
      }),
    ]);
    const port = new URL(String(listening?.address)).port;
    say(`  Started: api pid ${children[0]?.process.pid} on http://127.0.0.1:${port}, ${children.slice(1).map((c) => `${c.name} pid ${c.process.pid}`).join(', ')}`);
    say(`  Bull Board: http://127.0.0.1:${port}/admin/queues (while the demo runs)`);

    // The demo's own producer-side view of the runtime: queue counts and the shared counters.
    const config = loadConfig({ ...env, LOG_LEVEL: 'error' });
    host = await Host.create(config, createLogger('sample-host-demo', 'error'), 'producer');
    await host.connect();
    const h = host;

    const script = buildScript();
    const requests = script.uniqueTurns + script.duplicates;
    say(`  Script: ${script.orgs.length} orgs x ${script.workstreams / script.orgs.length} workstreams, ${script.waves.length} waves: ${script.uniqueTurns} turns + ${script.duplicates} re-sent turnIds; digest debounce ${DEBOUNCE_MS} ms`);
    say();

    const results: Pick<DemoResults, 'extraction' | 'digest'> & { sent: number; errors: number; recorded: number } = {
      extraction: { added: 0, deduplicated: 0, replaced: 0 },
      digest: { added: 0, deduplicated: 0, replaced: 0 },
      sent: 0,
      errors: 0,
      recorded: 0,
    };
    const post = async ({ turn }: ScriptedTurn): Promise<void> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/turns`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(turn),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.status !== 202) {
          results.errors++;
          onLog('demo', `POST /turns ${res.status}: ${await res.text()}`);
          return;
        }
        const body = (await res.json()) as TurnResponse;
        results.extraction[body.extraction.status]++;
        results.digest[body.digest.status]++;
        if (body.turn.recorded) results.recorded++;
      } catch (err) {
        results.errors++;
        onLog('demo', `POST /turns failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        results.sent++;
      }
    };

    const elapsed = () => ((performance.now() - started) / 1000).toFixed(1).padStart(5);
    const status = async (phase: string): Promise<{ pending: number }> => {
      const counts = await h.runtime.queues.counts();
      const ext = counts['memory-extraction'] ?? {};
      const dig = counts['memory-digest'] ?? {};
      const pending = [ext, dig].reduce((n, c) => n + PENDING.reduce((m, s) => m + (c[s] ?? 0), 0), 0);
      const stored = (await Promise.all(script.orgs.map((o) => h.store.count(o)))).reduce((a, b) => a + b, 0);
      progress.update(
        `  [${elapsed()} s] ${phase} | turns ${results.sent}/${requests} | extraction: ${ext.waiting ?? 0} waiting, ${ext.active ?? 0} active, ${ext.completed ?? 0} done | digests: ${dig.delayed ?? 0} debouncing, ${dig.completed ?? 0} run | memories ${stored}`,
      );
      return { pending };
    };

    // The burst: each wave posts one turn per workstream (and the re-sent ones) concurrently.
    for (const wave of script.waves) {
      interrupted.signal.throwIfAborted();
      await Promise.all(wave.map(post));
      await status('sending');
      await sleep(WAVE_PAUSE_MS, undefined, { signal: interrupted.signal });
    }

    // Wait for extraction to finish and the debounced digests to fire and run.
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    let drained = false;
    let quiet = 0;
    while (Date.now() < deadline) {
      interrupted.signal.throwIfAborted();
      const { pending } = await status('draining');
      quiet = pending === 0 ? quiet + 1 : 0;
      if (quiet >= 2) {
        drained = true;
        break;
      }
      await sleep(200, undefined, { signal: interrupted.signal });
    }
    await status(drained ? 'drained' : 'timed out');
    progress.done('');

    const stats = await h.stats.snapshot();
    const lockWaitsMs = (await h.stats.lockWaits('-', 1_000_000)).map((w) => w.ms);
    const memoriesPerOrg = Object.fromEntries(await Promise.all(script.orgs.map(async (o) => [o, await h.store.count(o)] as const)));

    // Fencing, shown on purpose: a writer holding the token of an earlier acquisition (a worker
    // that was paused past its lease and woke up) tries to write. The store must refuse it.
    const probeOrg = script.orgs[0] ?? 'acme';
    const lastAccepted = await h.store.lastAcceptedToken(probeOrg);
    const staleToken = Math.max(0, lastAccepted - 1);
    const probe = await h.store.write(probeOrg, staleToken, [{ id: 'stale-probe', text: 'A write from a holder that lost its lease.', workstreamId: 'probe', turnId: 'probe', embedding: [0] }]);

    say('  Stopping: SIGTERM to the API and both workers (they finish active work and exit)...');
    const exits: DemoResults['exits'] = await Promise.all(
      children.map(async (c) => {
        const t0 = performance.now();
        const code = await stopChild(c, SHUTDOWN_TIMEOUT_MS + 5_000);
        return { name: c.name, code, ms: performance.now() - t0 };
      }),
    );
    children.length = 0;

    const report: DemoResults = {
      requests,
      uniqueTurns: script.uniqueTurns,
      duplicates: script.duplicates,
      httpErrors: results.errors,
      turnsRecorded: results.recorded,
      extraction: results.extraction,
      digest: results.digest,
      stats,
      memoriesPerOrg,
      lockWaitsMs,
      probe: { token: staleToken, lastAccepted, refused: !probe.accepted },
      refusedByWorkers: stats.store.refused,
      exits,
      drained,
      seconds: (performance.now() - started) / 1000,
    };
    say();
    say('Summary');
    for (const line of formatSummary(report)) say(line);
    say();
    const passed = demoPassed(report);
    say(passed ? 'Demo finished: every check passed.' : 'Demo finished with problems (see the rows marked above).');
    return passed ? 0 : 1;
  } catch (err) {
    progress.clear();
    if (interrupted.signal.aborted) {
      say('\nInterrupted: stopping everything the demo started...');
      return 0;
    }
    console.error(`\nDemo failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    // Children by PID (graceful first), then the demo's own runtime, then the Redis it started.
    const left = await Promise.all(children.map(async (c) => `${c.name} pid ${c.process.pid} (exit ${await stopChild(c, SHUTDOWN_TIMEOUT_MS + 5_000)})`));
    if (host && external) await removeKeys(host, keyPrefix).catch(() => undefined);
    await host?.disconnect(2_000).catch(() => undefined);
    if (redis) left.push(`redis-server ${redis.pid === undefined ? '' : `pid ${redis.pid}`}`.trim());
    await redis?.dispose().catch(() => undefined);
    if (interrupted.signal.aborted && left.length > 0) say(`Stopped: ${left.join(', ')}.`);
  }
}

/**
 * A Redis server of the demo's own, from @lota/redis-testkit: a dev dependency, there when the
 * demo runs from the repository (`npm run demo`), loaded only when REDIS_URL is not set.
 */
async function startDemoRedis(): Promise<RedisServer> {
  const { startRedis } = await import('@lota/redis-testkit');
  return startRedis();
}

/** With REDIS_URL, the demo ran under its own key prefix: remove those keys (nothing else). */
async function removeKeys(host: Host, prefix: string): Promise<void> {
  const redis = host.redis;
  if (!('scanStream' in redis)) return;
  const stream = redis.scanStream({ match: `${prefix}:*`, count: 500 });
  for await (const batch of stream as AsyncIterable<string[]>) {
    if (batch.length > 0) await redis.unlink(...batch);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
