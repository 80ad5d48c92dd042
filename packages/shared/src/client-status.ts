/**
 * ioredis connection states in which a command cannot be answered soon: it would be queued
 * behind a reconnect (`reconnecting`, `close`) or refused (`end`, `disconnecting`). Bounded
 * calls fail fast on them instead of waiting out their timeout.
 */
const UNUSABLE: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end', 'disconnecting']);

/** `connection is <status>` when the client cannot take a command now, else `undefined`. */
export function unusableReason(client: { readonly status: string }): string | undefined {
  return UNUSABLE.has(client.status) ? `connection is ${client.status}` : undefined;
}
