/**
 * Counts the commands this process's ioredis clients send to Redis, at the one place every
 * command passes: `Redis.prototype.sendCommand` (plain calls, EVALSHA of defined scripts and their
 * NOSCRIPT EVAL fallback, pipeline entries, SUBSCRIBE on a duplicated subscriber). Only commands
 * written while the connection is `ready` count: the connection handshake (ready-check INFO,
 * CLIENT SETNAME) is left out, and a command queued offline counts once, when it is replayed.
 *
 * Why not only `total_commands_processed`: on Redis 7 that counter also counts every
 * `redis.call()` a Lua script makes (EVALSHA of a script doing GET + DEL counts 3), so it
 * measures server work, not round trips. The suite reports both.
 */
import { Redis } from 'ioredis';

type SendCommand = Redis['sendCommand'];

let installed = false;
let sent = 0;
const excluded = new WeakSet<Redis>();

/** Idempotent; call before creating the clients to count. */
export function installCommandCounter(): void {
  if (installed) return;
  installed = true;
  // Wrapped, then always called with the instance as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function countedSendCommand(this: Redis, ...args: Parameters<SendCommand>): ReturnType<SendCommand> {
    if (this.status === 'ready' && !excluded.has(this)) sent++;
    return original.apply(this, args);
  };
}

/** Commands sent so far by every counted client of this process. */
export function commandsSent(): number {
  return sent;
}

/** Leaves a client (the admin connection reading INFO) out of the count. */
export function excludeFromCount(client: Redis): void {
  excluded.add(client);
}
