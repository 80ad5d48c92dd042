import type { Redis } from 'ioredis';
import type { Cluster } from 'ioredis';
import { withDeadline } from '@lota/shared';
import type { TrackedClient } from './tracked-client.js';
import { isCluster } from './tracked-client.js';

export interface HealthResult {
  ok: boolean;
  latencyMs: number | null;
  reconnectForced: boolean;
  error?: Error;
}

export interface HealthMonitorOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Extra time for clients that may be blocked in BZPOPMIN / XREAD BLOCK (a PING queues behind them). */
  blockingGraceMs: number;
  clients: () => Iterable<TrackedClient>;
  onResult: (tracked: TrackedClient, result: HealthResult) => void;
}

async function pingAll(client: Redis | Cluster): Promise<void> {
  if (isCluster(client)) {
    const nodes = (client as Cluster).nodes('all').filter((n) => n.status === 'ready');
    await Promise.all(nodes.map((n) => n.ping()));
    return;
  }
  await (client as Redis).ping();
}

/**
 * PINGs every client every `intervalMs`. A PING that fails or takes longer than its timeout
 * means the connection cannot be trusted (a half-open TCP connection never errors by itself),
 * so the client is disconnected with `reconnect = true`: ioredis' own reconnection then takes
 * over. Clients that are not `ready` are left alone; ioredis is already reconnecting them.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: HealthMonitorOptions) {}

  start(): void {
    if (this.timer || this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.checkAll(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs one round now (also what the timer runs). */
  async checkAll(): Promise<void> {
    await Promise.all([...this.opts.clients()].map((t) => this.check(t)));
  }

  private async check(tracked: TrackedClient): Promise<void> {
    const { client } = tracked;
    if (tracked.checking || client.status !== 'ready') return;
    tracked.checking = true;
    const timeoutMs = this.opts.timeoutMs + (tracked.blocking ? this.opts.blockingGraceMs : 0);
    const started = performance.now();
    try {
      await withDeadline(pingAll(client), timeoutMs, () => new Error(`PING got no reply within ${timeoutMs} ms`));
      this.opts.onResult(tracked, { ok: true, latencyMs: performance.now() - started, reconnectForced: false });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      // Only force a reconnect if nobody else already did (status still 'ready').
      const reconnectForced = client.status === 'ready';
      if (reconnectForced) client.disconnect(true);
      this.opts.onResult(tracked, { ok: false, latencyMs: null, reconnectForced, error });
    } finally {
      tracked.checking = false;
    }
  }
}
