/**
 * Contention: K contenders on one scope, each wanting SECTIONS sections, in this process or split
 * over two child processes started together on a wall-clock barrier; each run is capped at
 * CAP_MS. One run per config and scenario. What a run measured, summed over its processes.
 */
import type { ContendResult } from './contend.js';
import { percentile } from '../stats.js';

export const CONTENDERS = [2, 10, 50] as const;
export const PROCESSES = [1, 2] as const;
/** Sections each contender wants. */
export const SECTIONS = 500;
export const HOLD_MS = 1;
/** Wall-clock budget of one contention run; 6 scenarios x 9 configs stay under ~4 minutes. */
export const CAP_MS = 3_000;
/** After the cap, how long contenders still inside an acquisition get to come back. */
export const DRAIN_MS = 10_000;
/** Between the barrier message and the common start. */
export const START_DELAY_MS = 150;

export interface Scenario {
  contenders: number;
  processes: number;
}

export const scenarioName = (s: Scenario): string => `${s.contenders} contenders, ${s.processes === 1 ? '1 process' : `${s.processes} processes`}`;

export interface ContentionStats {
  sections: number;
  elapsedMs: number;
  perSec: number;
  waitP50ms: number;
  waitP99ms: number;
  waitMaxMs: number;
  minDone: number;
  maxDone: number;
  /** max/min sections per contender; Infinity when one got none. */
  fairness: number;
  clientCmdsPerSection: number;
  serverCmdsPerSection: number;
  failures: number;
  releaseErrors: number;
  /** Sections that started before the previous one (by wall clock, across processes) ended. */
  overlaps: number;
  /** Gaps between one section's end and the next one's start (µs; negative = overlap): the hand-off time. */
  gapP50us: number;
  minGapUs: number;
  undrained: number;
  errorSamples: string[];
}

export function summarize(results: readonly ContendResult[], startAt: number, serverCmds: number): ContentionStats {
  const completed = results.flatMap((r) => r.completed);
  const sections = completed.reduce((a, b) => a + b, 0);
  const closedAt = Math.max(...results.map((r) => r.closedAt));
  const elapsedMs = closedAt - startAt;
  const waits = results.flatMap((r) => r.waitsMs);
  const minDone = Math.min(...completed);
  const maxDone = Math.max(...completed);
  const intervals = results.flatMap((r) => r.intervals).sort((a, b) => a[0] - b[0]);
  let overlaps = 0;
  const gapsUs: number[] = [];
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const [start, end] of intervals) {
    if (lastEnd !== Number.NEGATIVE_INFINITY) {
      gapsUs.push((start - lastEnd) * 1e3);
      if (start < lastEnd) overlaps++;
    }
    lastEnd = Math.max(lastEnd, end);
  }
  const clientCmds = results.reduce((a, r) => a + (r.commandsAtClose - r.commandsAtStart), 0);
  return {
    sections,
    elapsedMs,
    perSec: sections / (elapsedMs / 1000),
    waitP50ms: percentile(waits, 50),
    waitP99ms: percentile(waits, 99),
    waitMaxMs: waits.length === 0 ? Number.NaN : waits.reduce((a, b) => Math.max(a, b), 0),
    minDone,
    maxDone,
    fairness: minDone === 0 ? (maxDone === 0 ? Number.NaN : Number.POSITIVE_INFINITY) : maxDone / minDone,
    clientCmdsPerSection: clientCmds / sections,
    serverCmdsPerSection: serverCmds / sections,
    failures: results.reduce((a, r) => a + r.failures, 0),
    releaseErrors: results.reduce((a, r) => a + r.releaseErrors, 0),
    overlaps: Math.max(overlaps, results.reduce((a, r) => a + r.overlapsInProcess, 0)),
    gapP50us: percentile(gapsUs, 50),
    minGapUs: gapsUs.length === 0 ? Number.NaN : gapsUs.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
    undrained: results.reduce((a, r) => a + r.undrained, 0),
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))],
  };
}
