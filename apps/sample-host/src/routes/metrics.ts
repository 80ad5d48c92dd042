import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Host } from '../host.js';
import type { HostStatsSnapshot } from '../host-stats.js';

/** Bucket bounds (seconds) of the org-lock wait histogram. */
export const LOCK_WAIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/**
 * The host's Prometheus metrics, in a registry of its own. Everything is read at scrape time:
 * queue depths from `runtime.queues.counts()`, and the workers' counters (job outcomes, lock
 * waits and holders, embedding cache and provider, fenced writes, live workers) from Redis,
 * because workers run in other processes.
 */
export function createMetrics(host: Host): Registry {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'sample_host_' });

  // One Redis snapshot per scrape, shared by every collector below.
  let snap: { at: number; value: Promise<HostStatsSnapshot> } | undefined;
  const snapshot = (): Promise<HostStatsSnapshot> => {
    if (!snap || Date.now() - snap.at > 250) snap = { at: Date.now(), value: host.stats.snapshot() };
    return snap.value;
  };

  new Gauge({
    name: 'lota_queue_jobs',
    help: 'Jobs per queue and state (BullMQ counts, read at scrape time).',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      const counts = await host.runtime.queues.counts();
      this.reset();
      for (const [queue, byState] of Object.entries(counts)) {
        for (const state of QUEUE_STATES) this.set({ queue, state }, byState[state] ?? 0);
      }
    },
  });

  new Counter({
    name: 'lota_jobs_total',
    help: 'Job attempts by queue and outcome (completed; retried: failed, will run again; failed: for good), across all workers.',
    labelNames: ['queue', 'outcome'],
    registers,
    async collect() {
      const { jobs } = await snapshot();
      this.reset();
      for (const [queue, outcomes] of Object.entries(jobs)) {
        for (const [outcome, n] of Object.entries(outcomes)) this.inc({ queue, outcome }, n);
      }
    },
  });

  // Workers append each wait to a Redis stream; this process observes the entries it has not seen yet.
  let cursor = '-';
  let syncing: Promise<void> | undefined;
  new Histogram({
    name: 'lota_org_lock_wait_seconds',
    help: 'Time memory-extraction jobs waited for their org memory lock, across all workers.',
    buckets: LOCK_WAIT_BUCKETS,
    registers,
    async collect() {
      syncing ??= (async () => {
        for (;;) {
          const waits = await host.stats.lockWaits(cursor, 10_000);
          for (const w of waits) this.observe(w.ms / 1000);
          const last = waits.at(-1);
          if (!last) break;
          cursor = last.id;
        }
      })().finally(() => (syncing = undefined));
      await syncing;
    },
  });

  new Gauge({
    name: 'lota_org_lock_max_holders',
    help: 'Most holders ever seen inside one org memory lock at once (anything above 1 is a mutual-exclusion bug).',
    registers,
    async collect() {
      const { maxHolders } = await snapshot();
      this.set(Math.max(0, ...Object.values(maxHolders)));
    },
  });

  new Counter({
    name: 'lota_embedding_cache_texts_total',
    help: "Texts looked up in the workers' embedding caches, by result (hit: served from memory or Redis; miss: embedded by the provider).",
    labelNames: ['result'],
    registers,
    async collect() {
      const { cache } = await snapshot();
      this.reset();
      this.inc({ result: 'hit' }, cache.hits);
      this.inc({ result: 'miss' }, cache.misses);
    },
  });

  new Counter({
    name: 'lota_embedding_requests_total',
    help: 'embed() calls the workers made through the cache (each one a provider call without the cache).',
    registers,
    async collect() {
      const { cache } = await snapshot();
      this.reset();
      this.inc(cache.requests);
    },
  });

  new Counter({
    name: 'lota_embedding_provider_calls_total',
    help: 'Calls the embedding provider received (each may carry several texts).',
    registers,
    async collect() {
      const { provider } = await snapshot();
      this.reset();
      this.inc(provider.calls);
    },
  });

  new Counter({
    name: 'lota_memory_store_writes_total',
    help: 'Fenced memory-store writes by result (refused: the fencing token was older than the last accepted one).',
    labelNames: ['result'],
    registers,
    async collect() {
      const { store } = await snapshot();
      this.reset();
      this.inc({ result: 'accepted' }, store.accepted);
      this.inc({ result: 'refused' }, store.refused);
    },
  });

  new Counter({
    name: 'lota_memories_added_total',
    help: 'Memories added to the store (new facts; repeats of a stored fact are not added again).',
    registers,
    async collect() {
      const { store } = await snapshot();
      this.reset();
      this.inc(store.added);
    },
  });

  new Gauge({
    name: 'lota_workers_alive',
    help: 'Worker processes with a live heartbeat.',
    registers,
    async collect() {
      this.set((await host.workers.alive()).length);
    },
  });

  return registry;
}

/** `GET /metrics`: Prometheus text; 503 when Redis cannot be read. */
export function registerMetricsRoute(app: FastifyInstance, host: Host): void {
  const registry = createMetrics(host);
  app.get('/metrics', async (_request, reply) => {
    try {
      const text = await registry.metrics();
      return await reply.type(registry.contentType).send(text);
    } catch (err) {
      host.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'metrics scrape failed');
      return reply.code(503).type('text/plain').send(`# metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
}
