import { spawn } from 'node:child_process';

/** What one command did: enough to put in a failure message and to re-run it by hand. */
export interface RunResult {
  command: string;
  cwd: string;
  /** Exit code; `null` when killed (timeout) or when it could not start. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the command could not be started at all (ENOENT...). */
  spawnError?: string;
  ms: number;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; the result says so. @defaultValue 120_000 */
  timeoutMs?: number;
}

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Runs a command without a shell and never rejects: the outcome is in the result. */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const command = [cmd, ...args].map(quote).join(' ');
  const started = Date.now();
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (code: number | null, spawnError?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ command, cwd: opts.cwd, code, stdout, stderr, timedOut, ms: Date.now() - started, ...(spawnError ? { spawnError } : {}) });
    };
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => finish(null, err.message));
    child.on('close', (code) => finish(code));
  });
}

const tail = (text: string, max = 6_000): string => (text.length > max ? `[... ${text.length - max} characters cut ...]\n${text.slice(-max)}` : text);

/** A failure message with the command, where it ran, how it ended, and its output. */
export function describeRun(r: RunResult, what = 'command failed'): string {
  const how = r.spawnError
    ? `could not start: ${r.spawnError}`
    : r.timedOut
      ? `killed after ${r.ms} ms (timeout): it did not finish (a lingering handle keeps a Node process alive, or the registry is unreachable)`
      : `exit code ${String(r.code)} after ${r.ms} ms`;
  return [
    what,
    `  $ (cd ${r.cwd} && ${r.command})`,
    `  ${how}`,
    '--- stdout ---',
    tail(r.stdout.trim()) || '(empty)',
    '--- stderr ---',
    tail(r.stderr.trim()) || '(empty)',
    '---',
  ].join('\n');
}

/** True when the command ran and exited 0. */
export const ok = (r: RunResult): boolean => r.code === 0 && !r.timedOut && !r.spawnError;

/** npm settings a CI may legitimately pass through the environment (a mirror, a proxy, a CA). */
const KEEP_NPM_CONFIG = /^npm_config_(registry|proxy|https_proxy|http_proxy|noproxy|no_proxy|cafile|ca|strict_ssl|cache|userconfig)$/i;

/**
 * The environment of a plain consumer: no `npm_config_*`/`npm_package_*`/`npm_lifecycle_*`
 * variables that `pnpm run` (and turbo, and vitest) set for this workspace, which would
 * otherwise leak workspace settings into the scratch projects' `npm install`.
 */
export function consumerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^npm_/i.test(k) && !KEEP_NPM_CONFIG.test(k)) continue;
    if (/^(pnpm_|PNPM_|VITEST|TURBO_|__VITEST)/.test(k)) continue;
    if (['INIT_CWD', 'NODE_OPTIONS', 'NODE_ENV', 'NODE_PATH', 'TEST', 'COREPACK_ROOT'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...extra };
}
