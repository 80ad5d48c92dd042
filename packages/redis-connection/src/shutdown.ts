import { connectionClosedError, settleWithin, sleep, type Logger } from '@lota/shared';
import { HARD_CLOSE_MS, type RedisClient } from './client-factory.js';
import { closeStrayNodes } from './cluster-nodes.js';
import { finishDisconnect } from './pending-commands.js';

/**
 * The hard-close phase of `disconnect()`: ioredis' own destroy timer (HARD_CLOSE_MS) plus a
 * little slack for the socket's 'close' to run. `disconnect()` always reserves it.
 */
const HARD_CLOSE_WAIT_MS = HARD_CLOSE_MS + 10;

/** Options of `RedisConnectionManager.disconnect()`. */
export interface DisconnectOptions {
  /**
   * Bound on the whole call: a polite QUIT gets all of it but the last ~110 ms, which close the
   * remaining sockets hard. Values under 110 ms act as 110 ms. @defaultValue 5_000
   */
  timeoutMs?: number;
}

/**
 * The closing phase of `disconnect()` over `clients`: a polite QUIT to the live ones for up to
 * `timeoutMs` minus the hard-close phase, then every socket still open is closed hard and every
 * command still pending is rejected with `Connection is closed.`. Resolves once no socket or
 * timer of these clients is left.
 */
export async function closeClients(clients: readonly RedisClient[], timeoutMs: number, logger: Logger, target: string): Promise<void> {
  const live = clients.filter((c) => c.status === 'ready');
  // A live client ends after its QUIT reply and socket close; a reconnecting one never emits 'end',
  // disconnect() below just cancels its retry timer.
  const ended = live.map((c) => new Promise<void>((resolve) => c.once('end', () => resolve())));
  for (const c of live) c.quit().catch(() => undefined);
  // Keep room for the hard close below so the whole call stays within timeoutMs. The wait holds
  // the event loop (see `settleWithin` in @lota/shared) and its timer is cleared as soon as every client ended.
  await settleWithin(Promise.all(ended), timeoutMs - HARD_CLOSE_WAIT_MS);
  const open = clients.filter((c) => c.status !== 'end');
  for (const c of open) c.disconnect();
  // A reconnecting client does not end on disconnect(): end it, and reject every command still
  // pending, as ioredis does when a client ends, including those its own flushQueue() misses
  // (kept for resend after a reconnect; see pending-commands.ts). Otherwise a worker's BZPOPMIN
  // or a producer's add would stay pending forever, and a command with a commandTimeout would
  // keep the process alive after this call resolved.
  let rejected = 0;
  let strays = 0;
  for (const c of clients) {
    rejected += finishDisconnect(c, connectionClosedError());
    // A Cluster's node clients its pool lost track of: Cluster#disconnect() does not reach them.
    strays += closeStrayNodes(c);
  }
  if (rejected > 0 || strays > 0) logger.debug({ target, rejected, strays }, 'redis disconnect rejected pending commands');
  // ioredis destroys a socket that did not close HARD_CLOSE_MS after disconnect(); wait for that
  // timer so no handle of ours outlives this call.
  if (open.length > 0 || strays > 0) await sleep(HARD_CLOSE_WAIT_MS);
}
