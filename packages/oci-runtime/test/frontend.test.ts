/**
 * tocker-runtime's C front end against containers made the way create will make them
 * (test/fixture.ts), since the real create is not built yet.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { SHIM_PATH } from '../../runtime/src/paths.js';
import { compileFrontEnd } from '../front-end.mjs';
import { RuntimeLog } from '../src/log.js';
import { FIFO_FILE, type OciHook, readOciStates, stateDirectory } from '../src/state.js';
import {
  type Fixture,
  FixtureHost,
  type FixtureOptions,
  INIT,
  type RuntimeResult,
} from './fixture.js';

let host: FixtureHost;

const runtime = (...args: string[]): RuntimeResult => host.runtime(...args);

function ok(...args: string[]): string {
  const result = runtime(...args);
  assert.equal(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** The error: rc 1 and runc's text line on stderr. */
function refused(message: string, ...args: string[]): void {
  const result = runtime(...args);
  assert.equal(result.status, 1, `${args.join(' ')} should fail`);
  assert.match(result.stderr, /^time="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" level=error msg=".*"\n$/);
  assert.equal(JSON.parse(result.stderr.slice(result.stderr.indexOf('msg=') + 4)), message);
}

function state(id: string): { status: string; pid: number; [key: string]: unknown } {
  return JSON.parse(ok('state', id));
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

const createFixture = (id: string, options?: FixtureOptions): Promise<Fixture> =>
  host.create(id, options);

before(() => {
  host = new FixtureHost('ocifront');
});

/** A failed test's containers go, so that the next tests see only their own. */
afterEach(() => host.deleteLeftovers());

after(() => host.dispose());

/** Nothing of the container left: no state directory, no cgroup. */
function assertGone(fixture: Fixture): void {
  assert.equal(
    existsSync(stateDirectory(host.root, fixture.id)),
    false,
    'the state directory is gone',
  );
  for (const dir of fixture.cgroups) assert.equal(existsSync(dir), false, `${dir} is gone`);
}

describe('tocker-runtime front end', () => {
  test('created, started, running: state, start and the fifo handshake', async () => {
    const fixture = await createFixture('h1-life', { annotations: { 'org.example/a': 'b"c' } });
    const created = state(fixture.id);
    assert.deepEqual(
      { ...created, created: undefined },
      {
        ociVersion: '1.0.2',
        id: 'h1-life',
        pid: fixture.pid,
        status: 'created',
        bundle: host.scratch,
        rootfs: join(host.scratch, 'rootfs'),
        created: undefined,
        owner: '',
        annotations: { 'org.example/a': 'b"c' },
      },
    );
    ok('start', fixture.id);
    assert.equal(existsSync(join(stateDirectory(host.root, fixture.id), FIFO_FILE)), false);
    await until('the init to exec sleep', () =>
      readFileSync(`/proc/${fixture.pid}/comm`, 'utf8').startsWith('sleep'),
    );
    assert.equal(state(fixture.id).status, 'running');
    refused('cannot start an already running container', 'start', fixture.id);
    // The TypeScript listing computes the same status.
    const listed = readOciStates(host.root).find((entry) => entry.id === fixture.id);
    assert.equal(listed?.status, 'running');
    assert.equal(listed?.pid, fixture.pid);
    ok('delete', '--force', fixture.id);
    assertGone(fixture);
  });

  test('an init that dies before start: start fails, the status is stopped', async () => {
    const fixture = await createFixture('h1-early', { env: { NOFIFO: '1' } });
    const started = Date.now();
    refused('cannot start a container that has stopped', 'start', fixture.id);
    assert.ok(Date.now() - started < 3000, 'start noticed the init end through its pidfd');
    assert.equal(state(fixture.id).status, 'stopped');
    assert.equal(state(fixture.id).pid, 0);
    refused('cannot start a container that has stopped', 'start', fixture.id);
    ok('delete', fixture.id);
    assertGone(fixture);
  });

  test('unknown ids: "container does not exist"; delete --force is silent', () => {
    for (const command of ['state', 'start', 'kill', 'pause', 'resume', 'ps', 'delete'])
      refused('container does not exist', command, 'h1-nothing');
    const forced = runtime('delete', '--force', 'h1-nothing');
    assert.deepEqual(forced, { status: 0, stdout: '', stderr: '' });
    refused('invalid container id: ../x', 'state', '../x');
  });

  test('kill: signals by name (any case, with or without SIG) and number; stopped is "not running"', async () => {
    const byName = await createFixture('h1-kill-name');
    ok('start', byName.id);
    ok('kill', byName.id, 'sigusr1'); // sleep's default action for USR1 ends it
    await until('the init to end', () => !alive(byName.pid));
    assert.equal(state(byName.id).status, 'stopped');
    refused('container not running', 'kill', byName.id);
    ok('delete', byName.id);
    assertGone(byName);

    const byNumber = await createFixture('h1-kill-number');
    ok('start', byNumber.id);
    refused('unknown signal "NOPE"', 'kill', byNumber.id, 'NOPE');
    ok('kill', byNumber.id, '15');
    await until('the init to end', () => !alive(byNumber.pid));
    ok('delete', byNumber.id);

    const defaulted = await createFixture('h1-kill-default');
    ok('start', defaulted.id);
    ok('kill', defaulted.id); // SIGTERM
    await until('the init to end', () => !alive(defaulted.pid));
    ok('delete', defaulted.id);

    // KILL on a created container: it is stopped (runc alike).
    const created = await createFixture('h1-kill-created');
    ok('kill', created.id, 'KILL');
    await until('the init to end', () => !alive(created.pid));
    assert.equal(state(created.id).status, 'stopped');
    ok('delete', created.id);
    assertGone(created);
  });

  test('ps lists the cgroup; kill reaches the init alone, --all every process', async () => {
    const fixture = await createFixture('h1-all', { env: { CHILD: '1' } });
    assert.deepEqual(JSON.parse(ok('ps', '--format', 'json', fixture.id)), [fixture.pid]);
    ok('start', fixture.id);
    await until(
      'the second process',
      () => JSON.parse(ok('ps', '--format=json', fixture.id)).length === 2,
    );
    const pids: number[] = JSON.parse(ok('ps', '--format', 'json', fixture.id));
    const other = pids.find((pid) => pid !== fixture.pid) ?? 0;
    assert.match(ok('ps', fixture.id), /^PID +CMD\n(\d+ +sleep\n){2}$/);
    ok('kill', fixture.id, 'TERM');
    await until('the init to end', () => !alive(fixture.pid));
    assert.ok(alive(other), 'the other process outlives a signal to the init');
    assert.equal(state(fixture.id).status, 'stopped');
    ok('kill', '--all', fixture.id, 'KILL'); // runc 1.1 too takes --all on a stopped container
    await until('the other process to end', () => !alive(other));
    ok('delete', fixture.id);
    assertGone(fixture);
  });

  test('delete: created goes without --force, running needs it, --force kills every process', async () => {
    const created = await createFixture('h1-del-created');
    ok('delete', created.id);
    assert.equal(alive(created.pid), false);
    assertGone(created);

    const running = await createFixture('h1-del-running', { env: { CHILD: '1' } });
    ok('start', running.id);
    refused(
      'cannot delete container h1-del-running that is not stopped: running',
      'delete',
      running.id,
    );
    await until(
      'the second process',
      () => JSON.parse(ok('ps', '--format', 'json', running.id)).length === 2,
    );
    const pids: number[] = JSON.parse(ok('ps', '--format', 'json', running.id));
    ok('delete', '-f', running.id);
    for (const pid of pids) assert.equal(alive(pid), false, `${pid} was killed`);
    assertGone(running);

    // With a PID namespace of its own, SIGKILL to the init alone (the kernel ends the rest):
    // a leftover in the cgroup (impossible then, forced here) is killed by the cgroup removal.
    const own = await createFixture('h1-del-ownpid', {
      env: { CHILD: '1' },
      ownPidNamespace: true,
    });
    ok('start', own.id);
    await until(
      'the second process',
      () => JSON.parse(ok('ps', '--format', 'json', own.id)).length === 2,
    );
    ok('delete', '--force', own.id);
    assertGone(own);
  });

  test('pause and resume through the v1 freezer', async () => {
    const fixture = await createFixture('h1-pause');
    refused('container not running', 'pause', fixture.id);
    ok('start', fixture.id);
    refused('container not paused', 'resume', fixture.id);
    ok('pause', fixture.id);
    assert.equal(state(fixture.id).status, 'paused');
    assert.equal(readFileSync(join(fixture.cgroups[0] ?? '', 'freezer.state'), 'utf8'), 'FROZEN\n');
    refused('container not running', 'pause', fixture.id);
    refused('cannot delete container h1-pause that is not stopped: paused', 'delete', fixture.id);
    ok('resume', fixture.id);
    assert.equal(state(fixture.id).status, 'running');
    ok('pause', fixture.id);
    // KILL reaches a frozen container: it is thawed so that it can die.
    ok('kill', fixture.id, 'KILL');
    await until('the init to end', () => !alive(fixture.pid));
    assert.equal(state(fixture.id).status, 'stopped');
    ok('delete', fixture.id);
    assertGone(fixture);

    const forced = await createFixture('h1-pause-force');
    ok('start', forced.id);
    ok('pause', forced.id);
    ok('delete', '--force', forced.id);
    assert.equal(alive(forced.pid), false);
    assertGone(forced);
  });

  test('hooks: poststart on start, poststop on delete, with argv, env and the state on stdin', async () => {
    const hooks = join(host.scratch, 'hooks');
    mkdirSync(hooks);
    const recorder = join(hooks, 'record.sh');
    // No PATH in a hook's environment unless its config gives one: absolute paths only.
    writeFileSync(
      recorder,
      '#!/bin/sh\nprintf "%s\\n" "$@" > "$1.args"\n/usr/bin/env > "$1.env"\n/bin/cat > "$1.stdin"\n',
    );
    const failing = join(hooks, 'fail.sh');
    writeFileSync(failing, '#!/bin/sh\necho out\necho err >&2\nexit 3\n');
    const slow = join(hooks, 'slow.sh');
    writeFileSync(slow, '#!/bin/sh\nexec /bin/sleep 30\n');
    for (const file of [recorder, failing, slow]) chmodSync(file, 0o755);
    const record = (name: string, extra: Partial<OciHook> = {}): OciHook => ({
      path: recorder,
      args: ['recorder', join(hooks, name), 'more'],
      env: [`HOOK=${name}`],
      timeout: null,
      ...extra,
    });
    const fixture = await createFixture('h1-hooks', {
      annotations: { a: 'b' },
      hooks: {
        poststart: [
          record('poststart'),
          { path: failing, args: [failing], env: [], timeout: 5 },
          { path: slow, args: [slow], env: [], timeout: 1 },
        ],
        poststop: [{ path: failing, args: [failing], env: [], timeout: null }, record('poststop')],
      },
    });
    const started = runtime('start', fixture.id);
    assert.equal(started.status, 0, 'failing poststart hooks are warnings (crun; runc kills)');
    assert.match(
      started.stderr,
      /error running poststart hook #1: exit status 3, stdout: out, stderr: err/,
    );
    assert.match(started.stderr, /error running poststart hook #2: timeout after 1 seconds/);
    // argv[0] of a #! script is the script's path whatever it was given: the rest is checked.
    assert.equal(
      readFileSync(join(hooks, 'poststart.args'), 'utf8'),
      `${join(hooks, 'poststart')}\nmore\n`,
    );
    // The environment is the hook's alone (sh adds its own PWD).
    const env = readFileSync(join(hooks, 'poststart.env'), 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(
      env.filter((line) => !line.startsWith('PWD=')),
      ['HOOK=poststart'],
    );
    assert.deepEqual(JSON.parse(readFileSync(join(hooks, 'poststart.stdin'), 'utf8')), {
      ociVersion: '1.0.2',
      id: 'h1-hooks',
      pid: fixture.pid,
      status: 'running',
      bundle: host.scratch,
      rootfs: join(host.scratch, 'rootfs'),
      created: state(fixture.id).created,
      owner: '',
      annotations: { a: 'b' },
    });
    const deleted = runtime('delete', '--force', fixture.id);
    assert.equal(deleted.status, 0, 'failing poststop hooks are warnings');
    assert.match(deleted.stderr, /error running poststop hook #0: exit status 3/);
    const stopped = JSON.parse(readFileSync(join(hooks, 'poststop.stdin'), 'utf8'));
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.pid, undefined, 'no pid once stopped');
    assertGone(fixture);
  });

  test('--log-format json: the error alone in the log file, the bare message on stderr', () => {
    const log = join(host.scratch, 'oci-log');
    const result = runtime('--log-format=json', '--log', log, 'state', 'h1-none');
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'container does not exist\n');
    // podman parses the whole file as one object.
    const entry = JSON.parse(readFileSync(log, 'utf8'));
    assert.deepEqual(Object.keys(entry), ['level', 'msg', 'time']);
    assert.equal(entry.level, 'error');
    assert.equal(entry.msg, 'container does not exist');
    const text = join(host.scratch, 'text-log');
    runtime('--log', text, 'kill', 'h1-none', '9');
    assert.match(
      readFileSync(text, 'utf8'),
      /^time=".*" level=error msg="container does not exist"\n$/,
    );
  });

  test('src/log.ts writes what the C front end writes (text and JSON, with escapes)', () => {
    const id = 'a"b\\c\nd\te\u0001é';
    for (const format of ['text', 'json'] as const) {
      const fromC = join(host.scratch, `c.${format}`);
      const fromTs = join(host.scratch, `ts.${format}`);
      const result = runtime('--log', fromC, '--log-format', format, 'state', id);
      assert.equal(result.status, 1);
      new RuntimeLog({ file: fromTs, format, debug: false }).error(`invalid container id: ${id}`);
      const withoutTime = (file: string) =>
        readFileSync(file, 'utf8').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/, 'TIME');
      assert.equal(withoutTime(fromTs), withoutTime(fromC));
    }
  });

  test('global flags and informational commands', () => {
    refused(
      '--systemd-cgroup is not supported: tocker-runtime manages cgroups through cgroupfs only',
      '--systemd-cgroup',
      'state',
      'x',
    );
    refused(
      '--rootless=true is not supported: tocker-runtime runs as root',
      '--rootless',
      'true',
      'list',
    );
    ok('--rootless=false', '--criu', 'criu', 'list');
    assert.match(ok('--version'), /^tocker-runtime version \S+\nspec: 1\.0\.2\n$/);
    const features = JSON.parse(ok('features'));
    assert.equal(features.linux.cgroup.systemd, false);
    assert.deepEqual(features.hooks.length, 6);
    const bundle = join(host.scratch, 'bundle');
    mkdirSync(bundle);
    ok('spec', '--bundle', bundle);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    assert.equal(config.root.path, 'rootfs');
    assert.deepEqual(config.process.args, ['sh']);
    refused(`File ${bundle}/config.json exists. Remove it first`, 'spec', '-b', bundle);
    refused('tocker-runtime: "state" requires exactly 1 argument(s)', 'state');
    refused(
      'tocker-runtime: "kill": flag provided but not defined: --bogus',
      'kill',
      '--bogus',
      'x',
    );
  });

  test('list: table, quiet and JSON', async () => {
    const fixture = await createFixture('h1-list');
    const listed = JSON.parse(ok('list', '--format', 'json'));
    assert.deepEqual(
      listed.map((entry: { id: string; status: string }) => [entry.id, entry.status]),
      [['h1-list', 'created']],
    );
    assert.equal(ok('list', '-q'), 'h1-list\n');
    assert.match(ok('list'), /^ID +PID +STATUS +BUNDLE +CREATED +OWNER\nh1-list +\d+ +created /);
    ok('delete', fixture.id);
    assert.equal(ok('list', '--format=json'), '[]\n');
  });

  /**
   * run, with a stand-in for the Node half (a front end built with /bin/sh as its "node"):
   * it records its argv, starts the fixture's init in the background and ends once the
   * record is written, so the init is reparented to run, the subreaper, as with the real one.
   */
  test('run: create through the Node half, start, wait as the subreaper, forward signals, delete', async () => {
    const dir = join(host.scratch, 'run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'init.sh'), INIT);
    const create = join(dir, 'create.sh');
    writeFileSync(
      create,
      [
        'printf "%s\\n" "$@" > "$FAKE_DIR/create.args"',
        'sh "$FAKE_DIR/init.sh" "$FAKE_FIFO" $FAKE_CGROUPS > "$FAKE_DIR/init.out" &',
        'echo $! > "$FAKE_DIR/init.pid"',
        'while [ ! -e "$FAKE_RECORD" ]; do sleep 0.01; done',
        '',
      ].join('\n'),
    );
    const binary = join(dir, 'tocker-runtime');
    compileFrontEnd({
      output: binary,
      node: '/bin/sh',
      compileScript: create,
      shimPath: SHIM_PATH,
    });

    const runOnce = async (id: string, detach: boolean) => {
      const { cgroups, fifo } = host.prepare(id);
      for (const file of ['init.out', 'init.pid']) writeFileSync(join(dir, file), '');
      const run = spawn(
        binary,
        ['--root', host.root, 'run', ...(detach ? ['-d'] : []), '--bundle', host.scratch, id],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: {
            PATH: process.env.PATH,
            FAKE_DIR: dir,
            FAKE_FIFO: fifo,
            FAKE_CGROUPS: cgroups.join(' '),
            FAKE_RECORD: join(stateDirectory(host.root, id), 'record.plan'),
          },
        },
      );
      let stderr = '';
      run.stderr?.on('data', (chunk) => {
        stderr += chunk;
      });
      const exited = new Promise<number | null>((resolve) => run.once('exit', resolve));
      await until('the init to be ready', () =>
        readFileSync(join(dir, 'init.out'), 'utf8').startsWith('ready'),
      );
      const fixture = host.record(id, Number(readFileSync(join(dir, 'init.pid'), 'utf8')), cgroups);
      return { run, exited, fixture, stderr: () => stderr };
    };

    const foreground = await runOnce('h1-run', false);
    await until('the container to run', () => state('h1-run').status === 'running');
    assert.deepEqual(readFileSync(join(dir, 'create.args'), 'utf8').split('\n'), [
      '--root',
      host.root,
      '--log-format',
      'text',
      'create',
      '--bundle',
      host.scratch,
      'h1-run',
      '',
    ]);
    foreground.run.kill('SIGTERM'); // passed on to the init (sleep), which it ends
    assert.equal(await foreground.exited, 128 + 15, foreground.stderr());
    assertGone(foreground.fixture);

    const detached = await runOnce('h1-run-detached', true);
    assert.equal(await detached.exited, 0, detached.stderr());
    assert.equal(state('h1-run-detached').status, 'running');
    ok('delete', '--force', 'h1-run-detached');
    assertGone(detached.fixture);
  });
});
