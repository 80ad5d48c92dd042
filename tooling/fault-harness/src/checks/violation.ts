/** One broken guarantee found in a history. */
export interface Violation {
  /** The check that found it (e.g. 'lock-exclusion'). */
  check: string;
  /** What was broken, in one sentence with the ids and times involved. */
  message: string;
}
