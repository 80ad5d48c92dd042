/**
 * Marks every error made by a `@lota/*` package. A global symbol, because each published
 * package bundles its own copy of these classes (and ships an ESM and a CJS build): the
 * brand, not the class object, is what makes two copies the same class.
 */
const BRAND = Symbol.for('lota.error');

const plainInstanceOf = Function.prototype[Symbol.hasInstance] as (this: unknown, value: unknown) => boolean;

/**
 * Base of every error the `@lota/*` packages throw: an `Error` with a literal `name`, a stable
 * string `code` to branch on, and the underlying error as `cause` when there is one.
 *
 * `instanceof` holds across copies: `err instanceof LotaError` is true for an error of any
 * `@lota/*` package, and `err instanceof RedisUnreachableError` is true for a
 * `REDIS_UNREACHABLE` whichever package threw it, imported from whichever package, in ESM or
 * CJS. One code has one class, so a subclass is recognised by its `code` (each declares it as
 * `static readonly code`).
 */
export class LotaError<Code extends string = string> extends Error {
  override readonly name: string = 'LotaError';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (plainInstanceOf.call(this, value)) return true;
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[BRAND] !== true) return false;
    // A class of one code (a static `code` on it or on a base below LotaError) matches that code;
    // one without (a host's own subclass of LotaError) matches only its own instances.
    const code = codeOf(this);
    return code === undefined ? this === LotaError : (value as { code?: unknown }).code === code;
  }
}

Object.defineProperty(LotaError.prototype, BRAND, { value: true });

/** The static `code` of `cls` or of the nearest base below {@link LotaError} that has one. */
function codeOf(cls: unknown): unknown {
  for (let c = cls; c !== LotaError && typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    if (Object.hasOwn(c, 'code')) return (c as { code?: unknown }).code;
  }
  return undefined;
}

/** What {@link errorClass} returns: a constructor of `LotaError<Code>` named `Name`, with its static `code`. */
export interface CodeErrorClass<Code extends string, Name extends string> {
  new (message: string, options?: { cause?: unknown }): LotaError<Code> & { readonly name: Name };
  readonly code: Code;
}

/**
 * The base of the class of one code: its literal `name`, its `code` (on instances, and static,
 * which is how `instanceof` recognises copies), and a `(message, options)` constructor.
 * `class LockLostError extends errorClass('LOCK_LOST', 'LockLostError') { ... }`. The return
 * type is spelled out so that the published `.d.ts` says the class is a `LotaError` (an
 * inferred class expression would be flattened into a structural type there).
 */
export function errorClass<const Code extends string, const Name extends string>(code: Code, name: Name): CodeErrorClass<Code, Name> {
  return class extends LotaError<Code> {
    override readonly name: Name = name;
    static readonly code: Code = code;
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
    }
  };
}
