// containerd 1.6 (through its runc-v2 shim) driving each OCI runtime of the list with ctr:
// --runc-binary is the shim's BinaryName option, as a Kubernetes runtime entry sets it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../runtime/test/helpers.js';
import { Compiler } from './engines/compiler.js';
import { Containerd } from './engines/containerd.js';
import { engineTestRuntimes, LoggedRuntime } from './engines/runtimes.js';

/** A PID 1 with no handler for SIGTERM (so it ignores it) that counts into /tmp/count. */
const COUNTER = [
  'sh',
  '-c',
  'i=0; while true; do i=$((i + 1)); echo $i > /tmp/count; usleep 10000; done',
];

for (const runtime of engineTestRuntimes) {
  const title = runtime.label ?? runtime.name;
  describe(`containerd with ${title}`, { timeout: 120_000 }, () => {
    let containerd: Containerd;
    let logged: LoggedRuntime;
    let compiler: Compiler | null = null;
    before(async () => {
      containerd = await Containerd.start();
      logged = new LoggedRuntime(runtime, containerd.dir);
      if (runtime.warm) compiler = await Compiler.start(containerd.runtimeStateRoot);
    });
    after(async () => {
      await compiler?.stop();
      await containerd?.close();
    });

    const fifos = () => ['--fifo-dir', join(containerd.dir, 'fifo')];
    const status = async (id: string) => (await containerd.tasks()).get(id)?.status;

    test(`containerd with ${title}: ctr run --rm echo hi`, async () => {
      const result = await containerd.run(logged, ['--rm'], 'echo', ['echo', 'hi']);
      assert.equal(result.stderr, '');
      assert.equal(result.stdout, 'hi\n');
      assert.equal(result.code, 0);
    });

    test(`containerd with ${title}: the exit code of sh -c 'exit 3'`, async () => {
      const result = await containerd.run(logged, ['--rm'], 'exit3', ['sh', '-c', 'exit 3']);
      assert.equal(result.code, 3, result.stderr);
    });

    test(`containerd with ${title}: a missing command is the runtime's error`, async () => {
      const result = await containerd.run(logged, ['--rm'], 'missing', ['/nonexistent']);
      assert.notEqual(result.code, 0);
      // The shim quotes the last error line of the runtime's JSON log.
      assert.match(
        result.stderr,
        /OCI runtime create failed: .*\/nonexistent.*no such file or directory/,
      );
      await containerd.ctr(['containers', 'rm', 'missing']);
    });

    test(`containerd with ${title}: run -d, task exec, ps, pause/resume, kill, kill -a, rm`, async () => {
      const id = 'detached';
      await containerd.checked([
        'run',
        '--detach',
        ...containerd.runtimeArgs(logged),
        'localhost/busybox:tocker-test',
        id,
        ...COUNTER,
      ]);
      assert.equal(await status(id), 'RUNNING');
      const pid = (await containerd.tasks()).get(id)?.pid ?? 0;
      const count = () => Number(readFileSync(`/proc/${pid}/root/tmp/count`, 'utf8') || '0');
      await waitFor('the counter to run', () => (count() > 0 ? true : undefined));

      const exec = await containerd.ctr([
        'task',
        'exec',
        ...fifos(),
        '--exec-id',
        'x',
        id,
        'sh',
        '-c',
        'echo $((6 * 7)); cat /proc/1/comm',
      ]);
      assert.equal(exec.stdout, '42\nsh\n', exec.stderr);
      const failing = await containerd.ctr([
        'task',
        'exec',
        ...fifos(),
        '--exec-id',
        'y',
        id,
        'sh',
        '-c',
        'exit 5',
      ]);
      assert.equal(failing.code, 5, failing.stderr);

      await containerd.checked([
        'task',
        'exec',
        ...fifos(),
        '--detach',
        '--exec-id',
        'sleeper',
        id,
        'sleep',
        '1000',
      ]);
      const ps = await containerd.checked(['task', 'ps', id]);
      const pids = ps
        .split('\n')
        .slice(1)
        .map((row) => Number(row.trim().split(/\s+/)[0]))
        .filter(Boolean);
      assert.ok(pids.includes(pid), `ps shows the init ${pid}: ${ps}`);
      const cmdline = (shown: number) => readFileSync(`/proc/${shown}/cmdline`, 'utf8');
      assert.ok(
        pids.some((shown) => cmdline(shown) === 'sleep\x001000\x00'),
        `ps shows the detached exec: ${ps}`,
      );

      await containerd.checked(['task', 'pause', id]);
      assert.equal(await status(id), 'PAUSED');
      const frozenAt = count();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(count(), frozenAt, 'the counter moved while paused');
      await containerd.checked(['task', 'resume', id]);
      assert.equal(await status(id), 'RUNNING');
      await waitFor('the counter to move again', () => (count() > frozenAt ? true : undefined));

      // PID 1 has no handler for TERM: it stays. Then KILL to every process of the container.
      await containerd.checked(['task', 'kill', id]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(await status(id), 'RUNNING');
      await containerd.checked(['task', 'kill', '--all', '--signal', 'SIGKILL', id]);
      await waitFor('the task to stop', async () =>
        (await status(id)) === 'STOPPED' ? true : undefined,
      );
      await containerd.checked(['task', 'rm', id]);
      await containerd.checked(['containers', 'rm', id]);
      assert.deepEqual(await containerd.tasks(), new Map());

      const kills = logged
        .calls()
        .filter(({ argv }) => LoggedRuntime.subcommand(argv) === 'kill')
        .map(({ argv }) => argv.slice(argv.indexOf('kill') + 1));
      assert.deepEqual(kills, [
        [id, '15'],
        ['--all', id, '9'],
      ]);
    });

    test(`containerd with ${title}: run -t and task exec -t on a pty`, async () => {
      const id = 'tty';
      const terminal = containerd.terminal([
        'run',
        ...containerd.runtimeArgs(logged),
        '--tty',
        '--rm',
        'localhost/busybox:tocker-test',
        id,
        'sh',
      ]);
      await terminal.expect(/\/ # /);
      terminal.type('tty\r');
      // ctr leaves its own terminal raw, and the container's pty adds a \r of its own.
      await terminal.expect(/\/dev\/pts\/0\r*\n/);

      const exec = containerd.terminal([
        'task',
        'exec',
        ...fifos(),
        '--tty',
        '--exec-id',
        'shell',
        id,
        'sh',
      ]);
      await exec.expect(/\/ # /);
      exec.type('read line; echo "got:$line"\r');
      exec.type('typed-in\r');
      await exec.expect(/got:typed-in/);
      exec.type('exit 6\r');
      assert.equal(await exec.exited, 6);

      terminal.type('exit 4\r');
      assert.equal(await terminal.exited, 4);
      assert.ok(logged.calls().filter(({ argv }) => argv.includes('--console-socket')).length >= 2);
    });

    test(`containerd with ${title}: nothing of the containers is left`, async () => {
      assert.deepEqual(await containerd.leftovers(), {
        tasks: [],
        containers: [],
        mounts: [],
        cgroups: [],
        runtimeState: [],
      });
      // The runc-v2 shim ran this runtime (its BinaryName), not runc from its PATH.
      const calls = logged.calls();
      assert.ok(
        calls.length > 0 && calls.every(({ caller }) => caller.startsWith('containerd-shim')),
        JSON.stringify(calls.map(({ caller }) => caller)),
      );
      const subcommands = new Set(calls.map(({ argv }) => LoggedRuntime.subcommand(argv)));
      for (const subcommand of [
        'create',
        'start',
        'exec',
        'ps',
        'pause',
        'resume',
        'kill',
        'delete',
      ])
        assert.ok(subcommands.has(subcommand), `containerd never called ${title} ${subcommand}`);
    });
  });
}
