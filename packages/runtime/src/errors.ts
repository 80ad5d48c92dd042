/** Stable codes of the errors `@lota/runtime` itself throws (the composed packages throw their own). */
export type RuntimeErrorCode = 'CONFIG_INVALID' | 'NOT_CONNECTED' | 'NOT_CONFIGURED';

/** Base of the runtime's own errors: a literal `name`, a stable `code`, `cause` when there is one. */
export class LotaError extends Error {
  override readonly name: string = 'LotaError';
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The runtime config is invalid; `issues` lists every problem by dot path. */
export class RuntimeConfigError extends LotaError {
  override readonly name = 'RuntimeConfigError';
  declare readonly code: 'CONFIG_INVALID';
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(issues: ReadonlyArray<{ path: string; message: string }>) {
    super('CONFIG_INVALID', `@lota/runtime: invalid config:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/** A part of the runtime was used before `connect()` resolved, or after `disconnect()`. */
export class RuntimeNotConnectedError extends LotaError {
  override readonly name = 'RuntimeNotConnectedError';
  declare readonly code: 'NOT_CONNECTED';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_CONNECTED', message, options);
  }
}

/** `runtime.embeddings` was used without `aiGateway.embeddingProvider`. */
export class NotConfiguredError extends LotaError {
  override readonly name = 'NotConfiguredError';
  declare readonly code: 'NOT_CONFIGURED';
  constructor(message: string) {
    super('NOT_CONFIGURED', message);
  }
}
