import type { RedisServer } from '@lota/redis-testkit';

/** One measured quantity: ours next to its anchor (the raw library it wraps), same server, same run. */
export interface Row {
  suite: string;
  case: string;
  metric: string;
  /** e.g. 'jobs/s', 'µs', 'connections'. */
  unit: string;
  /** Ours. */
  value: number;
  /** What ours is compared with, e.g. 'BullMQ Queue.add'. */
  anchorName: string;
  anchorValue: number;
  /** value / anchorValue; read it together with `better`. */
  ratio: number;
  /** Which direction is good for this metric. */
  better: 'higher' | 'lower';
  /** A target in words, e.g. 'overhead <= 10%'. Reported, never asserted. */
  goal?: string;
  /** Whether the goal was met on this run. */
  ok?: boolean;
}

/** What every suite gets from `main.ts`. */
export interface BenchContext {
  /** Progress line on stderr (the table goes to stdout). */
  log(message: string): void;
  /** Records the version of a server the suite measured on, for the results header. */
  noteServer(server: RedisServer): Promise<void>;
}

/** What a suite may return instead of bare rows: rows plus markdown printed after the main table. */
export interface SuiteResult {
  rows: Row[];
  /** E.g. a table of every peer's numbers, when one anchor per row is not enough. */
  extraMarkdown?: string;
}

/** A suite: `src/<name>/suite.ts` exporting `run`. */
export type SuiteRun = (ctx: BenchContext) => Promise<Row[] | SuiteResult>;
