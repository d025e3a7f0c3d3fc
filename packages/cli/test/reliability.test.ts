import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerView } from '@tocker/protocol';
import { parseContainerSpec, Runtime } from '@tocker/runtime';
import { isAlive, type ProcessIdentity } from '../../runtime/src/proc.js';
import type { ContainerRecord } from '../../runtime/src/state/record.js';
import { scratchDir } from '../../runtime/test/scratch.js';
import { CliRoot, image, lines, tockerBin, transitionsByContainer, waitFor } from './helpers.js';

const world = new CliRoot({ name: 'reliability' });
after(() => world.cleanup());

const range = (count: number) => Array.from({ length: count }, (_, index) => index);

/**
 * A container's record with its bookkeeping (pids with start times, supervisors), read
 * through the library after `tocker inspect` has seen it, as a user's command would.
 */
async function inspect(reference: string): Promise<ContainerRecord> {
  const result = await world.run(['inspect', reference]);
  assert.equal(result.code, 0, result.stderr);
  return world.runtime().inspect(reference);
}

/** inspect(), or null for a container that is gone (collected) by now. */
async function inspectIfThere(id: string): Promise<ContainerRecord | null> {
  const result = await world.run(['inspect', id]);
  if (result.code !== 0 && /no such container/.test(result.stderr)) return null;
  assert.equal(result.code, 0, result.stderr);
  return world.runtime().inspect(id);
}

/** A CLI process that the test kills at a random moment of its life. */
function killedAfter(args: readonly string[], ms: number): Promise<void> {
  const child = spawn(tockerBin, args, { env: world.env, stdio: 'ignore' });
  setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) => child.on('close', () => resolve()));
}

/** A pid that is surely not running (beyond the kernel's pid_max). */
const DEAD: ProcessIdentity = { pid: 4_194_304 + 1, startTime: 1 };

