import { randomUUID } from 'node:crypto';
import { testkitCapabilities } from '@lota/redis-testkit';
import { forEachTopology as forEachRedisTopology, recordingLogger, type RecordingLogger, type Topology } from '@lota/redis-testkit/vitest';
import { createQueues, type CreateQueuesOptions, type LotaQueues } from '../src/index.js';

export const caps = await testkitCapabilities();

export interface TopologyContext extends Topology {
  /** A fresh LotaQueues on its own prefix (so tests never see each other's jobs), closed after the test. */
  queues(opts?: Partial<CreateQueuesOptions>): LotaQueues & { logs: RecordingLogger; prefixUsed: string };
}

/**
 * Runs `suite` against a single server and against a 3-master Redis Cluster, like
 * node-redlock's single/multi suites, on one BullMQ-ready client (maxRetriesPerRequest: null).
 */
export function forEachTopology(title: string, suite: (ctx: TopologyContext) => void): void {
  forEachRedisTopology(
    title,
    {
      cluster: caps.topologies,
      redisOptions: { maxRetriesPerRequest: null },
      extend: (t) => ({
        queues(opts: Partial<CreateQueuesOptions> = {}): LotaQueues & { logs: RecordingLogger; prefixUsed: string } {
          const logger = recordingLogger();
          const prefixUsed = `t${randomUUID().slice(0, 8)}`;
          const q = createQueues({ connection: t.client, prefix: prefixUsed, logger, ...opts });
          t.afterTest(() => q.close({ timeoutMs: 2_000 }));
          return Object.assign(q, { logs: logger, prefixUsed });
        },
      }),
    },
    suite,
  );
}

/** Tracks how many calls of `fn` run at once. */
export function concurrencyProbe(): { enter(): void; exit(): void; max: number; current: number } {
  const probe = {
    current: 0,
    max: 0,
    enter() {
      probe.current++;
      probe.max = Math.max(probe.max, probe.current);
    },
    exit() {
      probe.current--;
    },
  };
  return probe;
}
