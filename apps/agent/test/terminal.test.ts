import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { OUTPUT_WINDOW_BYTES, type TerminalExit, type TerminalOutput } from '@tocker/protocol';
import { DEFAULT_IMAGE, KEPT_TERMINAL_FD, Runtime } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import { Agent, cgroupParent, connect, ok, removeEverything, root, rssOf } from './helpers.js';

let agent: Agent;

before(async () => {
  agent = await new Agent().started();
});

after(async () => {
  await agent?.stop();
  await removeEverything();
});

/** One viewer of a terminal session, as a browser tab would be (acknowledging what it got, unless told not to). */
class Viewer {
  text = '';
  received = 0;
  frames = 0;
  exitCode: number | null | undefined;
  session = '';

  /** Output that came before the attach reply named the session (it can overtake it). */
  private early: TerminalOutput[] = [];

  private constructor(
    readonly socket: Socket,
    private acknowledge: boolean,
  ) {
    socket.on('terminal:output', (output: TerminalOutput) => {
      if (this.session === '') {
        this.early.push(output);
        return;
      }
      this.receive(output);
    });
    socket.on('terminal:exit', ({ session, exitCode }: TerminalExit) => {
      if (session === this.session) this.exitCode = exitCode;
    });
  }

  private receive({ session, data }: TerminalOutput): void {
    if (session !== this.session) return;
    this.text += Buffer.from(data).toString('utf8');
    this.received += data.byteLength;
    this.frames++;
    if (this.acknowledge) this.socket.emit('terminal:ack', { session, bytes: data.byteLength });
  }

  private named(session: string): void {
    this.session = session;
    for (const output of this.early.splice(0)) this.receive(output);
  }

  static async attach(
    container: string,
    acknowledge = true,
  ): Promise<{ viewer: Viewer; scrollback: string; size: object }> {
    const viewer = new Viewer(await connect(agent.url), acknowledge);
    const reply = await ok(viewer.socket, 'terminal:attach', { container });
    viewer.named(reply.session);
    return { viewer, scrollback: Buffer.from(reply.scrollback).toString('utf8'), size: reply.size };
  }

  static async attachSession(session: string): Promise<Viewer> {
    const viewer = new Viewer(await connect(agent.url), true);
    await ok(viewer.socket, 'terminal:attach', { session });
    viewer.named(session);
    return viewer;
  }

  /** Acknowledges everything received so far, and each frame from now on. */
  acknowledgeFromNowOn(): void {
    this.acknowledge = true;
    this.socket.emit('terminal:ack', { session: this.session, bytes: this.received });
  }

  type(text: string): void {
    this.socket.emit('terminal:input', { session: this.session, data: text });
  }

