import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable on PATH (or the explicit override), or `undefined`. */
export function findExecutable(name: string, override?: string): string | undefined {
  if (override) return isExecutable(override) ? override : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/sbin', '/opt/homebrew/bin']) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The `redis-server` binary tests run: `REDIS_SERVER_BIN`, else the one on PATH. */
export function findRedisServer(): string | undefined {
  return findExecutable('redis-server', process.env.REDIS_SERVER_BIN);
}
