import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * Sends one RESP `PING` over a fresh socket and reports what came back first:
 * `'ready'` (PONG, or an auth error, which also proves the server is serving),
 * `'loading'` (still replaying AOF/RDB), or `'down'` (refused, reset or silent).
 * A raw socket keeps the readiness probe independent of any client library.
 */
export function probeRedis(
  host: string,
  port: number,
  opts: { ca?: string; timeoutMs?: number } = {},
): Promise<'ready' | 'loading' | 'down'> {
  const { timeoutMs = 500 } = opts;
  return new Promise((resolve) => {
    let settled = false;
    // eslint-disable-next-line prefer-const -- assigned below, after `done` (which closes over it) exists
    let socket: Socket;
    const done = (state: 'ready' | 'loading' | 'down'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    const timer = setTimeout(() => done('down'), timeoutMs);
    const onConnect = (): void => {
      socket.write('*1\r\n$4\r\nPING\r\n');
    };
    socket = opts.ca
      ? tlsConnect({ host, port, ca: opts.ca, servername: 'localhost' }, onConnect)
      : netConnect({ host, port }, onConnect);
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (!reply.includes('\r\n')) return;
      if (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH') || reply.startsWith('-WRONGPASS')) done('ready');
      else if (reply.startsWith('-LOADING')) done('loading');
      else done('ready');
    });
    socket.on('error', () => done('down'));
    socket.on('close', () => done('down'));
  });
}
