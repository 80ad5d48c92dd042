import type { History } from '../history.js';
import type { Violation } from './violation.js';

/** Every vector the cache returned was the one its text, model and size should get. */
export function checkVectors(history: History): Violation[] {
  return history
    .of('vector')
    .filter((v) => !v.ok)
    .map((v) => ({ check: 'vectors', message: `${v.proc} got a wrong vector at ${v.t} µs${v.detail ? `: ${v.detail}` : ''}` }));
}
