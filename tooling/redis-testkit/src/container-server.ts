import { INSTALL_HINT } from './backend.js';
import { TestkitCapabilityError, TestkitUnavailableError } from './errors.js';
import { probeRedis } from './ping.js';
import { getFreePort } from './ports.js';
import type { RedisServer, StartRedisOptions } from './server.js';
import { waitFor } from './wait.js';

type RedisModule = typeof import('@testcontainers/redis'); // eslint-disable-line @typescript-eslint/consistent-type-imports -- loaded lazily, only without a local binary
type TestcontainersModule = typeof import('testcontainers'); // eslint-disable-line @typescript-eslint/consistent-type-imports -- same

/** Image used when no local binary exists. Pinned so every run tests the same server. */
export const REDIS_IMAGE = 'redis:7.4-alpine';

interface DockerContainerHandle {
  kill(opts?: { signal?: string }): Promise<unknown>;
  pause(): Promise<unknown>;
  unpause(): Promise<unknown>;
  start(): Promise<unknown>;
  stop(opts?: { t?: number }): Promise<unknown>;
}

interface Started {
  getId(): string;
  stop(opts?: { timeout?: number; remove?: boolean }): Promise<unknown>;
}

/**
 * A Redis server in a Docker container, started through `@testcontainers/redis`, for machines
 * without a local `redis-server`. The container listens on the same port inside and outside
 * so `restart()` keeps the URL; kill/pause/resume go through the Docker API.
 */
export class ContainerRedisServer implements RedisServer {
  readonly backend = 'container' as const;
  readonly controllable = true;
  readonly host = '127.0.0.1';
  readonly dir = undefined;
  readonly pid = undefined;
  readonly tls = undefined;
  private isRunning = true;
  private isPaused = false;
  private disposed = false;

  private constructor(
    readonly port: number,
    private readonly password: string | undefined,
    private readonly started: Started,
    private readonly docker: DockerContainerHandle,
  ) {}

  static async start(opts: StartRedisOptions): Promise<ContainerRedisServer> {
    if (opts.tls || opts.users?.length) {
      throw new TestkitCapabilityError('redis-testkit: TLS and ACL servers need a local redis-server binary.');
    }
    let modules: [RedisModule, TestcontainersModule];
    try {
      modules = await Promise.all([import('@testcontainers/redis'), import('testcontainers')]);
    } catch (err) {
      throw new TestkitUnavailableError(
        'redis-testkit: the container backend needs the optional dependencies testcontainers and @testcontainers/redis; run `pnpm install`.',
        { cause: err },
      );
    }
    const [{ RedisContainer }, { getContainerRuntimeClient }] = modules;
    const port = await getFreePort();
    const args = ['redis-server', '--port', String(port), '--save', '', '--appendonly', opts.appendOnly ? 'yes' : 'no'];
    if (opts.appendOnly) args.push('--appendfsync', opts.appendFsync ?? 'everysec');
    if (opts.maxmemory) args.push('--maxmemory', opts.maxmemory);
    args.push('--maxmemory-policy', opts.maxmemoryPolicy ?? 'noeviction');
    if (opts.password) args.push('--requirepass', opts.password);
    for (const [key, value] of Object.entries(opts.config ?? {})) args.push(`--${key}`, ...(Array.isArray(value) ? value : [value]).map(String));
    let client: Awaited<ReturnType<typeof getContainerRuntimeClient>>;
    try {
      client = await getContainerRuntimeClient();
    } catch (err) {
      throw new TestkitUnavailableError(
        `redis-testkit: the container backend needs a running Docker engine, and none answers here. ${INSTALL_HINT}`,
        { cause: err },
      );
    }
    const started = await new RedisContainer(REDIS_IMAGE)
      .withCommand(args)
      .withExposedPorts({ container: port, host: port })
      .start();
    const docker = client.container.getById(started.getId()) as unknown as DockerContainerHandle;
    return new ContainerRedisServer(port, opts.password, started, docker);
  }

  get url(): string {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : '';
    return `redis://${auth}${this.host}:${this.port}`;
  }
  get running(): boolean {
    return this.isRunning;
  }
  get paused(): boolean {
    return this.isPaused;
  }

  private async waitReady(): Promise<void> {
    await waitFor(async () => (await probeRedis(this.host, this.port)) === 'ready', {
      timeoutMs: 30_000,
      description: `redis container on port ${this.port} to answer PING`,
    });
  }

  async stop(): Promise<void> {
    if (!this.isRunning) return;
    if (this.isPaused) await this.resume();
    await this.docker.stop({ t: 5 });
    this.isRunning = false;
  }
  async kill(): Promise<void> {
    if (!this.isRunning) return;
    await this.docker.kill({ signal: 'SIGKILL' });
    this.isRunning = false;
    this.isPaused = false;
  }
  async pause(): Promise<void> {
    await this.docker.pause();
    this.isPaused = true;
  }
  async resume(): Promise<void> {
    if (!this.isPaused) return;
    await this.docker.unpause();
    this.isPaused = false;
  }
  async restart(): Promise<void> {
    await this.stop();
    await this.docker.start();
    this.isRunning = true;
    await this.waitReady();
  }
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.started.stop({ timeout: 0, remove: true });
    this.isRunning = false;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
