/**
 * The drill's producer: one loop per org enqueuing memory extractions, turn after turn, even
 * turns durable (the queue policy's `waitForReplicas: 1`: acknowledged only once WAIT confirmed a
 * replica has the job) and odd turns plain (`waitForReplicas: 0` per call), so both kinds run
 * under the same load and can be compared, and the durable ones are checked strictly: none
 * acknowledged may be lost. Every acknowledgement goes into the history.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowUs, type Ack } from '@lota/fault-harness';
import type { LotaRuntime } from '../../src/index.js';
import { localProvider } from '../helpers.js';
import { ENQUEUE_TIMEOUT_MS, errorCode, now, roleRuntime, type DrillContext, type EnqueueRecord } from './records.js';

/** The durable enqueue's WAIT timeout: a healthy replica answers in milliseconds. */
const WAIT_FOR_REPLICAS_TIMEOUT_MS = 250;
/** Pause between two enqueues of one org (a rate, not a wait for a condition). */
const PACING_MS = 30;

export interface Producer {
  readonly runtime: LotaRuntime;
  /** Every enqueue call, in the order they settled. */
  readonly enqueues: EnqueueRecord[];
  /** Starts one loop per org. */
  start(orgs: readonly string[]): void;
  /** Ends the loops after their current enqueue. */
  stop(): Promise<void>;
}

/** Creates and connects the producer's runtime; `start()` begins enqueuing. */
export async function startProducer(ctx: DrillContext): Promise<Producer> {
  const runtime = await roleRuntime(ctx, 'producer', {
    aiGateway: { embeddingProvider: localProvider() },
    queues: {
      enqueueTimeoutMs: ENQUEUE_TIMEOUT_MS,
      policies: { 'memory-extraction': { waitForReplicas: 1, waitForReplicasTimeoutMs: WAIT_FOR_REPLICAS_TIMEOUT_MS } },
    },
  });
  await runtime.connect();
  const enqueues: EnqueueRecord[] = [];
  let producing = true;
  let loops: Array<Promise<void>> = [];

  const acknowledged = (jobId: string, status: string): Ack => {
    const ack: Ack = { k: 'ack', proc: 'producer', queue: 'memory-extraction', jobId, status, t: nowUs() };
    ctx.history.add(ack);
    return ack;
  };

  // A turn is retried (same dedupe key) until acknowledged, except after ENQUEUE_NOT_REPLICATED:
  // the job is on the master (the error says so, and the analysis checks it), and on a Cluster
  // shard whose only replica was promoted no WAIT can succeed again, so the loop moves on.
  const loop = async (orgId: string): Promise<void> => {
    let turn = 0;
    while (producing) {
      const turnId = `t${turn}`;
      const durable = turn % 2 === 0;
      const rec: EnqueueRecord = { orgId, turnId, start: now(), end: 0, durable };
      const data = { orgId, workstreamId: 'ws', turnId, text: `turn ${turnId} of ${orgId}` };
      try {
        const r = durable
          ? await runtime.queues.enqueueMemoryExtraction(data)
          : await runtime.queues.enqueue('memory-extraction', data, { dedupeKey: [orgId, 'ws', turnId], waitForReplicas: 0 });
        rec.end = now();
        rec.jobId = r.jobId;
        rec.status = r.status;
        turn++;
        if (durable && !(typeof r.replicas === 'number' && r.replicas >= 1)) throw new Error(`durable enqueue resolved without a replica: ${JSON.stringify(r)}`);
        rec.protection = durable ? 'replicated' : rec.start > ctx.killedAt ? 'after-kill' : 'none';
        rec.ack = acknowledged(r.jobId, r.status);
      } catch (err) {
        rec.end ||= now();
        rec.code = errorCode(err);
        rec.message = (err as Error).message;
        if (rec.code === 'ENQUEUE_TIMEOUT' || rec.code === 'ENQUEUE_NOT_REPLICATED') rec.jobId = (err as { jobId?: string }).jobId;
        if (rec.code === 'ENQUEUE_NOT_REPLICATED') {
          turn++;
          // The master that answered has the job (the error says so): binding once a surviving master said it.
          if (rec.jobId) {
            rec.protection = rec.start > ctx.killedAt ? 'after-kill' : 'none';
            rec.ack = acknowledged(rec.jobId, 'not-replicated');
          }
        }
      }
      enqueues.push(rec);
      await sleep(PACING_MS);
    }
  };

  return {
    runtime,
    enqueues,
    start(orgs) {
      loops = orgs.map((o) => loop(o));
    },
    async stop() {
      producing = false;
      await Promise.all(loops);
    },
  };
}
