import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestkitCapabilityError, TestkitStartError } from './errors.js';
import { probeRedis } from './ping.js';
import { getFreePort } from './ports.js';
import { trackDir, trackPid, untrackDir, untrackPid } from './reaper.js';
import type { RedisServer } from './server.js';
import { generateTlsMaterial, type TlsMaterial } from './tls.js';

/** How long a server may take to answer PING after spawn (AOF replay included). */
const START_TIMEOUT_MS = 15_000;
/** How long SIGTERM may take before the process is SIGKILLed. */
const STOP_TIMEOUT_MS = 5_000;

export interface LocalServerSpec {
  binary: string;
  /** Config directives, written one per line to the server's config file. */
  directives: Array<[string, ...Array<string | number>]>;
  /** Start as a Sentinel (`--sentinel`). */
  sentinel?: boolean;
  tls?: boolean;
  password?: string;
  /** Name used in temp dir and error messages. */
  label?: string;
}

function quote(value: string | number): string {
  const s = String(value);
  return s === '' || /[\s"']/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : s;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A redis-server (or sentinel) process on a free loopback port with its own temp dir. */
export class LocalRedisServer implements RedisServer {
  readonly backend = 'binary' as const;
  readonly controllable = true;
  readonly host = '127.0.0.1';
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private isPaused = false;
  private disposed = false;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly tls: TlsMaterial | undefined,
    private readonly spec: LocalServerSpec,
    private readonly configFile: string,
  ) {}

  /** Creates the dir and config, spawns the process and waits until it answers PING. */
  static async start(spec: LocalServerSpec): Promise<LocalRedisServer> {
    const dir = await mkdtemp(join(tmpdir(), `lota-${spec.label ?? 'redis'}-`));
    trackDir(dir);
    const tls = spec.tls ? await generateTlsMaterial(dir) : undefined;
    // The OS may hand the same free port to a parallel caller; retry with a new port once or twice.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await getFreePort();
      const configFile = join(dir, spec.sentinel ? 'sentinel.conf' : 'redis.conf');
      const server = new LocalRedisServer(port, dir, tls, spec, configFile);
      await writeFile(configFile, server.renderConfig());
      try {
        await server.spawnAndWait();
        return server;
      } catch (err) {
        lastError = err;
        if (!/Address already in use/i.test(tail(join(dir, 'redis.log')))) break;
      }
    }
    await rm(dir, { recursive: true, force: true });
    untrackDir(dir);
    throw lastError;
  }

  get url(): string {
    const auth = this.spec.password ? `:${encodeURIComponent(this.spec.password)}@` : '';
    return `${this.tls ? 'rediss' : 'redis'}://${auth}${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** The last lines of the server's log, for assertion messages. */
  logTail(lines = 15): string {
    return tail(join(this.dir, 'redis.log'), lines);
  }

  private renderConfig(): string {
    const base: Array<[string, ...Array<string | number>]> = [
      ['bind', '127.0.0.1'],
      ['dir', this.dir],
      ['logfile', join(this.dir, 'redis.log')],
      ['daemonize', 'no'],
    ];
    if (this.tls) {
      base.push(
        ['port', 0],
        ['tls-port', this.port],
        ['tls-cert-file', this.tls.files.cert],
        ['tls-key-file', this.tls.files.key],
        ['tls-ca-cert-file', this.tls.files.ca],
        ['tls-auth-clients', 'optional'],
      );
    } else {
      base.push(['port', this.port]);
    }
    return [...base, ...this.spec.directives].map((d) => d.map((v, i) => (i === 0 ? String(v) : quote(v))).join(' ')).join('\n') + '\n';
  }

  private async spawnAndWait(): Promise<void> {
    const args = [this.configFile, ...(this.spec.sentinel ? ['--sentinel'] : [])];
    const child = spawn(this.spec.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => {
      stderr += s;
    });
    let exitInfo: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = `exit code ${code ?? 'none'}, signal ${signal ?? 'none'}`;
        if (child.pid !== undefined) untrackPid(child.pid);
        if (this.child === child) this.child = undefined;
        this.isPaused = false;
        resolve();
      });
    });
    child.once('error', (err) => {
      exitInfo = err.message;
    });
    if (child.pid === undefined) {
      throw new TestkitStartError(`redis-testkit: could not spawn ${this.spec.binary}: ${exitInfo ?? 'unknown error'}`);
    }
    this.child = child;
    trackPid(child.pid);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exitInfo !== undefined) {
        throw new TestkitStartError(
          `redis-testkit: ${this.spec.label ?? 'redis-server'} on port ${this.port} exited during start (${exitInfo}).\n${stderr}${this.logTail()}`,
        );
      }
      const state = await probeRedis(this.host, this.port, this.tls ? { ca: this.tls.ca } : {});
      if (state === 'ready') return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new TestkitStartError(
          `redis-testkit: ${this.spec.label ?? 'redis-server'} on port ${this.port} did not answer PING within ${START_TIMEOUT_MS} ms.\n${this.logTail()}`,
        );
      }
      await sleep(15);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.isPaused) await this.resume();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  pause(): Promise<void> {
    if (!this.child) {
      return Promise.reject(new TestkitCapabilityError(`redis-testkit: cannot pause the server on port ${this.port}: it is not running.`));
    }
    this.child.kill('SIGSTOP');
    this.isPaused = true;
    return Promise.resolve();
  }

  resume(): Promise<void> {
    if (this.child && this.isPaused) {
      this.child.kill('SIGCONT');
      this.isPaused = false;
    }
    return Promise.resolve();
  }

  async restart(): Promise<void> {
    if (this.disposed) throw new TestkitCapabilityError('redis-testkit: cannot restart a disposed server.');
    await this.stop();
    await this.spawnAndWait();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.kill();
    if (existsSync(this.dir)) await rm(this.dir, { recursive: true, force: true });
    untrackDir(this.dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
