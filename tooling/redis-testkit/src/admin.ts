import { Redis } from 'ioredis';

/**
 * Runs admin commands against one node over a short-lived connection that never retries:
 * topology set-up wants a fast, honest failure, not ioredis' reconnection.
 */
export async function withAdmin<T>(
  target: { host: string; port: number; password?: string | undefined },
  fn: (client: Redis) => Promise<T>,
): Promise<T> {
  const client = new Redis({
    host: target.host,
    port: target.port,
    password: target.password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** Parses `INFO` text into a flat map. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * Names of the clients in a `CLIENT LIST` reply ('' for an unnamed one), without the connection
 * that asked (its command is `client|list`, or `client` before Redis 7).
 */
export function clientNames(clientList: string): string[] {
  return clientList
    .trim()
    .split('\n')
    .filter((l) => !/ cmd=client\|list /.test(l) && !/ cmd=client /.test(l))
    .map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '');
}
