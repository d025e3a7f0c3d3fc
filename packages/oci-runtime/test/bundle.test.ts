// tocker-runtime's create on real bundles, driven as an engine would, without an engine:
// hooks in the spec's order with their state, create and start as two processes with the
// init blocked between them, namespaces joined by path, and the console socket.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import { Compiler } from './engines/compiler.js';
import { RUNTIME_BINARY } from './fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'tocker-oci-bundle-'));
const root = join(scratch, 'root');
const rootfs = join(scratch, 'rootfs');
/** Distinct cgroups per test run: runc's default (/<id>) is shared by the whole host. */
const cgroupParent = `/tocker-test-${process.pid}-ocibundle`;

/**
 * The runtime as an engine calls it. Its output goes to files, not pipes: a created
 * container holds create's stdio (they are its own), so a pipe would not end with create.
 */
function runtime(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = join(scratch, `out-${process.hrtime.bigint()}`);
  const err = `${out}.err`;
  const stdout = openSync(out, 'w');
  const stderr = openSync(err, 'w');
  try {
    const { status } = spawnSync(RUNTIME_BINARY, ['--root', root, ...args], {
      stdio: ['ignore', stdout, stderr],
      timeout: 20_000,
    });
    return { status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    closeSync(stdout);
    closeSync(stderr);
    rmSync(out);
    rmSync(err);
  }
}

/** A bundle of the busybox tree with `runc spec`'s shape, changed by `edit`. */
/** config.json as the tests edit it: runc spec's shape, loosely typed. */
interface ConfigJson {
  process: { args: string[]; terminal: boolean; consoleSize?: { height: number; width: number } };
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath?: string;
    uidMappings?: unknown[];
    gidMappings?: unknown[];
  };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  root: { path: string; readonly: boolean };
  hostname?: string;
  hooks?: unknown;
}

