/**
 * One round trip of durable adds (see replicated-enqueue.ts for the whole design).
 *
 * The wire: one pipeline per batch, `[MULTI, adds…, EXEC]` per call, then one `WAIT`, written in
 * one go on one connection. The WAIT thus runs on the very connection that carried the adds,
 * right behind them, with no extra round trip. On a Cluster, ioredis sends a pipeline to the node
 * that serves its keys' slot; WAIT has no keys, so it goes to that node too. (A WAIT sent to any
 * other connection would answer for that connection's own writes, not ours.)
 */
import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { defineLatestWins } from './bullmq-keys.js';
import { queueAdds, readAdds, type AddRequest, type CommandReply, type EnqueueResult, type TransactionPlan } from './enqueue-transaction.js';
import { RedisUnreachableError } from './errors.js';

/** A refusal that means "not applied here, send it again" (after MOVED, a slot-map refresh first). */
const REDIRECTION = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/** The ioredis Pipeline under BullMQ's IRedisTransaction, with the commands used here beyond it. */
interface InlinePipeline {
  readonly length: number;
  multi(): unknown;
  /** After `multi()` inside a pipeline, queues EXEC (ioredis' inline transactions); otherwise sends. */
  exec(): unknown;
  wait(numreplicas: number, timeout: number): unknown;
}

/** How one call's replies came back. */
export type Part = { kind: 'ok'; results: EnqueueResult[] } | { kind: 'error'; error: unknown } | { kind: 'redirected'; error: Error };

/**
 * One round trip on `connection` through its BullMQ queue `bull`: every call's transaction, then
 * the WAIT; replies sorted out per call.
 */
export async function exchange(
  bull: Queue,
  connection: Redis | Cluster,
  queue: string,
  calls: ReadonlyArray<readonly AddRequest[]>,
  replicas: number,
  waitTimeoutMs: number,
): Promise<{ parts: Part[]; wait: CommandReply }> {
  const client = await bull.getBackend().client;
  if (calls.some((requests) => requests.some((r) => r.latestWins))) defineLatestWins(client);
  const tx = client.pipeline();
  const pipeline = tx as unknown as InlinePipeline;
  const layout: Array<{ start: number; queued: number; plan: TransactionPlan }> = [];
  for (const requests of calls) {
    const start = pipeline.length;
    pipeline.multi();
    const plan = await queueAdds(tx, bull, queue, requests);
    const queued = pipeline.length - start - 1;
    pipeline.exec(); // closes this MULTI: queues EXEC, sends nothing
    layout.push({ start, queued, plan });
  }
  pipeline.wait(replicas, waitTimeoutMs);
  // Checked last, right before the write: producers fail fast rather than wait in ioredis' offline queue.
  if (connection.status !== 'ready') throw notReady(queue, connection.status);
  const replies = (await (pipeline.exec() as Promise<CommandReply[] | null>)) ?? [];
  const parts = layout.map(({ start, queued, plan }, i) => readPart(calls[i] ?? [], plan, replies.slice(start, start + queued + 2), queued));
  return { parts, wait: replies[replies.length - 1] ?? [new Error('@lota/queues: no reply to WAIT'), undefined] };
}

/** One call's replies: `[MULTI, queued…, EXEC]`. A refused command discards the transaction (nothing applied). */
function readPart(requests: readonly AddRequest[], plan: TransactionPlan, replies: readonly CommandReply[], queued: number): Part {
  const [multi, ...rest] = replies;
  if (!multi || multi[0]) return { kind: 'error', error: multi?.[0] ?? new Error('@lota/queues: no reply to MULTI') };
  const refused = rest.slice(0, queued).find(([err]) => err)?.[0];
  if (refused) return REDIRECTION.test(refused.message) ? { kind: 'redirected', error: refused } : { kind: 'error', error: refused };
  const exec = rest[queued];
  if (!exec || exec[0]) return { kind: 'error', error: exec?.[0] ?? new Error('@lota/queues: no reply to EXEC') };
  if (!Array.isArray(exec[1])) return { kind: 'error', error: new Error('@lota/queues: the enqueue transaction was aborted by Redis') };
  const inner = (exec[1] as unknown[]).map((v): CommandReply => (v instanceof Error ? [v, undefined] : [null, v]));
  try {
    return { kind: 'ok', results: readAdds(requests, plan, inner) };
  } catch (error) {
    return { kind: 'error', error };
  }
}

/** The durable connection is not ready: nothing was sent. */
export function notReady(queue: string, status: string): RedisUnreachableError {
  return new RedisUnreachableError(
    `@lota/queues: cannot enqueue to '${queue}' with waitForReplicas: its Redis connection is '${status}', not ready. Nothing was sent; retry when Redis is back (the connection reconnects by itself).`,
  );
}
