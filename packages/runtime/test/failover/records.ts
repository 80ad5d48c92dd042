/**
 * What the failover drill records, and the few things every role shares: the drill clock, the
 * drill's context (one history, one recording logger per runtime) and the runtime a role runs.
 * Drill times (`at`, `start`, `killAt`...) are milliseconds of the @lota/fault-harness clock,
 * whose microseconds stamp the history.
 */
import { nowUs, type Ack, type History } from '@lota/fault-harness';
import { recordingLogger, type RecordingLogger } from '@lota/redis-testkit/vitest';
import { createLotaRuntime, type LotaRuntime, type LotaRuntimeConfig, type RedisConfig } from '../../src/index.js';

/** The drill's clock: milliseconds of the harness clock. */
export const now = (): number => nowUs() / 1000;

/** The producer's enqueue bound; an enqueue that takes 2 s more than this is a hang. */
export const ENQUEUE_TIMEOUT_MS = 2_000;
/** In the error of a refused fenced write (the analysis counts them by it). */
export const REFUSED = 'the fenced store refused';

/** What the drill needs from a topology. */
export interface FailoverTarget {
  redis: RedisConfig;
  /** The orgs producers enqueue for (on a cluster: some whose lock keys live on the master that dies). */
  orgs: string[];
  /** Orgs whose lock (and fenced store) keys live on the master that is killed. */
  orgsOnKilledMaster: string[];
  /** SIGKILLs that master. */
  kill(): Promise<void>;
  /** Resolves with the new master's port once the topology itself has failed over. */
  waitForFailover(): Promise<number>;
}

export interface EnqueueRecord {
  orgId: string;
  turnId: string;
  start: number;
  end: number;
  jobId?: string;
  status?: string;
  /** A durable enqueue (`waitForReplicas: 1`), or a plain one. */
  durable: boolean;
  /**
   * Why this acknowledgement must survive the kill: `replicated` (a durable enqueue: its WAIT
   * confirmed a replica has it), `after-kill` (sent once the old master was gone, so the master
   * that acknowledged it is not the one that died), or `none` (a plain enqueue, or a durable one
   * refused with ENQUEUE_NOT_REPLICATED, acknowledged by the old master: Redis replication is
   * asynchronous, so it may be lost; the analysis leaves these out of the binding check).
   */
  protection?: 'replicated' | 'after-kill' | 'none';
  /** The acknowledgement as recorded in the history (also for ENQUEUE_NOT_REPLICATED: the job is on the master that answered). */
  ack?: Ack;
  code?: string;
  message?: string;
}

export interface EmbedRecord {
  start: number;
  end: number;
  texts: number;
  correct: boolean;
  error?: string;
}

export interface DrillResult {
  /** What every role did, and the kill (see drill.ts). */
  history: History;
  /** The fenced store's log of accepted tokens per scope. */
  storeLog: Map<string, number[]>;
  killAt: number;
  /** When the killed process had exited. */
  killedAt: number;
  failoverAt: number | undefined;
  newMasterPort: number | undefined;
  /** Date.now() at the kill (BullMQ's processedOn is wall-clock). */
  killWallMs: number;
  enqueues: EnqueueRecord[];
  /** `completed` events (BullMQ has recorded the completion in Redis). */
  completed: Map<string, number>;
  failedAttempts: Array<{ jobId: string; at: number; error: string; final: boolean }>;
  embeds: EmbedRecord[];
  /** Sections in progress and jobs active when the kill was sent. */
  heldAtKill: number;
  heldOnKilledMasterAtKill: number;
  activeAtKill: number;
  leftover: Record<string, number>;
  /** Redis state, at the end, of acknowledged jobs without a `completed` event. */
  finalStates: Map<string, string>;
  /** Jobs left in 'active' with no processor running them (stranded), with BullMQ's processedOn (epoch ms). */
  stranded: Array<{ jobId: string; processedOn: number | undefined; attemptsMade: number; lockPttl: number }>;
  /** Orphan-grant leaves seen (see observer.ts). */
  orphanGrantLeaves: Array<{ at: number; tag: string }>;
  /** Messages of the workers' `error` events (BullMQ could not record a completion or failure). */
  workerErrors: Array<{ at: number; message: string }>;
  lateReader: { correct: boolean; hits: number; memoryHits: number; misses: number; errors: number };
  health: string[];
  /** For each runtime not 'ready' at the end: its clients, workers and queue counts (why it is not). */
  healthDetail: string[];
  statsAfter: Array<{ hits: number; misses: number; errors: number; memoryHits: number }>;
  logs: RecordingLogger[];
  durationMs: number;
}

/** A known package bug made this drill unable to check anything further (see failover.test.ts). */
export class KnownBugError extends Error {
  override readonly name = 'KnownBugError';
}

/** What every role of one drill shares. */
export interface DrillContext {
  /** Every role's events and the kill, as one @lota/fault-harness history. */
  readonly history: History;
  /** One recording logger per runtime, in creation order (a failed drill prints their tails). */
  readonly logs: RecordingLogger[];
  /** Every runtime the drill created, for the caller's afterEach to disconnect. */
  readonly runtimes: LotaRuntime[];
  /** The target's Redis config with the drill's health-check and command bounds. */
  readonly redis: RedisConfig;
  /** When the kill was sent, and when the killed process had exited (+∞ before). */
  killAt: number;
  killedAt: number;
}

/**
 * Creates (not connects) the runtime of one role, as its own process would have it: its own
 * connection manager, lock and cache, a client name and a recording logger of its own.
 */
export async function roleRuntime(ctx: DrillContext, name: string, config: Omit<LotaRuntimeConfig, 'redis' | 'logger'>): Promise<LotaRuntime> {
  const logger = recordingLogger(now);
  ctx.logs.push(logger);
  const runtime = await createLotaRuntime({ redis: { ...ctx.redis, connectionName: `lota-${name}` }, logger, ...config });
  ctx.runtimes.push(runtime);
  return runtime;
}

/** An error's `code`, or `untyped:<name>` (the analysis requires typed producer errors). */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : `untyped:${(err as Error).name}`;
}

export const describeError = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
