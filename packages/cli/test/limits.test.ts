import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Runtime } from '@tocker/runtime';
import { CliRoot, image, waitFor } from './helpers.js';

const world = new CliRoot();
const runtime = Runtime.open({ root: world.root, cgroupParent: world.cgroupParent });
after(() => world.cleanup());

async function runDetached(args: string[]): Promise<string> {
  const result = await world.run(['run', '-d', ...args]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

describe('cgroup limits on real containers (cgroup v1 on this host)', () => {
  test('gocker flags -cpus=1 -m=100 set 1 CPU and 100 MiB on the container cgroup', async () => {
    const id = await runDetached(['-cpus=1', '-m=100', `-rootfs=${image}`, 'sleep', '30']);
    const stats = runtime.stats(id);
    assert.equal(stats.cpuLimit, 1);
    assert.equal(stats.memoryLimitBytes, 100 * 1024 * 1024);
    await world.run(['rm', '-f', id]);
  });

  test('--cpus 0.5: a busy loop gets at most ~0.6 CPU-seconds per wall second', async () => {
    const id = await runDetached(['--cpus', '0.5', 'busybox', 'sh', '-c', 'while :; do :; done']);
    await sleep(300);
    const first = { cpu: runtime.stats(id).cpuTimeNs, at: process.hrtime.bigint() };
    await sleep(2000);
    const second = { cpu: runtime.stats(id).cpuTimeNs, at: process.hrtime.bigint() };
    const usage = (second.cpu - first.cpu) / Number(second.at - first.at);
    assert.ok(usage <= 0.6, `used ${usage.toFixed(2)} CPUs with a 0.5 limit`);
    assert.ok(
      usage >= 0.1,
      `the loop ran (${usage.toFixed(2)} CPUs; other load on the host may slow it)`,
    );
    await world.run(['rm', '-f', id]);
  });

  test('-m 32m: allocating past the limit ends in exit 137 and OOMKilled', async () => {
    const result = await world.run([
      'run',
      '--name',
      'hog',
      '-m',
      '32m',
      'busybox',
      'sh',
      '-c',
      'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived',
    ]);
    assert.equal(result.code, 137, result.stderr);
    assert.doesNotMatch(result.stdout, /survived/);
    assert.match(result.stderr, /OOMKilled/);
    const record = runtime.inspect('hog');
    assert.equal(record.oomKilled, true);
    assert.equal(record.exitCode, 137);
    const ps = await world.run(['ps', '-a']);
    assert.match(ps.stdout, /Exited \(137, OOMKilled\)/);
    await world.run(['rm', 'hog']);
  });

  test('--pids-limit 20: a fork bomb stops at the limit', async () => {
    const id = await runDetached([
      '--pids-limit',
      '20',
      'busybox',
      'sh',
      '-c',
      // Forks without end until one fails (busybox sh then exits). PID 1 forks once, first,
      // then becomes a sleep that outlives the bomb and never reaps: the count stays put.
      '(while :; do sleep 30 & done) & exec sleep 30',
    ]);
    const pids = await waitFor('the bomb to reach the limit', () => {
      const current = runtime.stats(id).pids;
      return current >= 18 ? current : undefined;
    });
    await sleep(500);
    assert.ok(
      runtime.stats(id).pids <= 20,
      `pids ${runtime.stats(id).pids} stays within 20 (reached ${pids})`,
    );
    assert.equal(runtime.stats(id).pidsLimit, 20);
    await world.run(['rm', '-f', id]);
  });

  test('the command starts inside its cgroups (no unlimited window)', async () => {
    // The cgroup namespace is created right after joining and right before exec; a root
    // of "/" means the process was already in the container's cgroup when it began.
    const result = await world.run([
      'run',
      '--rm',
      '-m',
      '48m',
      'busybox',
      'cat',
      '/proc/self/cgroup',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /memory:\/$/m,
      'the container sees its own memory cgroup as its root',
    );
  });
});
