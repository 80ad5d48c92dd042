import { createLotaRuntime, type LotaRuntime, type LotaRuntimeConfig, type OrgMemoryLock, type RuntimeEmbeddings } from '@lota/runtime';
import type { HostConfig } from './config.js';
import { createLocalEmbeddingProvider } from './embedding-provider.js';
import { HostStats } from './host-stats.js';
import { instrument } from './instrument.js';
import { hostKeys, type HostKeys, type HostRedis } from './keys.js';
import type { HostLogger } from './logger.js';
import { createMemoryDigestProcessor } from './memory-digest-processor.js';
import { createMemoryExtractionProcessor } from './memory-extraction-processor.js';
import { FencedMemoryStore } from './memory-store.js';
import { WorkerRegistry } from './worker-registry.js';

/** What a process runs: the API and the demo only produce jobs; a worker also runs them. */
export type HostRole = 'producer' | 'worker';

interface Connected {
  redis: HostRedis;
  locks: OrgMemoryLock;
  embeddings: RuntimeEmbeddings;
  store: FencedMemoryStore;
  stats: HostStats;
  workers: WorkerRegistry;
}

/**
 * One process's view of the sample host: the Lota runtime (configured for this host's queues,
 * lock and embedding provider, with workers when `role` is 'worker') plus the host's own
 * Redis-backed parts on the runtime's general client: the fenced memory store, the
 * cross-process stats and the worker registry.
 */
export class Host {
  readonly keys: HostKeys;
  private rt: LotaRuntime | undefined;
  private connected: Connected | undefined;

  private constructor(
    readonly config: HostConfig,
    readonly logger: HostLogger,
    readonly role: HostRole,
  ) {
    this.keys = hostKeys(config.keyPrefix);
  }

  /** Creates the runtime (nothing connects until `connect()`). */
  static async create(config: HostConfig, logger: HostLogger, role: HostRole): Promise<Host> {
    const host = new Host(config, logger, role);
    host.rt = await createLotaRuntime(host.runtimeConfig());
    return host;
  }

  /** The runtime config this host uses; workers only in the 'worker' role. */
  private runtimeConfig(): LotaRuntimeConfig {
    const { config, logger } = this;
    const stats = () => this.stats;
    const rc: LotaRuntimeConfig = {
      redis: { url: config.redisUrl, keyPrefix: config.keyPrefix, connectionName: `sample-host:${this.role}` },
      aiGateway: {
        embeddingProvider: createLocalEmbeddingProvider({
          redis: () => this.redis,
          keys: this.keys,
          dimensions: config.embeddingDimensions,
          latencyMs: config.embeddingLatencyMs,
        }),
        embeddingCacheTtlSeconds: 86_400,
      },
      queues: { policies: { 'memory-digest': { debounceMs: config.digestDebounceMs } } },
      memoryLock: { ttlMs: config.lockTtlMs, acquireTimeoutMs: config.lockAcquireTimeoutMs },
      logger,
    };
    if (this.role === 'worker') {
      rc.workers = {
        'memory-extraction': {
          processor: instrument('memory-extraction', stats, createMemoryExtractionProcessor(this, config)),
          concurrency: config.extractionConcurrency,
        },
        'memory-digest': {
          processor: instrument('memory-digest', stats, createMemoryDigestProcessor(this)),
          concurrency: config.digestConcurrency,
        },
      };
    }
    return rc;
  }

  get runtime(): LotaRuntime {
    if (!this.rt) throw new Error('sample-host: Host.create() has not finished');
    return this.rt;
  }

  /** Connects Redis and (worker role) starts the workers. */
  async connect(): Promise<void> {
    await this.runtime.connect();
    this.part('redis'); // capture the parts now, while the runtime is open (see `locks`)
  }

  /**
   * The host's parts, built on first use on the runtime's general client. Lazily, because the
   * runtime starts the workers inside `connect()`: a job may run before `connect()` resolves.
   */
  private part<K extends keyof Connected>(name: K): Connected[K] {
    if (!this.connected) {
      const runtime = this.runtime;
      const redis = runtime.redis.getConnection(); // throws NOT_CONNECTED before connect()
      this.connected = { redis, locks: runtime.locks, embeddings: runtime.embeddings, store: new FencedMemoryStore(redis, this.keys), stats: new HostStats(redis, this.keys), workers: new WorkerRegistry(redis, this.keys) };
    }
    return this.connected[name];
  }

  /** The runtime's general client (`runtime.redis.getConnection()`), for the host's own data. */
  get redis(): HostRedis {
    return this.part('redis');
  }

  /**
   * `runtime.locks`, captured at connect. The runtime's getters throw as soon as `disconnect()`
   * starts, but that is exactly when active jobs are being allowed to finish: jobs use these.
   */
  get locks(): OrgMemoryLock {
    return this.part('locks');
  }

  /** `runtime.embeddings`, captured at connect (see `locks`). */
  get embeddings(): RuntimeEmbeddings {
    return this.part('embeddings');
  }

  get store(): FencedMemoryStore {
    return this.part('store');
  }

  get stats(): HostStats {
    return this.part('stats');
  }

  get workers(): WorkerRegistry {
    return this.part('workers');
  }

  /** Graceful: workers finish their active jobs (within the budget), then every connection closes. */
  async disconnect(timeoutMs = this.config.shutdownTimeoutMs): Promise<void> {
    await this.rt?.disconnect({ timeoutMs });
  }
}
