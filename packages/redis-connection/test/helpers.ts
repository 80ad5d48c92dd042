import type { Logger } from '../src/index.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that records every line, so tests can assert on warnings (and on what they must not contain). */
export function recordingLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
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

/** Names of the clients connected to a server, from CLIENT LIST (excluding the asking connection). */
export function clientNames(list: string): string[] {
  return list
    .trim()
    .split('\n')
    .filter((l) => !/ cmd=client\|list /.test(l) && !/ cmd=client /.test(l))
    .map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '');
}
