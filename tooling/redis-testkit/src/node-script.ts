import { spawn } from 'node:child_process';

/** A Node ES-module script run in a child process, driven over stdin/stdout by a test. */
export interface NodeScript {
  /** Everything the script wrote to stdout so far. */
  output(): string;
  /** Writes one line to the script's stdin. */
  send(line: string): void;
  /** Its exit code, or 'still running' (then it is SIGKILLed) if it does not exit within `ms`. */
  exitWithin(ms: number): Promise<number | null | 'still running'>;
}

/**
 * Runs `source` (an ES module, `process.argv[1..]` = `args`) in a child Node process; stderr is
 * inherited. For tests that must show a process can end by itself (no handle left open).
 */
export function runNodeScript(source: string, args: string[] = []): NodeScript {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => out,
    send: (line) => void child.stdin.write(`${line}\n`),
    async exitWithin(ms) {
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), ms)))]);
      clearTimeout(timer);
      if (code === 'still running') child.kill('SIGKILL');
      return code;
    },
  };
}
