import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type IPty, spawn } from 'node-pty';
import { CliRoot, tockerBin, waitFor } from './helpers.js';

const world = new CliRoot();
before(() => world.ready());
after(() => world.cleanup());

/** The CLI on a real pty, as a user's terminal would run it. */
class Terminal {
  output = '';
  readonly exited: Promise<number>;
  private readonly pty: IPty;

  constructor(args: string[], size = { cols: 80, rows: 24 }) {
    this.pty = spawn(tockerBin, args, {
      ...size,
      env: world.env as Record<string, string>,
      name: 'xterm',
    });
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
}

describe('-it: a real terminal through a pty (node-pty plays the user)', {
  timeout: 30_000,
}, () => {
  test('the window size is passed in and follows resizes', async () => {
    const terminal = new Terminal(['run', '-it', '--rm', 'busybox', 'sh'], { cols: 91, rows: 27 });
    await terminal.prompt();
    terminal.type('stty size\r');
    await terminal.expect(/^27 91\r?$/m);
    const mark = terminal.output.length;
    terminal.resize(120, 40);
    await new Promise((resolve) => setTimeout(resolve, 100));
    terminal.type('stty size\r');
    await terminal.expect(/^40 120\r?$/m, mark);
    terminal.type('exit 5\r');
    assert.equal(await terminal.exited, 5);
  });

  test('^C reaches the foreground process, not the shell; job control works', async () => {
    const terminal = new Terminal(['run', '-it', '--rm', 'busybox', 'sh']);
    await terminal.prompt();
    terminal.type('tty; sleep 30\r');
    await terminal.expect(/\/dev\/(console|pts\/\d+)/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    terminal.type('\x03');
    let mark = terminal.output.length;
    terminal.type('echo status=$?\r');
    await terminal.expect(/status=130/, mark);
    mark = terminal.output.length;
    terminal.type('sleep 30 &\r');
    terminal.type('jobs\r');
    await terminal.expect(/\[1\]\+\s+Running\s+sleep 30/, mark);
    mark = terminal.output.length;
    terminal.type('sleep 40\r');
    await new Promise((resolve) => setTimeout(resolve, 300));
    terminal.type('\x1a'); // ^Z
    await terminal.expect(/\[2\]\+\s+Stopped\s+sleep 40/, mark);
    terminal.type('kill -KILL %1 %2; wait; exit 0\r');
    assert.equal(await terminal.exited, 0);
  });

  test('Unicode passes through unharmed', async () => {
    const terminal = new Terminal(['run', '-it', '--rm', 'busybox', 'sh']);
    await terminal.prompt();
    terminal.type('echo "héllo wörld ✓ 日本"\r');
    await terminal.expect(/^héllo wörld ✓ 日本\r?$/m);
    terminal.type('exit\r');
    assert.equal(await terminal.exited, 0);
  });
});
