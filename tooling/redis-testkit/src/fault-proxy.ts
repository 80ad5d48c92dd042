import { connect, createServer, type Socket } from 'node:net';
import { TestkitCapabilityError, TestkitStartError } from './errors.js';
import { FaultLink, type BlockedMode, type DirectionCounters, type DirectionName, type LinkPolicy } from './fault-link.js';
import { onProcessExit } from './reaper.js';

/** Where the proxy forwards to. A {@link RedisServer} fits as is (its `url` carries auth and scheme). */
export interface FaultProxyTarget {
  host: string;
  port: number;
  /**
   * The target's URL; when given, {@link FaultProxy.url} keeps its scheme (`rediss:`), user,
   * password and db, and only swaps host and port for the proxy's.
   */
  url?: string;
}

/** Options for {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /**
   * Random numbers in `[0, 1)` for latency jitter. Pass a seeded generator to make a fault
   * campaign reproducible.
   * @defaultValue Math.random
   */
  random?: () => number;
}

/** Options for {@link FaultProxy.blackhole} and {@link FaultProxy.halfOpen}. */
export interface PartitionOptions {
  /**
   * What happens to bytes that reach a blocked direction.
   * - `'drop'`: they are discarded and stay discarded after `heal()`. The connection survives
   *   with a hole in its byte stream (see {@link FaultProxy.heal}).
   * - `'hold'`: they are kept (up to 4 MiB per direction and connection, then the proxy stops
   *   reading that side, like a full TCP window) and delivered in order on `heal()`: what TCP
   *   does across a partition shorter than its retransmission timeout.
   * @defaultValue 'drop'
   */
  bytes?: 'drop' | 'hold';
}

/** The faults in force, as set by the last calls. */
export interface FaultProxyFaults {
  /** Added delay per chunk, in ms (0: none). */
  readonly latencyMs: number;
  /** Extra random delay per chunk, up to this many ms. */
  readonly jitterMs: number;
  /** `'blackhole'`: nothing forwarded; `'halfOpen'`: only client→server forwarded. */
  readonly partition: 'none' | 'blackhole' | 'halfOpen';
  /** What a partition does with bytes (meaningful while `partition` is not `'none'`). */
  readonly bytes: 'drop' | 'hold';
  /** New connections are closed at once. */
  readonly refusing: boolean;
}

/** Bytes one way, summed over every connection the proxy has carried. */
export interface FaultProxyDirectionStats {
  /** Bytes written on to the other side. */
  readonly forwardedBytes: number;
  /** Bytes read and never delivered: dropped by a partition, or queued when their connection was reset or closed. */
  readonly droppedBytes: number;
  /** Bytes read and not yet delivered (delayed by latency, or held by a partition). */
  readonly pendingBytes: number;
}

/** What the proxy has done since it started, so a test can assert a fault was really exercised. */
export interface FaultProxyStats {
  /** Client connections accepted and forwarded (refused ones are not counted). */
  readonly accepted: number;
  /** Client connections closed at once by `refuse()`. */
  readonly refused: number;
  /** Connections destroyed by `reset()`. */
  readonly reset: number;
  /** Upstream connections that failed on the target's side (refused, reset, unreachable). */
  readonly upstreamErrors: number;
  /** Client → server. */
  readonly toServer: FaultProxyDirectionStats;
  /** Server → client. */
  readonly toClient: FaultProxyDirectionStats;
}

/**
 * A TCP proxy on a free loopback port, in this process, between clients and a Redis server:
 * point clients at {@link url} and switch faults at runtime. Faults combine: latency applies
 * under any partition; `refuse()` only concerns new connections; `blackhole()` and `halfOpen()`
 * replace each other. Every fault applies to existing and new connections alike.
 *
 * It works at the TCP level, so it fits any backend (binary, container, REDIS_URL) and TLS
 * servers (the bytes are opaque to it). It fronts one node: a Cluster's MOVED/ASK redirects and
 * a Sentinel's addresses name the real ports and bypass it (use ioredis `natMap` for that).
 */
