import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Terminal } from '../../runtime/test/terminal.js';
import { CliRoot, tockerBin } from './helpers.js';

const world = new CliRoot();
before(() => world.ready());
after(() => world.cleanup());

/** The CLI on a real pty, as a user's terminal would run it. */
const cliTerminal = (args: string[], size?: { cols: number; rows: number }) =>
  new Terminal(tockerBin, args, world.env, size);

describe('-it: a real terminal through a pty (node-pty plays the user)', {
  timeout: 30_000,
}, () => {
  test('the window size is passed in and follows resizes', async () => {
    const terminal = cliTerminal(['run', '-it', '--rm', 'busybox', 'sh'], { cols: 91, rows: 27 });
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
    const terminal = cliTerminal(['run', '-it', '--rm', 'busybox', 'sh']);
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
    const terminal = cliTerminal(['run', '-it', '--rm', 'busybox', 'sh']);
    await terminal.prompt();
    terminal.type('echo "héllo wörld ✓ 日本"\r');
    await terminal.expect(/^héllo wörld ✓ 日本\r?$/m);
    terminal.type('exit\r');
    assert.equal(await terminal.exited, 0);
  });
});
