/**
 * A seeded PRNG (mulberry32) with the few draws a fault schedule needs. The same seed gives the
 * same schedule: a failing run prints its seed and replays with it.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Whole number in [min, max]. */
  int(min: number, max: number): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  /** An element chosen with the given weights (same length as `list`, not all zero). */
  weighted<T>(list: readonly T[], weights: readonly number[]): T;
  /** A new independent generator derived from this one (for a sub-sequence that must not shift the rest). */
  fork(): Rng;
}

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const rng: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (min, max) => min + next() * (max - min),
    chance: (p) => next() < p,
    pick: <T>(list: readonly T[]): T => {
      if (list.length === 0) throw new RangeError('pick() from an empty list');
      return list[Math.floor(next() * list.length)] as T;
    },
    weighted: <T>(list: readonly T[], weights: readonly number[]): T => {
      const total = weights.reduce((s, w) => s + w, 0);
      if (list.length === 0 || list.length !== weights.length || !(total > 0)) throw new RangeError('weighted() needs one positive weight per element');
      let r = next() * total;
      for (let i = 0; i < list.length; i++) {
        r -= weights[i] ?? 0;
        if (r < 0) return list[i] as T;
      }
      return list[list.length - 1] as T;
    },
    fork: () => createRng(Math.floor(next() * 4_294_967_296)),
  };
  return rng;
}