export interface FaultProxy extends AsyncDisposable {
  /** `127.0.0.1`. */
  readonly host: string;
  /** The proxy's port (chosen by the OS: no race with other processes). */
  readonly port: number;
  /** The target's URL with the proxy's host and port (auth, scheme and db kept). */
  readonly url: string;
  readonly target: { readonly host: string; readonly port: number };
  /** Client connections open right now. */
  readonly connections: number;
  /** The faults in force. */
  readonly faults: FaultProxyFaults;
  /**
   * Delays every chunk, both directions, by `ms` plus a uniform random `[0, jitterMs)`. Order is
   * kept per connection and direction (a chunk never overtakes the one ahead of it, so it may
   * wait longer than its own draw). Applies to chunks read from now on; `latency(0)` stops it.
   * @param ms - Fixed delay per chunk, >= 0.
   * @param jitterMs - Upper bound of the extra random delay, >= 0. @defaultValue 0
   */
  latency(ms: number, jitterMs?: number): void;
  /**
   * A partition: connections (existing and new) stay open, nothing is forwarded either way,
   * nothing is closed. Clients see a silent, half-open TCP connection. Closes by either side
   * are held (not dropped) and reach the peer after `heal()`.
   */
  blackhole(opts?: PartitionOptions): void;
  /**
   * Client → server bytes are forwarded, server → client bytes are blocked: commands execute,
   * replies never arrive. Existing and new connections.
   */
  halfOpen(opts?: PartitionOptions): void;
  /**
   * Destroys every current connection abruptly (RST to both the client and the server);
   * bytes queued in them are dropped. New connections are accepted as usual (other faults stay).
   */
  reset(): void;
  /**
   * New connections are closed at once with an RST (the handshake completes at the kernel, so
   * clients see `ECONNRESET` or a close right after connecting, not `ECONNREFUSED`). Existing
   * connections keep working.
   */
  refuse(): void;
  /**
   * Back to plain forwarding for existing and new connections: no latency, no partition, no
   * refusal. Bytes held by a `'hold'` partition or delayed by latency are sent now, in order.
   *
   * Bytes dropped during a `'drop'` partition stay dropped. That is harsher than a real
   * network, where TCP retransmits: the surviving connection has a hole in its stream, so a
   * RESP client on it is out of step (ioredis matches replies to commands by order and keeps a
   * command that hit `commandTimeout` in its queue: later replies go to earlier commands) or
   * sees a protocol error. Reconnect such clients (or call `reset()`) after `heal()` unless that
   * is what the test is about, or partition with `{ bytes: 'hold' }`.
   */
  heal(): void;
  /** Counters since the proxy started (a fresh snapshot each call). */
  stats(): FaultProxyStats;
  /** Closes the listener and every socket, clears every timer; resolves when all are closed. Idempotent. */
  close(): Promise<void>;
  /** Same as {@link close}. */
  dispose(): Promise<void>;
}

function checkDelay(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`redis-testkit: FaultProxy.latency(): ${name} must be a finite number >= 0, got ${String(value)}.`);
  }
}

function proxyUrl(target: FaultProxyTarget, host: string, port: number): string {
  if (target.url === undefined) return `redis://${host}:${port}`;
  const url = new URL(target.url);
  url.hostname = host;
  url.port = String(port);
  return url.toString();
}

/**
 * Starts a {@link FaultProxy} in front of `target` on a free loopback port. It is closed at
 * process exit if a test forgets to (like servers, through the testkit's exit hook); dispose it
 * in the test (`await using proxy = await startFaultProxy(server)`).
 */
