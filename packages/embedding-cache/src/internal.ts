/**
 * `@lota/embedding-cache/internal`: the stored vector format, for the repo's own bench and
 * tests that read Redis values directly. Not part of the public API and not covered by semver:
 * the format is versioned by `KEY_VERSION` in the keys, and may change with it.
 */
export { decodeVector, encodeVector, HEADER_BYTES } from './vector-codec.js';