function bundle(name: string, edit: (config: ConfigJson) => void): string {
  const dir = join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const made = spawnSync(RUNTIME_BINARY, ['spec', '--bundle', dir], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  config.root = { path: rootfs, readonly: false };
  config.process.terminal = false;
  config.linux.cgroupsPath = `${cgroupParent}/${name}`;
  edit(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

function state(id: string): { status: string; pid: number } {
  const result = runtime('state', id);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

async function waitForStatus(id: string, status: string): Promise<void> {
  for (let tries = 0; tries < 100 && state(id).status !== status; tries++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(state(id).status, status);
}

before(() => {
  cpSync(DEFAULT_IMAGE, rootfs, { recursive: true, verbatimSymlinks: true });
});

after(() => {
  for (const id of ['hooks', 'blocked', 'joined', 'owner', 'console', 'badhook', 'userns', 'warm'])
    runtime('delete', '--force', id);
  for (const hierarchy of spawnSync('ls', ['/sys/fs/cgroup'], { encoding: 'utf8' }).stdout.split(
    '\n',
  )) {
    const dir = join('/sys/fs/cgroup', hierarchy, cgroupParent);
    if (hierarchy && existsSync(dir)) spawnSync('rmdir', [dir]);
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe('tocker-runtime create on real bundles', () => {
  test('hooks run in the spec order, each with its state; poststart after start, poststop at delete', async () => {
    const shared = join(scratch, 'shared');
    mkdirSync(shared);
    const log = join(shared, 'hooks.log');
    const hook = join(scratch, 'hook.sh');
    // Records its name, the status and pid of its state, and whether / is the container's,
    // in $LOG: the host's path of the log, or (startContainer) the container's.
    writeFileSync(
      hook,
      `#!/bin/sh\nstate=$(cat)\necho "$1 $(echo "$state" | sed -E 's/.*"status":"([a-z]+)".*"pid":([0-9]+).*/\\1 \\2/') $(test -e /tocker-container-mark && echo inside || echo host)" >> "$LOG"\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(rootfs, 'tocker-container-mark'), '');
    // startContainer runs inside the container: its path is the container's.
    cpSync(hook, join(rootfs, 'hook.sh'));
    const entry = (kind: string, path = hook, logPath = log) => ({
      path,
      args: ['hook.sh', kind],
      env: [`LOG=${logPath}`],
    });
    const dir = bundle('hooks', (config) => {
      config.process.args = ['true'];
      config.mounts.push({
        destination: '/shared',
        type: 'bind',
        source: shared,
        options: ['rbind'],
      });
      config.hooks = {
        prestart: [entry('prestart')],
        createRuntime: [entry('createRuntime')],
        createContainer: [entry('createContainer')],
        startContainer: [entry('startContainer', '/hook.sh', '/shared/hooks.log')],
        poststart: [entry('poststart')],
        poststop: [entry('poststop')],
      };
    });
    try {
      const created = runtime('create', '--bundle', dir, 'hooks');
      assert.equal(created.status, 0, created.stderr);
      const pid = state('hooks').pid;
      const started = runtime('start', 'hooks');
      assert.equal(started.status, 0, started.stderr);
      await waitForStatus('hooks', 'stopped');
      assert.equal(runtime('delete', 'hooks').status, 0);
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      assert.deepEqual(
        lines.map((line) => line.split(' ')[0]),
        ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
      );
      assert.equal(lines[0], `prestart creating ${pid} host`);
      assert.equal(lines[1], `createRuntime creating ${pid} host`);
      // In the container's namespaces (its PID 1) before its root changes: host paths.
      assert.equal(lines[2], 'createContainer creating 1 host');
      assert.equal(lines[3], 'startContainer created 1 inside');
      assert.match(lines[5] ?? '', /^poststop .*"status":"stopped"/);
    } finally {
      rmSync(join(rootfs, 'tocker-container-mark'), { force: true });
      rmSync(join(rootfs, 'hook.sh'), { force: true });
    }
  });

  test('a failing createRuntime hook fails create with its reason, and nothing is left', () => {
    const dir = bundle('badhook', (config) => {
      config.hooks = { createRuntime: [{ path: '/bin/false' }] };
    });
    const created = runtime('create', '--bundle', dir, 'badhook');
    assert.equal(created.status, 1);
    assert.match(created.stderr, /error running createRuntime hook #0: exit status 1/);
    assert.equal(runtime('state', 'badhook').status, 1);
    assert.equal(existsSync(join(root, 'badhook')), false);
  });

  test('create and start in two processes: the init waits, blocked, for start', async () => {
    const dir = bundle('blocked', (config) => {
      config.process.args = ['sh', '-c', 'echo started > /started; sleep 100'];
    });
    rmSync(join(rootfs, 'started'), { force: true });
    assert.equal(runtime('create', '--bundle', dir, 'blocked').status, 0);
    const { pid } = state('blocked');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(
      existsSync(join(rootfs, 'started')),
      false,
      'nothing of the command ran before start',
    );
    assert.equal(state('blocked').status, 'created');
    assert.equal(runtime('start', 'blocked').status, 0);
    await waitForStatus('blocked', 'running');
    assert.equal(state('blocked').pid, pid);
    for (let tries = 0; tries < 50 && !existsSync(join(rootfs, 'started')); tries++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(readFileSync(join(rootfs, 'started'), 'utf8'), 'started\n');
    const deleted = runtime('delete', 'blocked');
    assert.equal(deleted.status, 1);
    assert.match(deleted.stderr, /that is not stopped: running/);
    assert.equal(runtime('delete', '--force', 'blocked').status, 0);
    rmSync(join(rootfs, 'started'), { force: true });
  });

  test("namespaces joined by path: a second container shares the first one's network, IPC and UTS", async () => {
    const owner = bundle('owner', (config) => {
      config.hostname = 'the-owner';
      config.process.args = ['sleep', '100'];
    });
    assert.equal(runtime('create', '--bundle', owner, 'owner').status, 0);
    assert.equal(runtime('start', 'owner').status, 0);
    const ownerPid = state('owner').pid;
    const out = join(scratch, 'joined.out');
    const joined = bundle('joined', (config) => {
      delete config.hostname;
      config.process.args = [
        'sh',
        '-c',
        'hostname; ip link 2>/dev/null | grep -c LOOPBACK || cat /proc/net/dev | grep -c lo',
      ];
      config.linux.namespaces = config.linux.namespaces.map((ns: { type: string }) =>
        ['network', 'ipc', 'uts'].includes(ns.type)
          ? {
              type: ns.type,
              path: `/proc/${ownerPid}/ns/${ns.type === 'network' ? 'net' : ns.type}`,
            }
          : ns,
      );
    });
    const run = spawnSync(RUNTIME_BINARY, ['--root', root, 'run', '--bundle', joined, 'joined'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    writeFileSync(out, run.stdout);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.split('\n')[0], 'the-owner');
    const link = (pid: number | string, type: string) =>
      spawnSync('readlink', [`/proc/${pid}/ns/${type}`], { encoding: 'utf8' }).stdout;
    assert.notEqual(link(ownerPid, 'net'), link('self', 'net'));
    assert.equal(runtime('delete', '--force', 'owner').status, 0);
  });

  test('a terminal over the console socket: the pty master arrives, and the container is on its slave', async () => {
    const socketPath = join(scratch, 'console.sock');
    // A small receiver in python: accepts one connection, takes the fd, reads the container's output.
    const receiver = spawn('python3', [
      '-c',
      `import socket,array,os,sys
s=socket.socket(socket.AF_UNIX);s.bind(${JSON.stringify(socketPath)});s.listen(1)
print('listening',flush=True)
c,_=s.accept()
fds=array.array('i');msg,anc,_,_=c.recvmsg(64,socket.CMSG_LEN(4))
for level,kind,data in anc: fds.frombytes(data[:4])
out=b''
while b'done' not in out:
  try: out+=os.read(fds[0],4096)
  except OSError: break
print(out.decode(errors='replace'),flush=True)`,
    ]);
    let output = '';
    receiver.stdout.on('data', (chunk) => {
      output += chunk;
    });
    while (!output.includes('listening')) await new Promise((resolve) => setTimeout(resolve, 20));
    const dir = bundle('console', (config) => {
      config.process.terminal = true;
      config.process.consoleSize = { height: 33, width: 101 };
      config.process.args = ['sh', '-c', 'tty; stty size; echo done'];
    });
    const created = runtime('create', '--bundle', dir, '--console-socket', socketPath, 'console');
    assert.equal(created.status, 0, created.stderr);
    assert.equal(runtime('start', 'console').status, 0);
    await new Promise((resolve) => receiver.on('exit', resolve));
    assert.match(output, /\/dev\/pts\/0/);
    assert.match(output, /33 101/);
    await waitForStatus('console', 'stopped');
    assert.equal(runtime('delete', 'console').status, 0);
  });

  test("linux.uidMappings: a user namespace of its own; what its root makes is the mapped host id's", () => {
    const shared = join(scratch, 'mapped');
    mkdirSync(shared);
    // The engine prepares what the mapped root may write (podman chowns its storage).
    chownSync(shared, 300_000, 300_000);
    mkdirSync(join(rootfs, 'mapped'), { recursive: true });
    const dir = bundle('userns', (config) => {
      config.process.args = [
        'sh',
        '-c',
        'cat /proc/self/uid_map; touch /mapped/made; stat -c %u /bin',
      ];
      config.linux.namespaces.push({ type: 'user' });
      config.linux.uidMappings = [{ containerID: 0, hostID: 300_000, size: 65_536 }];
      config.linux.gidMappings = [{ containerID: 0, hostID: 300_000, size: 65_536 }];
      config.mounts.push({
        destination: '/mapped',
        type: 'bind',
        source: shared,
        options: ['rbind'],
      });
    });
    const run = runtime('run', '--bundle', dir, 'userns');
    assert.equal(run.status, 0, run.stderr);
    const [map, owner] = run.stdout.trim().split('\n');
    assert.deepEqual(map?.trim().split(/\s+/), ['0', '300000', '65536']);
    // The host's root owns the image here, and is no one inside.
    assert.equal(owner, '65534');
    assert.equal(statSync(join(shared, 'made')).uid, 300_000);
    rmSync(join(rootfs, 'mapped'), { recursive: true });
  });

  test('a user namespace without mappings, or mappings without one, is refused', () => {
    const dir = bundle('userns', (config) => {
      config.linux.uidMappings = [{ containerID: 0, hostID: 300_000, size: 65_536 }];
    });
    const created = runtime('create', '--bundle', dir, 'userns');
    assert.equal(created.status, 1);
    assert.match(created.stderr, /uidMappings need a user namespace/);
  });

  test("the warm compiler: creates and execs go through it (same record, the init in the caller's tree), its errors come back, and without it they are cold again", async () => {
    const compiler = await Compiler.start(root);
    try {
      // An unprivileged client, even given a way to the socket, is refused: the compiler
      // hands out plans and the descriptors behind them.
      chmodSync(scratch, 0o755);
      chmodSync(root, 0o755);
      const stranger = spawnSync(
        process.execPath,
        [
          '-e',
          "require('node:net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (error) => { console.log(error.code); process.exit(0); })",
          compiler.socket,
        ],
        { uid: 65534, gid: 65534, encoding: 'utf8' },
      );
      chmodSync(root, 0o700);
      chmodSync(scratch, 0o700);
      assert.equal(stranger.stdout.trim(), 'EACCES');
      const dir = bundle('warm', (config) => {
        config.process.args = ['sh', '-c', 'exit 7'];
      });
      // run is a subreaper: the container's exit code reaches it only if the init was
      // reparented to it, i.e. the shim ran under run's create, not under the compiler.
      const run = runtime('run', '--bundle', dir, 'warm');
      assert.equal(run.status, 7, run.stderr);
      assert.equal(existsSync(join(root, 'warm')), false);
      const created = runtime(
        'create',
        '--bundle',
        dir,
        '--pid-file',
        join(scratch, 'warm.pid'),
        'warm',
      );
      assert.equal(created.status, 0, created.stderr);
      assert.equal(state('warm').status, 'created');
      assert.equal(readFileSync(join(scratch, 'warm.pid'), 'utf8'), String(state('warm').pid));
      assert.equal(runtime('delete', 'warm').status, 0);
      // exec through it: an attached one ends with its process's code, a detached one runs on.
      const idle = bundle('warm', (config) => {
        config.process.args = ['sleep', '100'];
      });
      assert.equal(runtime('create', '--bundle', idle, 'warm').status, 0);
      assert.equal(runtime('start', 'warm').status, 0);
      assert.equal(runtime('exec', 'warm', 'sh', '-c', 'exit 4').status, 4);
      const execPid = join(scratch, 'exec.pid');
      const detached = runtime('exec', '-d', '--pid-file', execPid, 'warm', 'sleep', '100');
      assert.equal(detached.status, 0, detached.stderr);
      const pid = Number(readFileSync(execPid, 'utf8'));
      assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8'), 'sleep\n');
      assert.equal(runtime('delete', '--force', 'warm').status, 0);
      const broken = bundle('warm', (config) => {
        config.process.args = [];
      });
      const refused = runtime('create', '--bundle', broken, 'warm');
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /process\.args: a command is needed/);
      assert.equal(existsSync(join(root, 'warm')), false);
    } finally {
      await compiler.stop();
    }
    assert.equal(existsSync(compiler.socket), false);
    const dir = bundle('warm', (config) => {
      config.process.args = ['true'];
    });
    assert.equal(runtime('run', '--bundle', dir, 'warm').status, 0);
  });

  test('a terminal without a console socket is refused clearly', () => {
    const dir = bundle('console', (config) => {
      config.process.terminal = true;
    });
    const created = runtime('create', '--bundle', dir, 'console');
    assert.equal(created.status, 1);
    assert.match(created.stderr, /console socket/);
    assert.equal(existsSync(join(root, 'console')), false);
  });
});
