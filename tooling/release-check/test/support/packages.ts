/**
 * The published packages and what each one may bring into a consumer's node_modules. A change
 * to a package's dependencies must be made here too, on purpose: that is the point.
 */
export interface PackageSpec {
  name: string;
  /** Directory relative to the repo root; also the fixture directory's name under test/fixtures. */
  dir: string;
  /** `dependencies` of the published manifest, exactly. */
  dependencies: readonly string[];
  /** `peerDependencies` of the published manifest, exactly; the scratch project installs them from the registry. */
  peerDependencies: readonly string[];
  /** Must not appear anywhere in a scratch project that installs only this package (node_modules or `npm ls --all`). */
  absent: readonly string[];
  /** Subpath exports (besides `.` and `./package.json`) the smoke scripts import. */
  subpaths: readonly string[];
  /**
   * Named imports of the smoke scripts, per module specifier (`'a as b'` renames). The fixture
   * `test/fixtures/<dir>/smoke.js` uses these names; the test wraps it as ESM and as CJS.
   */
  imports: Readonly<Record<string, readonly string[]>>;
}

const LOTA = ['@lota/redis-connection', '@lota/queues', '@lota/org-lock', '@lota/embedding-cache', '@lota/runtime'] as const;
const others = (self: string, ...allowed: string[]): string[] => LOTA.filter((n) => n !== self && !allowed.includes(n));

export const PACKAGES: readonly PackageSpec[] = [
  {
    name: '@lota/redis-connection',
    dir: 'packages/redis-connection',
    dependencies: ['zod'],
    peerDependencies: ['ioredis'],
    absent: ['bullmq', 'lru-cache', ...others('@lota/redis-connection')],
    subpaths: [],
    imports: {
      '@lota/redis-connection': [
        'createRedisConnectionManager',
        'RedisConnectionManager',
        'resolveRedisConfig',
        'redactUrl',
        'silentLogger',
        'LotaError',
        'ConfigError',
        'NotConnectedError',
        'RedisUnreachableError',
      ],
    },
  },
  {
    name: '@lota/queues',
    dir: 'packages/queues',
    dependencies: ['zod'],
    peerDependencies: ['bullmq', 'ioredis'],
    absent: ['lru-cache', ...others('@lota/queues')],
    subpaths: [],
    imports: {
      '@lota/queues': [
        'createQueues',
        'LotaQueues',
        'encodeKeyParts',
        'queuePrefix',
        'runChunked',
        'BUILT_IN_QUEUES',
        'BUILT_IN_POLICIES',
        'DEFAULT_POLICY',
        'UnrecoverableError',
        'LotaError',
        'ConfigError',
        'JobValidationError',
      ],
      bullmq: ['UnrecoverableError as BullUnrecoverableError'],
    },
  },
  {
    name: '@lota/org-lock',
    dir: 'packages/org-lock',
    dependencies: [],
    peerDependencies: ['ioredis'],
    absent: ['bullmq', 'zod', 'lru-cache', ...others('@lota/org-lock')],
    subpaths: ['conformance'],
    imports: {
      '@lota/org-lock': ['createOrgMemoryLock', 'createRedisLock', 'RedisLock', 'LotaError', 'ConfigError', 'InvalidArgumentError'],
      '@lota/org-lock/conformance': ['defineLockAdapterConformance'],
    },
  },
  {
    name: '@lota/embedding-cache',
    dir: 'packages/embedding-cache',
    dependencies: ['lru-cache'],
    peerDependencies: ['ioredis'],
    absent: ['bullmq', 'zod', ...others('@lota/embedding-cache')],
    subpaths: ['ai-sdk', 'internal'],
    imports: {
      '@lota/embedding-cache': ['createEmbeddingCache', 'EmbeddingCache', 'cacheKey', 'KEY_VERSION', 'ConfigError', 'LotaError'],
      '@lota/embedding-cache/internal': ['encodeVector', 'decodeVector', 'HEADER_BYTES'],
      '@lota/embedding-cache/ai-sdk': ['embeddingCacheMiddleware'],
      ioredis: ['Redis'],
    },
  },
  {
    name: '@lota/runtime',
    dir: 'packages/runtime',
    dependencies: ['@lota/embedding-cache', '@lota/org-lock', '@lota/queues', '@lota/redis-connection', 'zod'],
    peerDependencies: ['bullmq', 'ioredis'],
    absent: [],
    subpaths: [],
    imports: {
      '@lota/runtime': [
        'createLotaRuntime',
        'LotaRuntime',
        'LotaError',
        'ConfigError',
        'NotConnectedError',
        'NotConfiguredError',
        'RedisUnreachableError',
        'LockTimeoutError',
        'BUILT_IN_QUEUES',
        'runChunked',
        'UnrecoverableError',
      ],
      // Each package bundles its own copy of the shared error classes: instanceof must still hold by code.
      '@lota/queues': ['ConfigError as QueuesConfigError'],
      '@lota/org-lock': ['RedisUnreachableError as LockRedisUnreachableError', 'LotaError as LockLotaError'],
      bullmq: ['UnrecoverableError as BullUnrecoverableError'],
    },
  },
];

/** `@lota/x` -> `lota-x`, as in the tarball's file name and the scratch directory. */
export const slug = (name: string): string => name.replace(/^@/, '').replace('/', '-');
