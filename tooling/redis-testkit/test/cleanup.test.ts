import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { probeRedis, testkitCapabilities, waitFor } from '../src/index.js';

const caps = await testkitCapabilities();
const distEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a server in a child process, reads its pid/port/dir, then ends the child with `how`. */
async function serverOwnedByChild(how: 'exit' | 'throw' | 'SIGKILL'): Promise<{ pid: number; port: number; dir: string }> {
  const script = `
    import { startRedis } from ${JSON.stringify(distEntry)};
    const s = await startRedis({ backend: 'binary' });
    process.stdout.write(JSON.stringify({ pid: s.pid, port: s.port, dir: s.dir }) + '\\n');
    process.stdin.once('data', () => {
      if (${JSON.stringify(how)} === 'throw') throw new Error('test failed');
      process.exit(0);
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const info = JSON.parse(line) as { pid: number; port: number; dir: string };
  expect(pidAlive(info.pid)).toBe(true);
  if (how === 'SIGKILL') child.kill('SIGKILL');
  else child.stdin.write('go\n');
  await new Promise((r) => child.once('exit', r));
  return info;
}

describe.skipIf(caps.backend !== 'binary')('servers die with the test process', () => {
  for (const how of ['exit', 'throw', 'SIGKILL'] as const) {
    it(`after the owner ends by ${how}, its server and dir are gone`, async () => {
      const info = await serverOwnedByChild(how);
      await waitFor(() => !pidAlive(info.pid), { timeoutMs: 5_000, description: `redis pid ${info.pid} to be reaped` });
      expect(await probeRedis('127.0.0.1', info.port, { timeoutMs: 200 })).toBe('down');
      await waitFor(() => !existsSync(info.dir), { timeoutMs: 5_000, description: 'the temp dir to be removed' });
    });
  }
});
