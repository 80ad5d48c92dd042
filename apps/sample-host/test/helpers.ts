import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@lota/redis-testkit';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type HostConfig } from '../src/config.js';
import { Host, type HostRole } from '../src/host.js';
import type { HostLogger } from '../src/logger.js';
import { buildServer } from '../src/server.js';

export const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

/** Worker and API processes run the built files: fail with a clear message when they are missing. */
export function requireBuild(): void {
  if (!existsSync(`${DIST}worker.js`) || !existsSync(`${DIST}api.js`)) {
    throw new Error('apps/sample-host/dist is missing: run `pnpm --filter @lota/sample-host build` first (turbo does it before `test`).');
  }
}

/** Environment of a host process for one test: its own key prefix, so tests never see each other's keys (even on a shared REDIS_URL). */
export function testEnv(redisUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    LOTA_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'warn',
    DIGEST_DEBOUNCE_MS: '300',
    EMBEDDING_LATENCY_MS: '5',
    ...extra,
  };
}

export function testConfig(env: Record<string, string>): HostConfig {
  return loadConfig({ ...env, LOG_LEVEL: 'error' });
}

/** In-process hosts log nothing: the tests assert on behaviour, and fault tests would only add noise. */
export function quietLogger(): HostLogger {
  const noop = () => undefined;
  const logger: HostLogger = { debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  return logger;
}

/** A connected in-process host (the API's producer role, or a worker). */
export async function startHost(env: Record<string, string>, role: HostRole = 'producer'): Promise<Host & AsyncDisposable> {
  const config = testConfig(env);
  const host = await Host.create(config, quietLogger(), role);
  await host.connect();
  return Object.assign(host, { [Symbol.asyncDispose]: () => host.disconnect(3_000) });
}

export interface TestApi extends AsyncDisposable {
  host: Host;
  app: FastifyInstance;
}

/** The API in this process (`app.inject` for requests), over its own producer host. */
export async function startApi(env: Record<string, string>): Promise<TestApi> {
  const host = await startHost(env, 'producer');
  const { app } = await buildServer(host);
  return {
    host,
    app,
    [Symbol.asyncDispose]: async () => {
      await app.close();
      await host.disconnect(3_000);
    },
  };
}

export interface HostProcess extends AsyncDisposable {
  child: ChildProcess;
  /** Resolves once the process printed its ready line. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** Its stderr so far (logs). */
  logs(): string;
}

/** Spawns `node dist/<entry>.js` with `env` (`worker` or `api`); disposing kills it if it still runs. */
export function spawnHost(entry: 'worker' | 'api', env: Record<string, string>): HostProcess {
  requireBuild();
  const child = spawn(process.execPath, [`${DIST}${entry}.js`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const readyEvent = entry === 'worker' ? 'ready' : 'listening';
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes(`"event":"${readyEvent}"`)) resolve();
    });
    void exited.then((code) => reject(new Error(`${entry} exited (${code}) before it was ready:\n${stderr}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    exited,
    logs: () => stderr,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Waits for `n` completed attempts of `queue` (counted by the workers in Redis). */
export async function waitForCompleted(host: Host, queue: string, n: number, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => ((await host.stats.snapshot()).jobs[queue]?.completed ?? 0) >= n, { timeoutMs, intervalMs: 50, description: `${n} completed ${queue} jobs` });
}
