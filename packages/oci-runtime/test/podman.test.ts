// podman 4.3 (through conmon) driving each OCI runtime of the list, as a user would: the
// runtime must look to podman exactly like runc does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../runtime/test/helpers.js';
import { Compiler } from './engines/compiler.js';
import { Podman } from './engines/podman.js';
import { engineTestRuntimes, LoggedRuntime } from './engines/runtimes.js';

/** A PID 1 that ignores SIGTERM (no handler: the kernel drops it) and never ends. */
const IDLE = ['sleep', '1000'];

for (const runtime of engineTestRuntimes) {
  const title = runtime.label ?? runtime.name;
  describe(`podman with ${title}`, { timeout: 120_000 }, () => {
    let podman: Podman;
    let compiler: Compiler | null = null;
    before(async () => {
      podman = await Podman.open(runtime);
      // podman gives the runtime no --root: the compiler serves the default one.
      if (runtime.warm) compiler = await Compiler.start(runtime.defaultRoot);
    });
    after(async () => {
      await compiler?.stop();
      await podman?.close();
    });

    const inspect = async (id: string, format: string) =>
      (await podman.checked(['inspect', '--format', format, id])).trim();
    const logs = async (id: string) => podman.checked(['logs', id]);

    test(`podman with ${title}: run --rm echo hi`, async () => {
      const result = await podman.run(['--rm'], ['echo', 'hi']);
      assert.equal(result.stderr, '');
      assert.equal(result.stdout, 'hi\n');
      assert.equal(result.code, 0);
    });

    test(`podman with ${title}: the exit code of sh -c 'exit 3'`, async () => {
      const result = await podman.run(['--rm'], ['sh', '-c', 'exit 3']);
      assert.equal(result.code, 3, result.stderr);
    });

    test(`podman with ${title}: a missing command gives 127 and podman's error`, async () => {
      const result = await podman.run(['--rm'], ['/nonexistent']);
      assert.equal(result.code, 127, result.stderr);
      assert.match(result.stderr, /\/nonexistent/);
      assert.match(result.stderr, /no such file or directory/);
      // podman's own words once it matched the runtime's error as "not found".
      assert.match(result.stderr, /OCI runtime attempted to invoke a command that was not found/);
    });

    test(`podman with ${title}: run -d, exec, exec -it`, async () => {
      const id = await podman.detached([], IDLE);
      assert.equal(await inspect(id, '{{.State.Status}}'), 'running');
      const exec = await podman.podman([
        'exec',
        id,
        'sh',
        '-c',
        'echo $((6 * 7)); cat /proc/1/comm',
      ]);
      assert.equal(exec.stdout, '42\nsleep\n', exec.stderr);
      assert.equal((await podman.podman(['exec', id, 'sh', '-c', 'exit 5'])).code, 5);

      const terminal = podman.terminal(['exec', '-it', id, 'sh']);
      await terminal.expect(/\/ # /);
      terminal.type('tty; echo "sum=$((40 + 2))"\r');
      await terminal.expect(/\/dev\/pts\/\d+\r?\n/);
      await terminal.expect(/sum=42/);
      terminal.type('exit 7\r');
      assert.equal(await terminal.exited, 7);
      await podman.checked(['rm', '--force', '--time', '0', id]);
    });

    test(`podman with ${title}: logs of stdout and stderr`, async () => {
      const id = await podman.detached([], ['sh', '-c', 'echo to-stdout; echo to-stderr >&2']);
      assert.equal((await podman.checked(['wait', id])).trim(), '0');
      const result = await podman.podman(['logs', id]);
      assert.equal(result.stdout, 'to-stdout\n');
      assert.equal(result.stderr, 'to-stderr\n');
      await podman.checked(['rm', id]);
    });

    test(`podman with ${title}: pause freezes the container, unpause thaws it`, async () => {
      const id = await podman.detached(
        [],
        ['sh', '-c', 'i=0; while true; do i=$((i + 1)); echo $i > /tmp/count; usleep 10000; done'],
      );
      const pid = await inspect(id, '{{.State.Pid}}');
      const count = () => Number(readFileSync(`/proc/${pid}/root/tmp/count`, 'utf8') || '0');
      await waitFor('the counter to run', () => (count() > 0 ? true : undefined));
      await podman.checked(['pause', id]);
      assert.equal(await inspect(id, '{{.State.Status}}'), 'paused');
      const frozenAt = count();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(count(), frozenAt, 'the counter moved while paused');
      await podman.checked(['unpause', id]);
      assert.equal(await inspect(id, '{{.State.Status}}'), 'running');
      await waitFor('the counter to move again', () => (count() > frozenAt ? true : undefined));
      await podman.checked(['rm', '--force', '--time', '0', id]);
    });

    test(`podman with ${title}: stop of a PID 1 that ignores TERM ends in SIGKILL`, async () => {
      const id = await podman.detached([], IDLE);
      await podman.checked(['stop', '--time', '1', id]);
      assert.equal(await inspect(id, '{{.State.Status}}'), 'exited');
      assert.equal(await inspect(id, '{{.State.ExitCode}}'), '137');
      const kills = podman.runtime
        .calls()
        .filter(({ argv }) => LoggedRuntime.subcommand(argv) === 'kill' && argv.includes(id))
        .map(({ argv }) => argv.at(-1));
      assert.deepEqual(kills, ['15', '9']);
      await podman.checked(['rm', id]);
    });

    test(`podman with ${title}: kill -s USR1 reaches the container's trap`, async () => {
      const id = await podman.detached(
        [],
        ['sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.1; done'],
      );
      await waitFor('the trap to be set', async () =>
        (await logs(id)).includes('ready') ? true : undefined,
      );
      await podman.checked(['kill', '--signal', 'USR1', id]);
      await waitFor('the trap to run', async () =>
        (await logs(id)).includes('got-usr1') ? true : undefined,
      );
      assert.equal(await inspect(id, '{{.State.Status}}'), 'running');
      await podman.checked(['rm', '--force', '--time', '0', id]);
    });

    test(`podman with ${title}: rm -f of a running container`, async () => {
      const id = await podman.detached([], IDLE);
      const pid = Number(await inspect(id, '{{.State.Pid}}'));
      assert.ok(pid > 0);
      await podman.checked(['rm', '--force', '--time', '1', id]);
      assert.equal(
        (await podman.checked(['ps', '--all', '--quiet'])).includes(id.slice(0, 12)),
        false,
      );
      await waitFor('its init to be gone', () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      });
    });

    test(`podman with ${title}: run -it on a pty echoes what is typed`, async () => {
      const terminal = podman.terminalRun(['-it', '--rm'], ['sh']);
      await terminal.expect(/\/ # /);
      terminal.type('tty\r');
      await terminal.expect(/\/dev\/pts\/0\r?\n/);
      let mark = terminal.output.length;
      terminal.type('read line; echo "got:$line"\r');
      terminal.type('typed-in\r');
      await terminal.expect(/got:typed-in/, mark);
      mark = terminal.output.length;
      terminal.type('exit 4\r');
      assert.equal(await terminal.exited, 4);
      const consoleSockets = podman.runtime
        .calls()
        .filter(({ argv }) => argv.includes('--console-socket'));
      assert.ok(consoleSockets.length >= 2, 'run -it and exec -it pass a console socket');
    });

    test(`podman with ${title}: nothing of the containers is left`, async () => {
      await waitFor('conmon to exit', () => (podman.conmons().length === 0 ? true : undefined));
      assert.deepEqual(await podman.leftovers(), {
        containers: [],
        mounts: [],
        cgroups: [],
        runtimeState: [],
        conmons: [],
      });
      // The runtime, not something else, ran these containers: podman called each of these.
      const subcommands = new Set(
        podman.runtime.calls().map(({ argv }) => LoggedRuntime.subcommand(argv)),
      );
      for (const subcommand of ['create', 'start', 'exec', 'kill', 'pause', 'resume', 'delete'])
        assert.ok(subcommands.has(subcommand), `podman never called ${title} ${subcommand}`);
    });
  });
}