export async function startFaultProxy(target: FaultProxyTarget, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65_535) {
    throw new RangeError(`redis-testkit: startFaultProxy: target.port must be an integer in 1..65535, got ${String(target.port)}.`);
  }
  const random = opts.random ?? Math.random;
  if (typeof random !== 'function') throw new TypeError('redis-testkit: startFaultProxy: opts.random must be a function returning [0, 1).');
  const host = '127.0.0.1';
  let latencyMs = 0;
  let jitterMs = 0;
  let partition: FaultProxyFaults['partition'] = 'none';
  let bytes: BlockedMode = 'drop';
  let refusing = false;
  let closing: Promise<void> | undefined;
  const counters: Record<DirectionName, DirectionCounters> = {
    toServer: { forwardedBytes: 0, droppedBytes: 0 },
    toClient: { forwardedBytes: 0, droppedBytes: 0 },
  };
  const counts = { accepted: 0, refused: 0, reset: 0, upstreamErrors: 0 };
  const links = new Set<FaultLink>();

  const policy: LinkPolicy = {
    delayMs: () => (latencyMs === 0 && jitterMs === 0 ? 0 : latencyMs + random() * jitterMs),
    blocked: (direction) => {
      if (partition === 'blackhole' || (partition === 'halfOpen' && direction === 'toClient')) return bytes;
      return false;
    },
  };

  const server = createServer({ allowHalfOpen: true }, (client: Socket) => {
    client.on('error', () => undefined);
    if (closing) {
      client.destroy();
      return;
    }
    if (refusing) {
      counts.refused++;
      client.resetAndDestroy();
      return;
    }
    counts.accepted++;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    const link: FaultLink = new FaultLink(client, upstream, policy, counters, {
      onUpstreamError: () => {
        counts.upstreamErrors++;
      },
      onClosed: () => void links.delete(link),
    });
    links.add(link);
  });
  server.on('error', () => undefined);

  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await listening;
  } catch (err) {
    throw new TestkitStartError(`redis-testkit: the fault proxy could not listen on ${host}: ${(err as Error).message}`, { cause: err });
  }
  const port = (server.address() as { port: number }).port;
  const url = proxyUrl(target, host, port);

  const forEachLink = (fn: (link: FaultLink) => void): void => {
    for (const link of [...links]) fn(link);
  };
  const ensureOpen = (what: string): void => {
    if (closing) {
      throw new TestkitCapabilityError(`redis-testkit: cannot ${what}: the fault proxy on port ${port} is closed; start a new one.`);
    }
  };
  const setPartition = (next: FaultProxyFaults['partition'], what: string, o: PartitionOptions | undefined): void => {
    ensureOpen(what);
    const mode = o?.bytes ?? 'drop';
    if (mode !== 'drop' && mode !== 'hold') {
      throw new RangeError(`redis-testkit: FaultProxy.${what}(): bytes must be 'drop' or 'hold', got ${String(mode)}.`);
    }
    partition = next;
    bytes = mode;
    forEachLink((l) => l.pump());
  };

  const unregister = onProcessExit(() => {
    server.close();
    forEachLink((l) => l.destroy());
  });
  const doClose = async (): Promise<void> => {
    unregister();
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    const linksClosed = [...links].map((l) => l.closed);
    forEachLink((l) => l.destroy());
    await Promise.all([serverClosed, ...linksClosed]);
  };

  const proxy: FaultProxy = {
    host,
    port,
    url,
    target: { host: target.host, port: target.port },
    get connections() {
      let n = 0;
      for (const l of links) if (l.live) n++;
      return n;
    },
    get faults() {
      return Object.freeze({ latencyMs, jitterMs, partition, bytes, refusing });
    },
    latency(ms, jitter = 0) {
      ensureOpen('latency');
      checkDelay('ms', ms);
      checkDelay('jitterMs', jitter);
      latencyMs = ms;
      jitterMs = jitter;
    },
    blackhole(o) {
      setPartition('blackhole', 'blackhole', o);
    },
    halfOpen(o) {
      setPartition('halfOpen', 'halfOpen', o);
    },
    reset() {
      ensureOpen('reset');
      forEachLink((l) => {
        if (l.reset()) counts.reset++;
      });
    },
    refuse() {
      ensureOpen('refuse');
      refusing = true;
    },
    heal() {
      ensureOpen('heal');
      latencyMs = 0;
      jitterMs = 0;
      partition = 'none';
      bytes = 'drop';
      refusing = false;
      forEachLink((l) => l.releaseAll());
    },
    stats() {
      const direction = (name: DirectionName): FaultProxyDirectionStats => {
        let pendingBytes = 0;
        for (const l of links) pendingBytes += l.pendingBytes(name);
        return { ...counters[name], pendingBytes };
      };
      return { ...counts, toServer: direction('toServer'), toClient: direction('toClient') };
    },
    close() {
      closing ??= doClose();
      return closing;
    },
    dispose() {
      return proxy.close();
    },
    [Symbol.asyncDispose]() {
      return proxy.close();
    },
  };
  return proxy;
}
