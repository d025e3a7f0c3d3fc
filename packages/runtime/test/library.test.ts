import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../src/proc.js';
import { Runtime } from '../src/runtime.js';
import { parseContainerSpec } from '../src/spec.js';
import { image, TestRoot, waitFor } from './helpers.js';
import { scratchDir } from './scratch.js';

const world = new TestRoot();
// As the agent opens it: with a shim kept ready, which each creation and exec is handed.
const runtime = Runtime.open({
  root: world.root,
  cgroupParent: world.cgroupParent,
  keepShimReady: true,
});
after(async () => {
  await runtime.close();
  world.cleanup();
});

const spec = (command: string[], extra: object = {}) =>
  runtime.configure(parseContainerSpec({ rootfs: image, command, ...extra }), {
    kind: 'any-directory',
  });
const detached = { io: { kind: 'log' }, foreground: false } as const;

describe('the library API (what the agent uses), real containers in this process', () => {
  test('create prepares everything but runs nothing until start; wait reports the exit', async () => {
    const container = await runtime.create(spec(['sh', '-c', 'echo started; exit 4']), detached);
    assert.equal(container.state.status, 'created');
    const log = runtime.store.logPath(container.id);
    await sleep(200);
    assert.equal(readFileSync(log, 'utf8'), '', 'the command has not run yet');
    assert.equal(
      runtime.stats(container.id).pids,
      1,
      'only its PID 1, waiting for the start, is in its cgroup',
    );
    await container.start();
    const exit = await container.wait();
    assert.deepEqual(
      { exitCode: exit.exitCode, signal: exit.signal, oomKilled: exit.oomKilled },
      { exitCode: 4, signal: null, oomKilled: false },
    );
    assert.equal(readFileSync(log, 'utf8'), 'started\n');
    assert.equal(runtime.inspect(container.id).status, 'exited');
    await runtime.remove(container.id);
  });

  test('stats: cpu time, memory current and peak, pids, limits', async () => {
    const container = await runtime.run(
      spec(['sh', '-c', 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30'], {
        limits: { memory: '64m', pidsLimit: 50, cpus: 1 },
      }),
      detached,
    );
    await sleep(1000);
    const stats = container.stats();
    assert.ok(stats.cpuTimeNs > 1e7, `cpu time ${stats.cpuTimeNs}`);
    assert.ok(stats.memoryBytes > 0);
    assert.ok((stats.memoryPeakBytes ?? 0) >= stats.memoryBytes);
    assert.equal(stats.memoryLimitBytes, 64 * 1024 * 1024);
    assert.equal(stats.pidsLimit, 50);
    assert.equal(stats.cpuLimit, 1);
    assert.ok(stats.pids >= 1);
    container.kill(constants.signals.SIGKILL);
    const exit = await container.wait();
    assert.equal(exit.exitCode, 137);
    assert.equal(exit.signal, constants.signals.SIGKILL);
    assert.ok((exit.usage?.cpuTimeNs ?? 0) > 1e7, 'the final usage is kept');
    await runtime.remove(container.id);
  });

  test('updateLimits changes a running container in place', async () => {
    const container = await runtime.run(
      spec(['sleep', '30'], { limits: { memory: '64m' } }),
      detached,
    );
    runtime.updateLimits(container.id, { memory: 128 * 1024 * 1024, pidsLimit: 7 });
    const stats = container.stats();
    assert.equal(stats.memoryLimitBytes, 128 * 1024 * 1024);
    assert.equal(stats.pidsLimit, 7);
    assert.equal(runtime.inspect(container.id).config.request.limits.memory, 128 * 1024 * 1024);
    await runtime.stop(container.id, 1);
    await runtime.remove(container.id);
  });

  test('an end the user asked for is recorded as such (stop, kill), a signal that is only a message is not, and a restart forgets it', async () => {
    const ended = async (end: (id: string) => Promise<unknown>) => {
      const container = await runtime.run(spec(['sleep', '30']), detached);
      await end(container.id);
      await container.wait();
      return container.id;
    };
    const stopped = await ended((id) => runtime.stop(id, 1));
    const killed = await ended(async (id) => runtime.kill(id));
    // SIGTERM to a PID 1 without a handler does nothing; its own exit follows.
    const messaged = await ended(async (id) => {
      runtime.kill(id, constants.signals.SIGTERM);
      await sleep(100);
      runtime.kill(id, constants.signals.SIGKILL);
    });
    assert.equal(runtime.inspect(stopped).requestedEnd, 'stop');
    assert.equal(
      runtime.inspect(stopped).signal,
      constants.signals.SIGKILL,
      'after its grace period',
    );
    assert.equal(runtime.inspect(killed).requestedEnd, 'kill');
    assert.equal(runtime.inspect(messaged).requestedEnd, 'kill', 'the SIGKILL was asked for');
    const exits = readFileSync(join(world.root, 'transitions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((line) => line.kind === 'exited' && [stopped, killed].includes(line.container.id));
    assert.deepEqual(exits.map((line) => line.exit.requestedEnd).sort(), ['kill', 'stop']);

    const answered = await runtime.run(
      spec(['sh', '-c', 'trap "exit 3" USR1; sleep 30 & wait']),
      detached,
    );
    await sleep(200); // its trap is set
    runtime.kill(answered.id, constants.signals.SIGUSR1);
    await answered.wait();
    assert.deepEqual(
      [runtime.inspect(answered.id).exitCode, runtime.inspect(answered.id).requestedEnd],
      [3, null],
    );

    const again = await runtime.restart(stopped, detached);
    assert.equal(runtime.inspect(again.id).requestedEnd, null);
    await runtime.stop(again.id, 0);
    for (const id of [stopped, killed, messaged, answered.id]) await runtime.remove(id);
  });

  test("an image's own /etc/hosts is covered by the container's without being copied into its writable layer first (a copy-up costs most of a millisecond)", async () => {
    assert.ok(existsSync(join(image, 'etc', 'hosts')), 'the test image has an /etc/hosts');
    const container = await runtime.run(spec(['cat', '/etc/hosts']), detached);
    await container.wait();
    assert.match(
      readFileSync(runtime.store.logPath(container.id), 'utf8'),
      /127\.0\.0\.1\s+localhost/,
    );
    const upper = runtime.store.rootfsLayout(container.id, []).upper;
    assert.equal(existsSync(join(upper, 'etc', 'hosts')), false, 'not copied up');
    assert.equal(existsSync(join(upper, 'etc', 'hostname')), true, 'a missing one is made there');
    await runtime.remove(container.id);
  });

  test('relayed stdio: the shim copies the output into the descriptors given', async () => {
    const file = `${world.root}/out.txt`;
    const fd = openSync(file, 'w');
    const container = await runtime.run(spec(['sh', '-c', 'echo to-file; echo err >&2']), {
      io: { kind: 'relay', stdin: null, stdout: fd, stderr: fd },
      foreground: true,
    });
    await container.wait();
    assert.equal(readFileSync(file, 'utf8'), 'to-file\nerr\n');
    await runtime.remove(container.id);
  });

  test('exec: a new process in a running container, in its namespaces and its cgroups', async () => {
    const container = await runtime.run(
      spec(['sleep', '30'], { hostname: 'exec-target', env: { FROM_SPEC: 'yes' } }),
      detached,
    );
    const file = `${world.root}/exec.txt`;
    const fd = openSync(file, 'w');
    const exec = await runtime.exec(
      container.id,
      {
        command: [
          'sh',
          '-c',
          'hostname; echo pid=$$; cat /proc/1/cmdline | tr "\\0" " "; echo; cat /proc/self/cgroup | grep memory; echo $FROM_SPEC $EXTRA; pwd; exit 9',
        ],
        env: { EXTRA: 'added' },
        workdir: '/tmp',
      },
      { kind: 'relay', stdin: null, stdout: fd, stderr: fd },
    );
    const exit = await exec.wait();
    assert.equal(exit.exitCode, 9);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'exec-target');
    assert.match(lines[1] ?? '', /^pid=\d+$/);
    assert.notEqual(lines[1], 'pid=1', 'not PID 1: that is the container command');
    assert.equal(lines[2]?.trim(), 'sleep 30');
    assert.match(
      lines[3] ?? '',
      /memory:\/$/,
      "in the container's memory cgroup (the root of its cgroup namespace)",
    );
    assert.equal(lines[4], 'yes added');
    assert.equal(lines[5], '/tmp');
    await assert.rejects(
      runtime.exec(
        container.id,
        { command: ['no-such-tool'] },
        { kind: 'relay', stdin: null, stdout: fd, stderr: fd },
      ),
      /no-such-tool: executable file not found/,
    );
    container.kill(constants.signals.SIGKILL);
    await container.wait();
    await runtime.remove(container.id);
  });

  test("a removed container's log is archived: only its tail (from a UTF-8 character), read by full id, the archive bounded", async () => {
    const small = Runtime.open({
      root: world.root,
      cgroupParent: world.cgroupParent,
      logArchive: { maxBytes: 4096, maxFiles: 3 },
    });
    // 4096 two-byte characters then "x": 8193 bytes, so the last 4096 start inside a character.
    const container = await small.run(
      spec([
        'sh',
        '-c',
        's=é; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do s=$s$s; done; printf "%sx" "$s"',
      ]),
      detached,
    );
    await container.wait();
    assert.equal(readFileSync(small.store.logPath(container.id)).length, 8193);
    const archive = join(world.root, 'archive');
    rmSync(archive, { recursive: true, force: true }); // what earlier tests archived
    mkdirSync(archive, { recursive: true });
    const older = [3, 2, 1].map((hoursAgo) => {
      const name = `${String(hoursAgo).repeat(64)}.log`;
      writeFileSync(join(archive, name), `removed ${hoursAgo} h ago\n`);
      const at = Date.now() / 1000 - hoursAgo * 3600;
      utimesSync(join(archive, name), at, at);
      return name;
    });

    await small.remove(container.id);
    assert.equal(existsSync(small.store.dir(container.id)), false, 'the container is gone');
    const kept = `${'é'.repeat(2047)}x`;
    assert.equal(readFileSync(join(archive, `${container.id}.log`), 'utf8'), kept);
    assert.deepEqual(
      readdirSync(archive).sort(),
      [...older.slice(1), `${container.id}.log`].sort(),
      'the oldest archived log made room',
    );
    // Any runtime on the root reads it, by full id only: names and prefixes get reused.
    assert.deepEqual(runtime.logs(container.id, {}), {
      text: kept,
      next: Buffer.byteLength(kept),
      running: false,
    });
    assert.equal(runtime.logs(container.id, { tail: 3 }).text, 'éx');
    assert.equal(runtime.logs(container.id, { from: 4092 }).text, 'éx');
    assert.throws(() => runtime.logs(container.id.slice(0, 12), {}), /no such container/);
    assert.throws(() => runtime.inspect(container.id), /no such container/);
  });

  test('--rm containers keep their log in the archive too; a creation that failed archives nothing', async () => {
    const archive = join(world.root, 'archive');
    const before = existsSync(archive) ? readdirSync(archive) : [];
    const container = await runtime.run(
      spec(['echo', 'auto-removed'], { autoRemove: true }),
      detached,
    );
    await container.wait();
    assert.throws(() => runtime.inspect(container.id), /no such container/);
    assert.deepEqual(runtime.logs(container.id, {}), {
      text: 'auto-removed\n',
      next: 13,
      running: false,
    });
    await assert.rejects(runtime.run(spec(['no-such-program']), detached), /not found/);
    assert.deepEqual(
      readdirSync(archive).sort(),
      [...before, `${container.id}.log`].sort(),
      'only the --rm container was archived',
    );
  });

  test("a --rm container's directory is deleted by its shim, even with this process's event loop held (where its own removal would run), never following what the container left in it", async () => {
    const victim = scratchDir('victim');
    mkdirSync(join(victim, 'sub'));
    writeFileSync(join(victim, 'sub', 'kept'), 'kept');
    const plant = `mkdir -p /deep/a/b && echo x > /deep/a/b/f && ln -s ${victim} /escape && ln -s ${victim}/sub /deep/a/into`;
    try {
      const container = await runtime.run(
        spec(['sh', '-c', plant], { autoRemove: true }),
        detached,
      );
      await container.wait();
      const containers = join(world.root, 'containers');
      const left = () => readdirSync(containers).filter((entry) => entry.includes(container.id));
      // Synchronous: this runtime's own (background) removal needs the event loop to go on.
      const deadline = Date.now() + 10_000;
      while (left().length > 0 && Date.now() < deadline);
      assert.deepEqual(left(), [], 'deleted while this process could not have');
      assert.deepEqual(readdirSync(join(victim, 'sub')), ['kept'], 'nothing followed out of it');
    } finally {
      rmSync(victim, { recursive: true });
    }
  });

  test("discard 'at-once' (the CLI's): a removed container's directory is gone when rm returns, not later", async () => {
    const cli = Runtime.open({
      root: world.root,
      cgroupParent: world.cgroupParent,
      discard: 'at-once',
    });
    try {
      const container = await cli.run(spec(['true']), detached);
      await container.wait();
      await cli.remove(container.id);
      const left = readdirSync(join(world.root, 'containers')).filter((entry) =>
        entry.includes(container.id),
      );
      assert.deepEqual(left, [], 'nothing of it, not even renamed away, before close()');
    } finally {
      await cli.close();
    }
  });

  test('what its shim cannot delete (a tree deeper than it goes) stays renamed away, and the next collection deletes it', async () => {
    const container = await runtime.run(
      spec(['sh', '-c', 'cd / && for i in $(seq 140); do mkdir d && cd d; done'], {
        autoRemove: true,
      }),
      detached,
    );
    const shim = container.state.supervisor;
    await container.wait();
    await waitFor('its shim to end', () => (isAlive(shim) ? undefined : true));
    const containers = join(world.root, 'containers');
    assert.deepEqual(
      readdirSync(containers).filter((entry) => entry.includes(container.id)),
      [`.removed-${container.id}`],
    );
    runtime.collectLeftovers();
    await runtime.store.settled();
    assert.deepEqual(
      readdirSync(containers).filter((entry) => entry.includes(container.id)),
      [],
    );
  });

  test('a long-lived reader (the agent) sees every change another process makes to a record it read before, and a record damaged since as damaged', async () => {
    const container = await runtime.create(spec(['sleep', '30']), detached);
    const other = Runtime.open({ root: world.root, cgroupParent: world.cgroupParent });
    const statusOf = () => runtime.scan().records.find((record) => record.id === container.id);
    assert.equal(statusOf()?.status, 'created');
    assert.equal(statusOf()?.status, 'created', 'read again, unchanged');
    await container.start();
    assert.equal(other.inspect(container.id).status, 'running');
    other.pause(container.id);
    assert.equal(statusOf()?.paused, true, 'the pause made by the other process');
    other.unpause(container.id);
    assert.equal(runtime.inspect(container.id).paused, false);

    const file = join(runtime.store.dir(container.id), 'state.json');
    const intact = readFileSync(file);
    const damaged = Buffer.from(intact);
    damaged.write('"status": "stopped"', intact.indexOf('"status": "running"'));
    writeFileSync(file, damaged);
    assert.deepEqual(
      runtime.scan().corrupt.map(({ id, problem }) => ({ id, damaged: /status/.test(problem) })),
      [{ id: container.id, damaged: true }],
    );
    assert.throws(() => runtime.inspect(container.id), /damaged record/);
    writeFileSync(file, intact);
    assert.equal(runtime.inspect(container.id).status, 'running', 'readable again once repaired');
    await runtime.remove(container.id, { force: true });
    assert.equal(statusOf(), undefined);
  });
});