describe('reliability: concurrent commands and killed processes (real containers)', () => {
  test('24 concurrent run --rm: each runs, exits with its own code and output, and is gone', async () => {
    const results = await Promise.all(
      range(24).map((index) =>
        world.run(['run', '--rm', 'busybox', 'sh', '-c', `echo ${index}; exit ${index % 5}`]),
      ),
    );
    results.forEach((result, index) => {
      assert.equal(result.stderr, '', `run ${index}`);
      assert.equal(result.code, index % 5, `run ${index}`);
      assert.equal(result.stdout, `${index}\n`);
    });
    assert.deepEqual(lines((await world.run(['ps', '-aq'])).stdout), []);
    const transitions = [...transitionsByContainer(world.root).values()];
    assert.equal(transitions.length, 24);
    for (const kinds of transitions) {
      assert.deepEqual(kinds, ['created', 'started', 'exited', 'removed']);
    }
  });

  test('concurrent run -d --name: exactly one winner per round; the others leave nothing', async () => {
    for (const round of range(3)) {
      const name = `race-${round}`;
      const results = await Promise.all(
        range(10).map(() => world.run(['run', '-d', '--name', name, 'busybox', 'sleep', '30'])),
      );
      const winners = results.filter((result) => result.code === 0);
      assert.equal(winners.length, 1, `round ${round}: ${results.map((r) => r.stderr).join('')}`);
      for (const loser of results.filter((result) => result.code !== 0)) {
        assert.equal(loser.code, 125);
        assert.match(loser.stderr, new RegExp(`the name "${name}" is already in use`));
      }
      const listed = lines((await world.run(['ps', '-aq'])).stdout);
      assert.deepEqual(listed, [winners[0]?.stdout.trim().slice(0, 12)]);
      assert.equal((await inspect(name)).status, 'running');
      assert.equal((await world.run(['rm', '-f', name])).code, 0);
    }
  });

  test('run -d next to concurrent ps -a, inspect and rm -f: every container it started keeps running', async () => {
    const bystander = (
      await world.run(['run', '-d', '--name', 'bystander', 'busybox', 'sleep', '30'])
    ).stdout.trim();
    let busy = true;
    const noise = [
      (async () => {
        while (busy) await world.run(['ps', '-a']);
      })(),
      (async () => {
        while (busy) await world.run(['inspect', bystander]);
      })(),
      (async () => {
        while (busy) {
          const id = (await world.run(['run', '-d', 'busybox', 'true'])).stdout.trim();
          await world.run(['rm', '-f', id]);
        }
      })(),
    ];
    const started: string[] = [];
    for (const batch of range(4)) {
      const results = await Promise.all(
        range(4).map((index) =>
          world.run(['run', '-d', '--name', `steady-${batch}-${index}`, 'busybox', 'sleep', '30']),
        ),
      );
      for (const result of results) {
        assert.equal(result.code, 0, result.stderr);
        started.push(result.stdout.trim());
      }
    }
    busy = false;
    await Promise.all(noise);
    await sleep(300);
    for (const id of [...started, bystander]) {
      const record = await inspect(id);
      assert.equal(record.status, 'running', `${id.slice(0, 12)}: ${record.error}`);
      assert.ok(isAlive(record.process), `${id.slice(0, 12)} really runs`);
    }
    assert.equal((await world.run(['rm', '-f', ...started, bystander])).code, 0);
  });

  test('a run -d client killed at any moment never takes its container with it', async () => {
    await Promise.all(
      range(12).map((index) =>
        killedAfter(
          ['run', '-d', '--name', `orphaned-${index}`, 'busybox', 'sleep', '30'],
          20 * index,
        ),
      ),
    );
    // Supervisors that were mid-start finish starting.
    await waitFor('every start to finish', async () => {
      const { stdout } = await world.run(['ps', '-a']);
      return /Created/.test(stdout) ? undefined : true;
    });
    const { stdout } = await world.run(['ps', '-a', '-q']);
    for (const id of lines(stdout)) {
      const record = await inspect(id);
      assert.equal(record.status, 'running', `${id}: ${record.error}`);
      assert.ok(isAlive(record.process));
    }
    await world.run(['rm', '-f', ...lines(stdout)]);
  });

  test('a foreground CLI killed with SIGKILL: its container ends, recorded as killed (137, SIGKILL)', async () => {
    const cli = spawn(tockerBin, ['run', '--name', 'abandoned', 'busybox', 'sleep', '30'], {
      env: world.env,
      stdio: 'ignore',
    });
    await waitFor('the container to run', async () => {
      const result = await world.run(['inspect', 'abandoned']);
      return result.code === 0 && JSON.parse(result.stdout)[0].status === 'running'
        ? true
        : undefined;
    });
    const { process: pid1 } = await inspect('abandoned');
    cli.kill('SIGKILL');
    await waitFor('the container to die with its CLI', () => (isAlive(pid1) ? undefined : true));
    // Recorded by its shim's concluder, or by the first command after the shim is gone.
    const record = await waitFor('its end to be recorded', async () => {
      const inspected = await inspect('abandoned');
      return inspected.status === 'exited' ? inspected : undefined;
    });
    assert.equal(record.exitCode, 137);
    assert.equal(record.signal, 9);
    await world.run(['rm', 'abandoned']);
  });

  test('CLIs and supervisors killed at random points: every container ends up running or exited with a code, nothing leaks', async () => {
    await Promise.all([
      ...range(8).map((index) =>
        killedAfter(
          ['run', '--name', `fg-${index}`, 'busybox', 'sh', '-c', 'sleep 0.2; exit 7'],
          40 * index,
        ),
      ),
      ...range(4).map((index) =>
        killedAfter(['run', '-d', '--name', `bg-${index}`, 'busybox', 'sleep', '30'], 30 * index),
      ),
    ]);
    // Kill the detached supervisors too, wherever they are. A container listed a moment
    // ago may be gone: one whose creator was killed mid-way is collected by any command.
    for (const id of lines((await world.run(['ps', '-q'])).stdout)) {
      const record = await inspectIfThere(id);
      if (record?.name?.startsWith('bg-')) process.kill(record.supervisor.pid, 'SIGKILL');
    }
    await sleep(300);
    const { stdout } = await world.run(['ps', '-a', '-q']);
    for (const id of lines(stdout)) {
      const record = await inspectIfThere(id);
      if (record === null) continue;
      if (record.status === 'running') {
        assert.ok(isAlive(record.process), `${record.name} runs for real`);
        continue;
      }
      assert.equal(record.status, 'exited', `${record.name}`);
      // Its own code, or killed with its supervisor: never unknown.
      assert.ok(
        record.exitCode === 7 || (record.exitCode === 137 && record.signal === 9),
        `${record.name}: exit ${record.exitCode} (${record.error})`,
      );
    }
    await world.run(['rm', '-f', ...lines(stdout)]);
    await world.check();
  });

  test('what a kill during creation leaves is collected: a stale name, a half-made directory, a reserved record', async () => {
    const containers = join(world.root, 'containers');
    const ghostId = 'a'.repeat(64);
    symlinkSync(ghostId, join(world.root, 'names', 'ghost'));
    mkdirSync(join(containers, `.new-${DEAD.pid}-${'b'.repeat(64)}`));
    const runtime = Runtime.open({ root: world.root, cgroupParent: world.cgroupParent });
    const reservedId = 'c'.repeat(64);
    runtime.store.reserve({
      id: reservedId,
      name: 'reserved',
      hostname: 'reserved',
      config: runtime.configure(
        parseContainerSpec({ rootfs: image, command: ['true'], name: 'reserved' }),
        { kind: 'any-directory' },
      ),
      status: 'created',
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      exitCode: null,
      signal: null,
      oomKilled: false,
      requestedEnd: null,
      paused: false,
      error: null,
      process: null,
      supervisor: DEAD,
      detached: false,
      usage: null,
      network: { mode: 'none' },
    });
    const ghost = await world.run(['run', '-d', '--name', 'ghost', 'busybox', 'sleep', '30']);
    assert.equal(ghost.code, 0, 'a name whose container never came to be is free');
    assert.deepEqual(lines((await world.run(['ps', '-aq'])).stdout), [ghost.stdout.slice(0, 12)]);
    assert.equal((await world.run(['run', '-d', '--name', 'reserved', 'busybox', 'true'])).code, 0);
    assert.equal(transitionsByContainer(world.root).has(reservedId), false);
    await world.run(['rm', '-f', 'ghost', 'reserved']);
  });

  test('a damaged state.json: listed as damaged, never killed, removable with rm -f, its name freed', async () => {
    for (const damage of ['{"format":1,"record":', '{}']) {
      const id = (
        await world.run(['run', '-d', '--name', 'damaged', 'busybox', 'sleep', '30'])
      ).stdout.trim();
      const { process: pid1 } = await inspect(id);
      writeFileSync(join(world.root, 'containers', id, 'state.json'), damage);
      const ps = await world.run(['ps', '-a']);
      assert.equal(ps.code, 0, ps.stderr);
      assert.match(ps.stdout, new RegExp(`${id.slice(0, 12)} .*Damaged: state\\.json`));
      for (const command of [['ps'], ['run', '--rm', 'busybox', 'true'], ['stop', 'damaged']])
        await world.run(command);
      assert.ok(isAlive(pid1), 'no collection kills a container for its damaged record');
      const refused = await world.run(['rm', 'damaged']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /damaged record .*: use rm -f/);
      assert.equal((await world.run(['rm', '-f', 'damaged'])).code, 0);
      await waitFor('its processes to be killed', () => (isAlive(pid1) ? undefined : true));
      assert.deepEqual(lines((await world.run(['ps', '-aq'])).stdout), []);
    }
    const reused = await world.run(['run', '--rm', '--name', 'damaged', 'busybox', 'true']);
    assert.equal(reused.code, 0, reused.stderr);
  });

  test('inspect A B: what exists is printed, each missing one is an error, exit 1', async () => {
    await world.run(['run', '-d', '--name', 'present', 'busybox', 'sleep', '30']);
    const result = await world.run(['inspect', 'present', 'absent']);
    assert.equal(result.code, 1);
    assert.equal((JSON.parse(result.stdout) as ContainerView[])[0]?.name, 'present');
    assert.equal(result.stderr, 'tocker: no such container: absent\n');
    await world.run(['rm', '-f', 'present']);
  });
});

