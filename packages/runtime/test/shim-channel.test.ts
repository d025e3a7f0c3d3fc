import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, readSync, writeSync } from 'node:fs';
import { test } from 'node:test';
import { type ChannelReading, openChannel, readShimChannelsOn } from '../src/shim/channel.js';
import { Setting, step } from '../src/shim/plan.js';
import { CHANNEL_FD, Shim } from '../src/shim/shim.js';
import { sleepSync } from '../src/sleep-sync.js';
import { socketPair } from '../src/sys/libc.js';

const readings: ChannelReading[] = ['event-loop', 'threadpool'];

for (const reading of readings) {
  test(`${reading}: a shim that ended before its runtime sent it a command (a creation that failed while the runtime was not scheduled) still has its reports read`, async (t) => {
    readShimChannelsOn(reading);
    t.after(() => readShimChannelsOn('event-loop'));
    // A plan with its channel and nothing to do: the shim reports why and ends at once.
    const shim = Shim.spawn(
      'ends-at-once',
      [step(Setting.report, CHANNEL_FD), step(Setting.control, CHANNEL_FD)],
      [],
    );
    sleepSync(300); // the runtime is busy: the shim has long ended when the start goes out
    shim.send('g');
    const report = await shim.until('error');
    shim.release();
    assert.equal(report.kind, 'error', 'its report, not just its end');
    assert.match(report.message, /plan: no mode/);
    assert.equal((await shim.until()).kind, 'closed');
  });

  test(`${reading}: a channel hands on its text whole, however it was cut (a character, a last line), then its end, once`, async (t) => {
    readShimChannelsOn(reading);
    t.after(() => readShimChannelsOn('event-loop'));
    const [ours, theirs] = socketPair();
    let text = '';
    let ends = 0;
    const ended = new Promise<void>((resolve) => {
      const channel = openChannel(ours, {
        text: (chunk) => {
          text += chunk;
        },
        closed: () => {
          ends++;
          assert.equal(channel.open, false, 'not open once it has ended');
          resolve();
        },
      });
      assert.equal(channel.open, true);
    });
    const message = Buffer.from('pid 42\nerror 125 /srv/données: not found\nno newline');
    const cut = message.indexOf('é') + 1; // inside the two bytes of "é"
    writeSync(theirs, message.subarray(0, cut));
    sleepSync(50);
    writeSync(theirs, message.subarray(cut));
    closeSync(theirs);
    await ended;
    assert.equal(text, message.toString());
    assert.equal(ends, 1);
  });

  test(`${reading}: a channel let go of tells the shim's side at once, and ends`, async (t) => {
    readShimChannelsOn(reading);
    t.after(() => readShimChannelsOn('event-loop'));
    const [ours, theirs] = socketPair();
    try {
      const ended = new Promise<void>((resolve) => {
        const channel = openChannel(ours, { text: () => {}, closed: resolve });
        channel.release();
        assert.equal(channel.open, false, 'not written to once let go of');
      });
      await ended;
      assert.equal(readSync(theirs, Buffer.alloc(16)), 0, "the shim's side reads its end");
    } finally {
      closeSync(theirs);
    }
  });
}

test('threadpool: a process that exits while a shim it reads is alive still exits (libuv joins its threads at exit, and a blocked read would hold it)', () => {
  const child = `
    import { openChannel, readShimChannelsOn } from './src/shim/channel.js';
    import { socketPair } from './src/sys/libc.js';
    readShimChannelsOn('threadpool');
    const [ours, theirs] = socketPair(); // theirs stays open: the read blocks until the exit
    openChannel(ours, { text: () => {}, closed: () => {} });
    setTimeout(() => process.exit(3), 100);
  `;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', child],
    { cwd: new URL('..', import.meta.url), encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(result.signal, null, `it hung until killed: ${result.stderr}`);
  assert.equal(result.status, 3, result.stderr);
});
