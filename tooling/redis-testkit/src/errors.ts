/** Raised when no way to run a Redis server for tests is available on this machine. */
export class TestkitUnavailableError extends Error {
  override readonly name = 'TestkitUnavailableError';
  readonly code = 'TESTKIT_UNAVAILABLE' as const;
}

/** Raised when a test asks a server for something its backend cannot do (kill an external server). */
export class TestkitCapabilityError extends Error {
  override readonly name = 'TestkitCapabilityError';
  readonly code = 'TESTKIT_CAPABILITY' as const;
}

/** Raised when a server does not start, or a topology does not converge, in time. */
export class TestkitStartError extends Error {
  override readonly name = 'TestkitStartError';
  readonly code = 'TESTKIT_START' as const;
}
