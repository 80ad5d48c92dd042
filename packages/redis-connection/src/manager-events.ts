import type { ClientRole } from './client-factory.js';

/** Lifecycle of a manager. `closed` is final. */
export type ManagerState = 'idle' | 'connecting' | 'ready' | 'closing' | 'closed';

/** Events a manager emits. `error` is only emitted when someone listens (errors are always logged). */
export interface RedisConnectionManagerEvents {
  ready: [{ role: ClientRole }];
  reconnecting: [{ role: ClientRole; delayMs: number }];
  error: [{ role: ClientRole; error: Error }];
  health: [{ role: ClientRole; ok: boolean; latencyMs: number | null; reconnectForced: boolean; error?: Error }];
}
