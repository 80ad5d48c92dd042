import { withDeadline } from '@lota/shared';
import type { Cluster, Redis } from 'ioredis';
import type { ClientRole, RedisClient } from './client-factory.js';
import type { ManagerState } from './manager-events.js';
import { scrubError } from './scrub-error.js';
import { isCluster, type TrackedClient } from './tracked-client.js';

/** What `health()` reports. */
export interface RedisHealth {
  /** `ready`: PING answered and every client is connected; `degraded`: PING answered, some client is reconnecting; `down`: no answer. */
  status: 'ready' | 'degraded' | 'down' | 'idle' | 'closed';
  /** Round trip of a PING on the general client, in ms; `null` when it failed. */
  latencyMs: number | null;
  /** `maxmemory-policy` of the server (of the first master on a cluster); `null` if CONFIG is not allowed. */
  evictionPolicy: string | null;
  /** Number of Redis clients this manager owns right now, duplicates handed to BullMQ workers included. */
  connections: number;
  /** Each client's role and ioredis status. */
  clients: Array<{ role: ClientRole; status: string }>;
  /** Why the PING failed, when it did. */
  error?: string;
}

/** What {@link healthReport} looks at: the manager's state and clients, at the time of the call. */
export interface HealthSubject {
  readonly state: ManagerState;
  readonly general: RedisClient | undefined;
  readonly tracked: ReadonlySet<TrackedClient>;
  readonly evictionPolicy: string | null;
  /** Bound on the PING (`healthCheckTimeoutMs`). */
  readonly timeoutMs: number;
  /** Masks the configured passwords in an error message. */
  readonly redact: (text: string) => string;
}

/** What `RedisConnectionManager.health()` returns: PINGs the general client and reports every client's state. Never throws. */
export async function healthReport(subject: HealthSubject): Promise<RedisHealth> {
  const { state, general, tracked, evictionPolicy, timeoutMs, redact } = subject;
  const clients = [...tracked].map((t) => ({ role: t.role, status: t.client.status }));
  const base = { evictionPolicy, connections: tracked.size, clients };
  if (state !== 'ready' || !general) {
    const status = state === 'closed' || state === 'closing' ? 'closed' : 'idle';
    return { status, latencyMs: null, ...base };
  }
  if (general.status !== 'ready') {
    // Not connected: a PING would only wait in ioredis' offline queue. Say so at once.
    return { status: 'down', latencyMs: null, ...base, error: `the general client is ${general.status}` };
  }
  const started = performance.now();
  try {
    await withDeadline(
      isCluster(general) ? (general as Cluster).ping() : (general as Redis).ping(),
      timeoutMs,
      () => new Error(`PING got no reply within ${timeoutMs} ms`),
    );
    const latencyMs = performance.now() - started;
    const allReady = clients.every((c) => c.status === 'ready');
    return { status: allReady ? 'ready' : 'degraded', latencyMs, ...base };
  } catch (err) {
    return { status: 'down', latencyMs: null, ...base, error: scrubError(err as Error, redact).message };
  }
}