  async expect(pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const match = this.text.slice(from).match(pattern);
      if (match) return match;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${pattern}; the terminal shows ${JSON.stringify(this.text.slice(from))}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

async function runShell(name: string, size = { cols: 100, rows: 30 }): Promise<string> {
  const client = await connect(agent.url);
  const { container } = await ok(client, 'container:run', {
    spec: { rootfs: DEFAULT_IMAGE, name, command: ['sh'], tty: true, interactive: true },
    terminal: size,
  });
  client.close();
  return container.id;
}

describe('terminals through the agent (real pty, real socket.io clients)', {
  timeout: 60_000,
}, () => {
  test('run a shell, attach, type, read; the size is passed in and follows resizes', async () => {
    await runShell('term-basic', { cols: 101, rows: 31 });
    const { viewer, size } = await Viewer.attach('term-basic');
    assert.deepEqual(size, { cols: 101, rows: 31 });
    viewer.type('echo $((6 * 7)); stty size\r');
    await viewer.expect(/^42\r?$/m);
    await viewer.expect(/^31 101\r?$/m);
    const mark = viewer.text.length;
    await ok(viewer.socket, 'terminal:resize', {
      session: viewer.session,
      size: { cols: 132, rows: 43 },
    });
    viewer.type('stty size\r');
    await viewer.expect(/^43 132\r?$/m, mark);
    viewer.type('exit 3\r');
    await waitUntil(() => viewer.exitCode !== undefined);
    assert.equal(viewer.exitCode, 3);
    // What the terminal showed is the container's log too, as without a terminal.
    const { logs } = await ok(viewer.socket, 'container:logs', {
      container: 'term-basic',
    });
    assert.match(logs, /^42\r?$/m);
    assert.match(logs, /^43 132\r?$/m);
    viewer.socket.close();
  });

  test('a closed tab leaves the shell running; reattaching gives the same shell and its scrollback', async () => {
    await runShell('term-reattach');
    const first = await Viewer.attach('term-reattach');
    first.viewer.type('MARK=kept-in-the-shell; echo before-the-blip\r');
    await first.viewer.expect(/^before-the-blip\r?$/m);
    first.viewer.socket.close();
    await new Promise((resolve) => setTimeout(resolve, 200));

    const again = await Viewer.attach('term-reattach');
    assert.match(again.scrollback, /before-the-blip/);
    again.viewer.type('echo $MARK $$\r');
    await again.viewer.expect(/^kept-in-the-shell 1\r?$/m);
    await ok(again.viewer.socket, 'terminal:close', { session: again.viewer.session });
    await waitUntil(() => again.viewer.exitCode !== undefined);
    again.viewer.socket.close();
  });

  test('several viewers see the same shell; Unicode split across chunks arrives whole', async () => {
    await runShell('term-shared');
    const one = await Viewer.attach('term-shared');
    const two = await Viewer.attach('term-shared');
    // 3000 copies of a 3-byte character: chunk boundaries fall inside characters.
    one.viewer.type('printf "%.0s✓" $(seq 3000); echo; echo done-sharing\r');
    await two.viewer.expect(/^done-sharing\r?$/m);
    await one.viewer.expect(/^done-sharing\r?$/m);
    for (const { viewer } of [one, two]) {
      assert.match(viewer.text, /✓{3000}/);
      assert.doesNotMatch(viewer.text, /\uFFFD/);
    }
    await ok(one.viewer.socket, 'terminal:close', { session: one.viewer.session });
    for (const { viewer } of [one, two]) viewer.socket.close();
  });

  test('a flood comes in frames of many pty reads, every byte shown and logged', async () => {
    const id = await runShell('term-frames');
    const { viewer } = await Viewer.attach('term-frames');
    // 3 MB of zeros as base64: 52,631 lines of 76 "A"s and one of 44, each ended by CR LF.
    viewer.type('head -c 3000000 /dev/zero | base64; echo "frames-""done"\r');
    await viewer.expect(/^frames-done\r?$/m);
    const shown = viewer.text.split('\r\n');
    assert.equal(shown.filter((line) => line === 'A'.repeat(76)).length, 52_631);
    assert.equal(shown.filter((line) => line === 'A'.repeat(44)).length, 1);
    // A pty gives at most 4 KiB a read: frames gather many reads (16 KiB is 4 of them on
    // average), so a flood costs every hop (socket.io, the dashboard, the browser) far
    // fewer messages.
    assert.ok(
      viewer.frames < viewer.received / (16 * 1024),
      `${viewer.frames} frames for ${viewer.received} bytes`,
    );
    const { logs } = await ok(viewer.socket, 'container:logs', {
      container: id,
      tailBytes: 16 * 1024 * 1024,
    });
    assert.equal(logs.split('\r\n').filter((line) => line === 'A'.repeat(76)).length, 52_631);
    await ok(viewer.socket, 'terminal:close', { session: viewer.session });
    viewer.socket.close();
  });

  test('a flood of numbered lines arrives whole and in order, also after a viewer held it back', async () => {
    await runShell('term-order');
    const { viewer } = await Viewer.attach('term-order', false);
    // About 2 MB: past the window, so the agent pauses reading until the viewer catches up.
    viewer.type('seq 1 300000; echo "order-""done"\r');
    await waitUntil(() => viewer.received > 1024 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 500));
    viewer.acknowledgeFromNowOn();
    await viewer.expect(/^order-done\r?$/m);
    const numbers = viewer.text
      .split('\r\n')
      .filter((line) => /^\d+$/.test(line))
      .map(Number);
    assert.equal(numbers.length, 300_000);
    assert.ok(
      numbers.every((value, index) => value === index + 1),
      'every line in order',
    );
    await ok(viewer.socket, 'terminal:close', { session: viewer.session });
    viewer.socket.close();
  });

  test('exec with a terminal: a second shell in a running container, attached by session', async () => {
    const id = await runShell('term-exec');
    const client = await connect(agent.url);
    const { session } = await ok(client, 'terminal:exec', {
      container: id,
      command: ['sh'],
      terminal: { cols: 90, rows: 20 },
    });
    client.close();
    const viewer = await Viewer.attachSession(session);
    const { sessions } = await ok(viewer.socket, 'terminal:list', { container: 'term-exec' });
    assert.deepEqual(sessions.map((entry) => [entry.kind, entry.command.join(' ')]).sort(), [
      ['container', 'sh'],
      ['exec', 'sh'],
    ]);
    assert.equal(sessions.find((entry) => entry.session === session)?.viewers, 1);
    viewer.type('echo $((2 + 3)) $$; stty size\r');
    await viewer.expect(/^5 \d+\r?$/m);
    await viewer.expect(/^20 90\r?$/m);
    viewer.type('exit 6\r');
    await waitUntil(() => viewer.exitCode !== undefined);
    assert.equal(viewer.exitCode, 6);
    const main = await Viewer.attach('term-exec');
    await ok(main.viewer.socket, 'terminal:close', { session: main.viewer.session });
    for (const socket of [viewer.socket, main.viewer.socket]) socket.close();
  });

  test('a flood does not grow the agent: a viewer that stops acknowledging pauses the terminal', async () => {
    await runShell('term-flood');
    const { viewer } = await Viewer.attach('term-flood', false);
    const rssBefore = rssOf(agent.pid);
    viewer.type('yes "flood flood flood flood flood flood flood flood"\r');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const received = viewer.received;
    const rssAfter = rssOf(agent.pid);
    // The window, and at most the frame that crossed it.
    assert.ok(
      received <= OUTPUT_WINDOW_BYTES + 256 * 1024,
      `the agent stopped sending at the window (sent ${received} bytes)`,
    );
    assert.ok(
      rssAfter - rssBefore < 64 * 1024 * 1024,
      `agent RSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(1)} MiB`,
    );
    // Acknowledging lets it flow again.
    viewer.socket.emit('terminal:ack', { session: viewer.session, bytes: viewer.received });
    await waitUntil(() => viewer.received > received + 512 * 1024);
    await ok(viewer.socket, 'terminal:close', { session: viewer.session });
    viewer.socket.close();
  });

  test('input a program does not read waits in the agent, which goes on serving', async () => {
    const client = await connect(agent.url);
    const { container } = await ok(client, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        name: 'term-unread',
        // Raw mode: the pty holds what is typed until it is read (a canonical line is cut).
        command: ['sh', '-c', 'stty raw -echo && echo raw-mode && sleep 3600'],
        tty: true,
        interactive: true,
      },
    });
    client.close();
    const { viewer, scrollback } = await Viewer.attach(container.id);
    if (!scrollback.includes('raw-mode')) await viewer.expect(/raw-mode/);
    // Far more than the pty takes (a few KiB): the rest must wait without holding the agent.
    for (let piece = 0; piece < 64; piece++) viewer.type('x'.repeat(16 * 1024));
    assert.ok((await ok(viewer.socket, 'agent:info', {})).version);
    await ok(viewer.socket, 'terminal:close', { session: viewer.session });
    viewer.socket.close();
  });

