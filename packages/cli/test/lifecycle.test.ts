import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliRoot, lines, tockerBin, waitFor } from './helpers.js';

const world = new CliRoot();
after(() => world.cleanup());

async function runDetached(args: string[]): Promise<string> {
  const result = await world.run(['run', '-d', ...args]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^[0-9a-f]{64}\n$/);
  return result.stdout.trim();
}

async function inspect(
  reference: string,
): Promise<{ status: string; exitCode: number | null; error: string | null }> {
  const result = await world.run(['inspect', reference]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout)[0];
}

describe('container lifecycle through the CLI (real containers)', () => {
  test('run -d, ps, logs, logs -f, and the exit recorded by the supervisor', async () => {
    const id = await runDetached([
      '--name',
      'talker',
      'busybox',
      'sh',
      '-c',
      'echo out; echo err >&2; sleep 0.5; echo late',
    ]);
    const ps = await world.run(['ps']);
    assert.match(ps.stdout, /talker/);
    const followed = await world.run(['logs', '-f', 'talker']);
    assert.deepEqual(lines(followed.stdout), ['out', 'err', 'late']);
    await waitFor('the exit to be recorded', async () =>
      (await inspect(id)).status === 'exited' ? true : undefined,
    );
    assert.equal((await inspect(id)).exitCode, 0);
    assert.doesNotMatch((await world.run(['ps'])).stdout, /talker/);
    assert.match((await world.run(['ps', '-a'])).stdout, /talker.*Exited \(0\)/);
    assert.deepEqual(lines((await world.run(['logs', id.slice(0, 8)])).stdout), [
      'out',
      'err',
      'late',
    ]);
    await world.run(['rm', 'talker']);
  });

  test('stop: SIGTERM first; a PID-1 shell ignores it, so SIGKILL follows after -t', async () => {
    const id = await runDetached(['busybox', 'sh', '-c', 'sleep 60']);
    const started = Date.now();
    const stop = await world.run(['stop', '-t', '1', id]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(Date.now() - started >= 1000, 'waited for the timeout before SIGKILL');
    assert.equal((await inspect(id)).exitCode, 137);
    await world.run(['rm', id]);
  });

  test('stop: a program that handles SIGTERM exits at once with its own status', async () => {
    const id = await runDetached([
      'busybox',
      'sh',
      '-c',
      'trap "exit 3" TERM; while :; do sleep 0.1; done',
    ]);
    await sleep(200);
    const started = Date.now();
    await world.run(['stop', '-t', '10', id]);
    assert.ok(Date.now() - started < 5000, 'no need to wait for the timeout');
    assert.equal((await inspect(id)).exitCode, 3);
    await world.run(['rm', id]);
  });

  test('kill -s delivers the signal; kill defaults to SIGKILL', async () => {
    const id = await runDetached([
      'busybox',
      'sh',
      '-c',
      'trap "echo got-usr1" USR1; while :; do sleep 0.1; done',
    ]);
    await sleep(200);
    assert.equal((await world.run(['kill', '-s', 'USR1', id])).code, 0);
    await waitFor('the trap to run', async () =>
      (await world.run(['logs', id])).stdout.includes('got-usr1') ? true : undefined,
    );
    assert.equal((await world.run(['kill', id])).code, 0);
    await waitFor('the exit', async () =>
      (await inspect(id)).status === 'exited' ? true : undefined,
    );
    assert.equal((await inspect(id)).exitCode, 137);
    await world.run(['rm', id]);
  });

  test('rm refuses a running container, rm -f kills and removes it with its files', async () => {
    const id = await runDetached(['--name', 'stubborn', 'busybox', 'sleep', '60']);
    const refused = await world.run(['rm', 'stubborn']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is running: stop it first or use rm -f/);
    assert.equal((await world.run(['rm', '-f', 'stubborn'])).code, 0);
    assert.equal(existsSync(join(world.root, 'containers', id)), false);
    const gone = await world.run(['inspect', 'stubborn']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no such container: stubborn/);
  });

  test('--rm removes the container and its writable layer when it exits', async () => {
    const result = await world.run([
      'run',
      '--rm',
      '--name',
      'ephemeral',
      'busybox',
      'sh',
      '-c',
      'echo data > /file',
    ]);
    assert.equal(result.code, 0);
    assert.equal((await world.run(['inspect', 'ephemeral'])).code, 1);
  });

  test('the writable layer is per container and the image is never modified', async () => {
    const writer = await world.run([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'echo changed > /etc/hostname-test; rm /bin/ls',
    ]);
    assert.equal(writer.code, 0, writer.stderr);
    const reader = await world.run([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'ls /etc/hostname-test; ls -d /bin',
    ]);
    assert.match(reader.stdout + reader.stderr, /No such file/);
    assert.match(reader.stdout, /\/bin/);
  });

  test('a name in use is refused, and the name is free again after rm', async () => {
    const id = await runDetached(['--name', 'unique', 'busybox', 'sleep', '60']);
    const clash = await world.run(['run', '--name', 'unique', 'busybox', 'true']);
    assert.equal(clash.code, 125);
    assert.match(clash.stderr, /the name "unique" is already in use/);
    assert.equal(lines(clash.stderr).length, 1);
    await world.run(['rm', '-f', id]);
    assert.equal((await world.run(['run', '--rm', '--name', 'unique', 'busybox', 'true'])).code, 0);
  });

  test('-i pipes stdin to the container; without -i stdin is empty', async () => {
    const piped = await world.run(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], {
      input: 'hello\nworld\n',
    });
    assert.equal(piped.stdout, 'HELLO\nWORLD\n');
    const closed = await world.run(['run', '--rm', 'busybox', 'sh', '-c', 'cat; echo end'], {
      input: 'ignored\n',
    });
    assert.equal(closed.stdout, 'end\n');
  });

  test('--init: PID 1 is the init, it forwards signals and reaps orphaned zombies', async () => {
    const id = await runDetached([
      '--init',
      'busybox',
      'sh',
      '-c',
      'trap "echo term-received; exit 7" TERM; (sleep 0.2 &) ; sleep 0.5; ps -o pid,stat,comm; while :; do sleep 0.1; done',
    ]);
    await sleep(1500);
    const logs = (await world.run(['logs', id])).stdout;
    assert.doesNotMatch(logs, / Z /, 'no zombie left');
    await world.run(['stop', '-t', '5', id]);
    assert.equal((await inspect(id)).exitCode, 7);
    assert.match((await world.run(['logs', id])).stdout, /term-received/);
    await world.run(['rm', id]);
  });

  test('interrupting a foreground run forwards the signal, a second one kills, and clean-up runs', async () => {
    const child = spawn(tockerBin, ['run', '--name', 'interrupted', 'busybox', 'sleep', '60'], {
      env: world.env,
      stdio: 'ignore',
    });
    const closed = new Promise((resolve) => child.on('close', resolve));
    await waitFor('the container to run', async () =>
      (await world.run(['ps'])).stdout.includes('interrupted') ? true : undefined,
    );
    child.kill('SIGINT');
    await sleep(200);
    child.kill('SIGINT');
    assert.equal(await closed, 137);
    assert.equal((await inspect('interrupted')).status, 'exited');
    await world.run(['rm', 'interrupted']);
    await world.check();
  });

  test('SIGKILL of a foreground CLI: its shim kills the container and records it (137, SIGKILL) at once', async () => {
    const child = spawn(tockerBin, ['run', '--name', 'orphan', 'busybox', 'sleep', '60'], {
      env: world.env,
      stdio: 'ignore',
    });
    const record = await waitFor('the container to run', async () => {
      const result = await world.run(['inspect', 'orphan']);
      const state = result.code === 0 ? JSON.parse(result.stdout)[0] : undefined;
      return state?.status === 'running' ? state : undefined;
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    // Its shim kills it and records that at once: no later command is needed for it.
    const after = await waitFor('its end to be recorded by its shim', async () => {
      const state = JSON.parse((await world.run(['inspect', 'orphan'])).stdout)[0];
      return state?.status === 'exited' ? state : undefined;
    });
    assert.equal(existsSync(`/proc/${record.pid}`), false);
    assert.deepEqual([after.exitCode, after.signal], [137, 9]);
    assert.deepEqual(world.cgroupDirs(), []);
    await world.run(['rm', 'orphan']);
  });
});
