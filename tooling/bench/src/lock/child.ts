/**
 * One side of the lock suite's 2-process contention cases, started by `children.ts` as
 * `node dist/lock-child.js '<json params>'`. Protocol, one JSON object per line:
 *
 *   child -> parent  {"type":"ready"}                      connected, locker created and warmed up
 *   parent -> child  {"type":"clock"}                      (any number of times) the child answers at once with
 *   child -> parent  {"type":"clock","t":..}               its wall clock, so the parent can line the clocks up
 *   parent -> child  {"type":"go","startAt":..,"deadline":..}   (stdin; wall-clock ms, both children get the same)
 *   child -> parent  {"type":"closed"}                     the window closed (all done or deadline)
 *   child -> parent  {"type":"result","result":{...}}      ContendResult, then the child exits
 *
 * Anything else it has to say goes to stderr.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { installCommandCounter } from './command-counter.js';
import { configById } from './configs.js';
import { contend, wallMs, warmUp } from './contend.js';

export interface ChildParams {
  url: string;
  configId: string;
  contenders: number;
  sections: number;
  holdMs: number;
  drainMs: number;
}

interface GoMessage {
  type: 'go';
  startAt: number;
  deadline: number;
}

const send = (message: object): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

function isGo(value: unknown): value is GoMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return m.type === 'go' && typeof m.startAt === 'number' && typeof m.deadline === 'number';
}

async function main(): Promise<void> {
  const params = JSON.parse(process.argv[2] ?? '{}') as ChildParams;
  installCommandCounter();
  const client = new Redis(params.url, { maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<GoMessage>((resolve, reject) => {
    lines.on('line', (line) => {
      const message: unknown = JSON.parse(line);
      if (isGo(message)) resolve(message);
      else if (typeof message === 'object' && message !== null && (message as Record<string, unknown>).type === 'clock') send({ type: 'clock', t: wallMs() });
    });
    lines.on('close', () => reject(new Error('stdin closed before "go"')));
  });
  go.catch(() => undefined);
  try {
    await client.ping();
    const locker = await configById(params.configId).create(client);
    try {
      await warmUp(locker);
      send({ type: 'ready' });
      const { startAt, deadline } = await go;
      lines.close();
      const result = await contend(locker, {
        contenders: params.contenders,
        sections: params.sections,
        holdMs: params.holdMs,
        startAt,
        deadline,
        drainMs: params.drainMs,
        onWindowClose: () => send({ type: 'closed' }),
      });
      send({ type: 'result', result });
    } finally {
      await locker.close();
    }
  } finally {
    lines.close();
    client.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[lock-child] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
