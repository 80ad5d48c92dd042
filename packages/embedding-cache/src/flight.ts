/**
 * One provider call in progress (one chunk of one caller's misses), which other callers wanting
 * the same texts join instead of embedding them again (single-flight).
 *
 * A flight never hands its failure to the callers that joined it: `done` resolves `false` and
 * they re-issue their texts with their own provider (see `ProviderCalls`). Only the caller that
 * made the call sees its error: an abort, its credentials, its other texts are its own business.
 */
export class Flight {
  /** `true` once `vectors` holds a vector for every key of the call; `false` when the call failed or never ran. */
  readonly done: Promise<boolean>;
  /** The vectors of the call, by key; set just before `done` resolves `true`. */
  vectors: ReadonlyMap<string, Float32Array> | undefined;
  /** Set when the provider call is made; a flight abandoned before that fails at once. */
  started = false;
  private settled = false;
  private finish!: (ok: boolean) => void;

  constructor(readonly keys: readonly string[]) {
    this.done = new Promise<boolean>((resolve) => (this.finish = resolve));
  }

  get isSettled(): boolean {
    return this.settled;
  }

  succeed(vectors: ReadonlyMap<string, Float32Array>): void {
    if (this.settled) return;
    this.settled = true;
    this.vectors = vectors;
    this.finish(true);
  }

  fail(): void {
    if (this.settled) return;
    this.settled = true;
    this.finish(false);
  }
}
