/**
 * Commands whose arguments are credentials. ioredis attaches `command: { name, args }` to a
 * reply error, so a failed `AUTH user password` carries the password, and any logger that
 * serialises the error (pino's `err`, `util.inspect`, an error tracker) would print it.
 */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello', 'migrate']);

/** Error properties ioredis and Node use to chain errors (Cluster: `lastNodeError`). */
const NESTED = ['cause', 'lastNodeError', 'previousError'] as const;

/**
 * Removes credentials from an error that reached the manager, in place, so every later
 * listener (BullMQ, the host's) and every `cause` chain sees the scrubbed error: credential
 * command arguments become `***`, and `redact` runs over the message, stack and string
 * arguments. Follows `cause`, `lastNodeError` and `AggregateError.errors`. Returns `err`.
 */
export function scrubError<E>(err: E, redact: (text: string) => string, seen = new WeakSet<object>()): E {
  if (typeof err !== 'object' || err === null || seen.has(err)) return err;
  seen.add(err);
  const e = err as Record<string, unknown> & { message?: unknown; stack?: unknown };
  try {
    if (typeof e.message === 'string') {
      const message = redact(e.message);
      if (message !== e.message) e.message = message;
    }
    if (typeof e.stack === 'string') {
      const stack = redact(e.stack);
      if (stack !== e.stack) e.stack = stack;
    }
    const command = e.command as { name?: unknown; args?: unknown } | undefined;
    if (command && typeof command === 'object' && Array.isArray(command.args)) {
      const name = typeof command.name === 'string' ? command.name.toLowerCase() : '';
      command.args = CREDENTIAL_COMMANDS.has(name)
        ? command.args.map(() => '***')
        : command.args.map((a: unknown) => (typeof a === 'string' ? redact(a) : a));
    }
  } catch {
    // A frozen or exotic error: nothing we can change; the manager's own messages are redacted anyway.
  }
  for (const key of NESTED) scrubError(e[key], redact, seen);
  if (Array.isArray(e.errors)) for (const inner of e.errors) scrubError(inner, redact, seen);
  return err;
}
