import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Setting, step } from '../src/shim/plan.js';
import { CHANNEL_FD, Shim } from '../src/shim/shim.js';
import { sleepSync } from '../src/sleep-sync.js';

test('a shim that ended before its runtime sent it a command (a creation that failed while the runtime was not scheduled) still has its reports read', async () => {
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
});