  test('a shell outlives its agent: after a SIGKILL, the next agent gives back the same shell with its scrollback', async () => {
    const id = await runShell('term-survivor', { cols: 90, rows: 25 });
    const first = await Viewer.attach('term-survivor');
    first.viewer.type('KEPT=still-here; echo before-the-crash\r');
    await first.viewer.expect(/^before-the-crash\r?$/m);
    first.viewer.socket.close();
    const shim = Runtime.open({ root, cgroupParent }).inspect(id).supervisor.pid;
    const kept = () => {
      try {
        return readlinkSync(`/proc/${shim}/fd/${KEPT_TERMINAL_FD}`).endsWith('ptmx');
      } catch {
        return false; // the shim is gone
      }
    };
    assert.ok(kept(), "its container's shim keeps the terminal's master");

    await agent.stop('SIGKILL');
    agent = await new Agent().started();
    const again = await Viewer.attach('term-survivor');
    assert.match(again.scrollback, /before-the-crash/, 'the scrollback comes back from the log');
    again.viewer.type('echo "$KEPT $$"; stty size\r');
    await again.viewer.expect(/^still-here 1\r?$/m);
    await ok(again.viewer.socket, 'terminal:resize', {
      session: again.viewer.session,
      size: { cols: 120, rows: 40 },
    });
    const mark = again.viewer.text.length;
    again.viewer.type('stty size\r');
    await again.viewer.expect(/^40 120\r?$/m, mark);

    await ok(again.viewer.socket, 'terminal:close', { session: again.viewer.session });
    await waitUntil(() => again.viewer.exitCode !== undefined);
    again.viewer.socket.close();
    await waitUntil(() => !kept()); // the shim ended with the container
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
