/** A status line: rewritten in place on a terminal, printed at most every `everyMs` otherwise. */
export class Progress {
  private readonly tty = process.stdout.isTTY;
  private shown = false;
  private lastPrinted = 0;

  constructor(private readonly everyMs = 1_000) {}

  update(line: string): void {
    if (this.tty) {
      const width = process.stdout.columns || 120;
      process.stdout.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
      this.shown = true;
    } else if (Date.now() - this.lastPrinted >= this.everyMs) {
      this.lastPrinted = Date.now();
      process.stdout.write(`${line}\n`);
    }
  }

  /** Clears the line so other output starts on a clean line. */
  clear(): void {
    if (this.tty && this.shown) process.stdout.write('\r\x1b[2K');
    this.shown = false;
  }

  /** Leaves the last line visible and moves to the next one. */
  done(line: string): void {
    this.clear();
    process.stdout.write(`${line}\n`);
  }
}
