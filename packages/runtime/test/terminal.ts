import { type IPty, spawn } from 'node-pty';
import { waitFor } from './helpers.js';

/** A program on a real pty, typed at as a user would (node-pty plays the terminal). */
export class Terminal {
  output = '';
  readonly exited: Promise<number>;
  private readonly pty: IPty;

  constructor(file: string, args: string[], env: NodeJS.ProcessEnv, size = { cols: 80, rows: 24 }) {
    this.pty = spawn(file, args, { ...size, env: env as Record<string, string>, name: 'xterm' });
    this.pty.onData((data) => {
      this.output += data;
    });
    this.exited = new Promise((resolve) => this.pty.onExit(({ exitCode }) => resolve(exitCode)));
  }

  type(text: string): void {
    this.pty.write(text);
  }

  resize(cols: number, rows: number): void {
    this.pty.resize(cols, rows);
  }

  /** Waits until the output (from `from` on) matches. */
  async expect(pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    try {
      return await waitFor(
        String(pattern),
        () => this.output.slice(from).match(pattern) ?? undefined,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; the terminal shows ${JSON.stringify(this.output.slice(from))}`,
      );
    }
  }

  /** busybox sh prints "/ # " (and then asks for the cursor position). */
  prompt(from = 0): Promise<RegExpMatchArray> {
    return this.expect(/\/ # /, from);
  }

  kill(): void {
    this.pty.kill('SIGKILL');
  }
}
