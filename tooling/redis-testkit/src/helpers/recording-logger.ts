/** One line a {@link recordingLogger} kept. */
export interface LogLine {
  /** When it was logged, by the logger's clock. */
  at: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** A logger of the `(fields, message)` shape every Lota package takes, keeping every line. */
export interface RecordingLogger {
  readonly lines: LogLine[];
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /** Every line as `level message {fields}`, one per line: for asserting on what a log must (not) contain. */
  text(): string;
}

/**
 * A logger that keeps every line, so tests can assert on warnings (and on what they must not
 * contain). `clock` stamps each line (`performance.now()` unless a drill passes its own).
 */
export function recordingLogger(clock: () => number = () => performance.now()): RecordingLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ at: clock(), level, message, fields });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields)}`).join('\n'),
  };
}
