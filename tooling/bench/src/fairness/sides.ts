/**
 * The sides of the fairness suite: how jobs are enqueued (in the suite's process) and how a
 * worker process runs them (in each worker child). Today there is one side, `fifo`: plain
 * @lota/queues on BullMQ's FIFO queues, as every host runs them now. Per-org fair scheduling
 * (issue 13) becomes a second entry in SIDES; the suite measures every side on the same
 * workload, in the same run, and the workers' processor (the model call, the org lock, the meter)
 * stays the same for all of them.
 */
import { createQueues, type JobPayload, type Logger, type LotaQueues, type Processor } from '@lota/queues';
import type { Redis } from 'ioredis';
import { QUEUE, type WorkloadJobData } from './workload.js';

/** Both @lota/queues instances (enqueue and workers) use this prefix, the SDK's default. */
const PREFIX = 'lota';
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The suite process's end of a side: adds the workload's jobs. */
export interface Producer {
  /** One job, as a host adds it (awaited; several may be in flight). */
  add(data: WorkloadJobData): Promise<void>;
  close(): Promise<void>;
}

/** A worker process's end of a side: runs the workload's processor on `memory-extraction`. */
export interface WorkerHandle {
  /** Resolves once the worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Called once per job completed (moved to completed in Redis), with the job's data. */
  onCompleted(listener: (data: WorkloadJobData) => void): void;
  /** Called per failed attempt (the job is retried with backoff, as the queue's policy says). */
  onFailed(listener: (message: string) => void): void;
  /** Stops taking jobs, lets active ones finish, closes what the side opened (never `connection`). */
  close(): Promise<void>;
}

export interface Side {
  /** Row names are `<name>, no burst` and `<name>, burst`. */
  name: string;
  /** In words, for the details table. */
  description: string;
  /** In the suite's process, on its shared client. */
  openProducer(connection: Redis): Producer;
  /** In a worker process, on that process's BullMQ client (`maxRetriesPerRequest: null`). */
  startWorker(connection: Redis, processor: Processor<JobPayload>, concurrency: number): WorkerHandle;
}

function queuesOn(connection: Redis): LotaQueues {
  return createQueues({ connection, prefix: PREFIX, logger: silent });
}

/** Today: `enqueueMemoryExtraction` onto the FIFO queue, `registerWorker` at a fixed concurrency. */
const fifo: Side = {
  name: 'fifo',
  description: '@lota/queues as today: `enqueueMemoryExtraction` (FIFO BullMQ queue), `registerWorker({ concurrency })`',
  openProducer(connection) {
    const queues = queuesOn(connection);
    return {
      async add(data) {
        const result = await queues.enqueueMemoryExtraction(data);
        if (result.status !== 'added') throw new Error(`fifo: job ${data.turnId} was not added (${result.status})`);
      },
      close: () => queues.close({ timeoutMs: 5_000 }),
    };
  },
  startWorker(connection, processor, concurrency) {
    const queues = queuesOn(connection);
    const { worker } = queues.registerWorker({ queue: QUEUE, concurrency, processor });
    return {
      ready: async () => {
        await worker.waitUntilReady();
      },
      onCompleted(listener) {
        worker.on('completed', (job) => listener(job.data as WorkloadJobData));
      },
      onFailed(listener) {
        worker.on('failed', (_job, err) => listener(err.message));
      },
      close: () => queues.close({ timeoutMs: 10_000 }),
    };
  },
};

/** Every side the suite measures, the anchor (`fifo`) first. */
export const SIDES: readonly Side[] = [fifo];

export function sideByName(name: string): Side {
  const side = SIDES.find((s) => s.name === name);
  if (!side) throw new Error(`unknown fairness side '${name}'`);
  return side;
}