/** Writes zeros into `file` until the filesystem refuses another byte. */
function fillUp(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const chunk of [Buffer.alloc(1 << 20), Buffer.alloc(4096), Buffer.alloc(1)]) {
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe('a full state disk (TOCKER_ROOT on a 24 MiB tmpfs of its own)', () => {
  const mountPoint = scratchDir('full');
  execFileSync('mount', [
    '-t',
    'tmpfs',
    '-o',
    'size=24m,mode=0700',
    `tocker-test-${process.pid}`,
    mountPoint,
  ]);
  const full = new CliRoot({
    root: mountPoint,
    name: 'full',
    dispose: () => {
      execFileSync('umount', [mountPoint]);
      rmdirSync(mountPoint);
    },
  });
  after(() => full.cleanup());

  test('run is refused with one clear line; ps, inspect, stop, kill and rm -f work; nothing recorded is lost once space is back', async () => {
    const started = async (args: string[]) => {
      const result = await full.run(['run', '-d', ...args]);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    };
    const stopped = await started(['--name', 'stopped', 'busybox', 'sleep', '30']);
    const removed = await started(['--name', 'removed', 'busybox', 'sleep', '30']);
    const ending = await started(['--name', 'ending', 'busybox', 'sh', '-c', 'sleep 1.5; exit 3']);
    const chatty = await started([
      '--name',
      'chatty',
      'busybox',
      'sh',
      '-c',
      // ~10 KB a second: more than what is left of the log's last page.
      'i=0; while :; do printf "line-%d %0200d\\n" $i 0; i=$((i+1)); sleep 0.02; done',
    ]);
    const filler = join(mountPoint, 'filler');
    fillUp(filler);

    const refused = await full.run(['run', '--rm', 'busybox', 'true']);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /^tocker: TOCKER_ROOT is full \(.*\): free some space/);
    assert.equal(lines(refused.stderr).length, 1);
    assert.equal(
      lines((await full.run(['ps', '-aq'])).stdout).length,
      4,
      'the refused run left nothing',
    );

    const exited = await waitFor('the exit to be recorded on the full disk', async () => {
      const record = JSON.parse((await full.run(['inspect', 'ending'])).stdout)[0];
      return record.status === 'exited' ? record : undefined;
    });
    assert.equal(exited.exitCode, 3);
    assert.equal((await full.run(['stop', '-t', '1', 'stopped'])).code, 0);
    const stop = JSON.parse((await full.run(['inspect', 'stopped'])).stdout)[0];
    assert.deepEqual([stop.status, stop.exitCode], ['exited', 137]);
    assert.equal((await full.run(['kill', '-s', 'USR1', 'removed'])).code, 0);
    assert.equal((await full.run(['rm', '-f', 'removed'])).code, 0);
    assert.deepEqual(
      lines((await full.run(['ps', '-aq'])).stdout).sort(),
      [chatty.slice(0, 12), ending.slice(0, 12), stopped.slice(0, 12)].sort(),
    );
    const talking = JSON.parse((await full.run(['inspect', 'chatty'])).stdout)[0];
    assert.equal(talking.status, 'running', 'a full disk stops its log, not the container');
    assert.ok(existsSync(`/proc/${talking.pid}`), 'and it really runs');

    rmSync(filler);
    const log = await waitFor('the log to say what it lost', async () => {
      const text = (await full.run(['logs', 'chatty'])).stdout;
      const notice =
        /\[tocker: \d+ bytes of output were not logged: TOCKER_ROOT was full\]\nline-\d+ /;
      return notice.test(text) ? text : undefined;
    });
    assert.match(log, /^line-0 0{200}$/m);
    assert.equal((await full.run(['rm', '-f', 'chatty'])).code, 0);
    await full.run(['ps']); // any command catches up with what could not be written
    const transitions = transitionsByContainer(mountPoint);
    assert.deepEqual([...transitions.keys()].sort(), [chatty, ending, removed, stopped].sort());
    assert.deepEqual(transitions.get(stopped), ['created', 'started', 'exited']);
    assert.deepEqual(transitions.get(ending), ['created', 'started', 'exited']);
    assert.deepEqual(transitions.get(removed), ['created', 'started', 'exited', 'removed']);
    assert.deepEqual(
      readdirSync(join(mountPoint, 'containers')).filter((entry) => entry.startsWith('.')),
      [],
      'removals waiting for space are finished',
    );
    await full.run(['rm', stopped, ending]);
  });
});
