import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CgroupV1Driver,
  detectCgroupDriver,
  parseMountinfo,
  parseProcSelfCgroup,
} from '../src/cgroups/index.js';
import { TockerError } from '../src/errors.js';

// Real cgroup v1 on this host (hybrid layout: cpu, cpuacct, memory, pids each mounted at
// /sys/fs/cgroup/<controller>; this process may sit in a nested memory cgroup). Run as root.

const MiB = 1024 * 1024;
const ROOT = '/sys/fs/cgroup';
const PARENT = `tocker-test-${process.pid}`;
/** Every container's hierarchies (the freezer: for pause). */
const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'freezer'] as const;
/** ...and devices, whose cgroup a container gets with its device rules. */
const HIERARCHIES = [...CONTROLLERS, 'devices'] as const;
type Controller = (typeof HIERARCHIES)[number];

/** This process's cgroup per v1 controller, read here independently of the code under test. */
const ownCgroups = new Map<string, string>();
for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
  const [, controllers = '', path = '/'] = line.split(':');
  for (const controller of controllers.split(',')) ownCgroups.set(controller, path);
}

const parentDir = (controller: Controller) =>
  join(ROOT, controller, ownCgroups.get(controller) ?? '/', PARENT);
const hostDir = (controller: Controller, name: string) => join(parentDir(controller), name);
const readHost = (controller: Controller, name: string, file: string) =>
  readFileSync(join(hostDir(controller, name), file), 'utf8').trim();

let counter = 0;
const uniqueName = () => `test-${process.pid}-${++counter}`;
const driver = () => detectCgroupDriver({ parent: PARENT, version: 1 });

const children: ChildProcess[] = [];

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const controller of HIERARCHIES) {
    const parent = parentDir(controller);
    if (!existsSync(parent)) continue;
    const dirs = readdirSync(parent, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(parent, entry.name));
    for (const dir of [...dirs, parent]) await rmdirPatiently(dir);
  }
});

/** Killed processes take a moment to leave their cgroups (EBUSY until then). */
async function rmdirPatiently(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (attempt >= 100) throw err;
      await delay(20);
    }
  }
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 3000) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/**
 * A real process moved into the cgroup by writing its pid from here. `sh` blocks on stdin
 * until then and only afterwards execs sleep, so the exec's memory is charged to the
 * container cgroup (v1 does not move existing charges along with a process).
 */
async function startSleeper(procsFiles: readonly string[]) {
  const child = spawn('sh', ['-c', 'read _ && exec sleep 30'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  children.push(child);
  const exited = once(child, 'exit');
  await once(child, 'spawn');
  const pid = child.pid;
  assert.ok(pid);
  for (const file of procsFiles) writeFileSync(file, String(pid));
  child.stdin.write('\n');
  await until('sleep to start', () => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
  return { pid, exited };
}

const assertGone = (name: string) => {
  for (const controller of HIERARCHIES) {
    assert.equal(existsSync(hostDir(controller, name)), false, `${controller} dir of ${name} left`);
  }
};

// --- parsing (sample text) ---

test('parseMountinfo on sample text: optional fields, \\040-escaped paths, super options', () => {
  const text = [
    '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
    '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev shared:9 master:3 - cgroup cgroup rw,cpu,cpuacct',
    '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
    '50 26 0:40 /my\\040dir /mnt/my\\040disk\\011tab rw shared:1 - ext4 /dev/sd\\134b1 rw',
    'not a mountinfo line',
    '',
  ].join('\n');
  const mounts = parseMountinfo(text);
  assert.equal(mounts.length, 4);
  assert.deepEqual(mounts[0], {
    mountId: 36,
    parentId: 35,
    majorMinor: '98:0',
    root: '/mnt1',
    mountPoint: '/mnt2',
    mountOptions: ['rw', 'noatime'],
    optionalFields: ['master:1'],
    fsType: 'ext3',
    source: '/dev/root',
    superOptions: ['rw', 'errors=continue'],
  });
  assert.deepEqual(mounts[1]?.optionalFields, ['shared:9', 'master:3']);
  assert.deepEqual(mounts[1]?.superOptions, ['rw', 'cpu', 'cpuacct']);
  assert.deepEqual(mounts[2]?.optionalFields, []);
  assert.equal(mounts[2]?.fsType, 'cgroup2');
  assert.equal(mounts[3]?.root, '/my dir');
  assert.equal(mounts[3]?.mountPoint, '/mnt/my disk\ttab');
  assert.equal(mounts[3]?.source, '/dev/sd\\b1');
});

test('parseProcSelfCgroup on sample text: nested memory path, co-mounted cpu,cpuacct, 0:: line, ":" in a path', () => {
  const entries = parseProcSelfCgroup(
    [
      '9:name=systemd:/',
      '4:memory:/process_api/85bd7ce369cdd212de28ed46c1fd7aa3',
      '2:cpu,cpuacct:/',
      '0::/odd:name',
      '',
    ].join('\n'),
  );
  assert.deepEqual(entries, [
    { hierarchyId: 9, controllers: ['name=systemd'], path: '/' },
    {
      hierarchyId: 4,
      controllers: ['memory'],
      path: '/process_api/85bd7ce369cdd212de28ed46c1fd7aa3',
    },
    { hierarchyId: 2, controllers: ['cpu', 'cpuacct'], path: '/' },
    { hierarchyId: 0, controllers: [], path: '/odd:name' },
  ]);
});

// --- detection (sample text, then this host) ---

const HYBRID_MOUNTINFO = [
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup rw,cpu,cpuacct',
  '33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
  '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const HYBRID_SELF =
  '9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n8:pids:/\n0::/\n';

test('detectCgroupDriver on hybrid sample text picks v1, one dir per hierarchy, relative and absolute parents', () => {
  const relative = detectCgroupDriver({
    mountinfo: HYBRID_MOUNTINFO,
    selfCgroup: HYBRID_SELF,
    parent: 'tocker',
  });
  assert.equal(relative.version, 1);
  assert.deepEqual(relative.parentDirs, [
    '/sys/fs/cgroup/cpu,cpuacct/tocker',
    '/sys/fs/cgroup/memory/process_api/abc/tocker',
    '/sys/fs/cgroup/pids/tocker',
  ]);
  const absolute = detectCgroupDriver({
    mountinfo: HYBRID_MOUNTINFO,
    selfCgroup: HYBRID_SELF,
    parent: '/tocker',
  });
  assert.deepEqual(absolute.parentDirs, [
    '/sys/fs/cgroup/cpu,cpuacct/tocker',
    '/sys/fs/cgroup/memory/tocker',
    '/sys/fs/cgroup/pids/tocker',
  ]);
});

test('detectCgroupDriver on sample text honours TOCKER_CGROUP_VERSION and TOCKER_CGROUP_PARENT, rejects bad values', () => {
  const saved = { ...process.env };
  try {
    process.env.TOCKER_CGROUP_VERSION = '2';
    process.env.TOCKER_CGROUP_PARENT = '/from-env';
    const forced = detectCgroupDriver({ mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF });
    assert.equal(forced.version, 2);
    assert.deepEqual(forced.parentDirs, ['/sys/fs/cgroup/unified/from-env']);
    assert.equal(
      detectCgroupDriver({ mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF, version: 1 })
        .version,
      1,
      'the option wins over the environment',
    );
    process.env.TOCKER_CGROUP_VERSION = '3';
    assert.throws(
      () => detectCgroupDriver({ mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF }),
      (err) =>
        err instanceof TockerError && /TOCKER_CGROUP_VERSION must be 1 or 2/.test(err.message),
    );
    delete process.env.TOCKER_CGROUP_VERSION;
    delete process.env.TOCKER_CGROUP_PARENT;
    const defaults = detectCgroupDriver({ mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF });
    assert.equal(defaults.parentDirs[0], '/sys/fs/cgroup/cpu,cpuacct/tocker');
  } finally {
    process.env = saved;
  }
});

test('detectCgroupDriver on sample text without cgroup mounts: "no cgroup filesystem is mounted"; forcing v1 without v1 hierarchies fails clearly', () => {
  const noCgroups = '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw';
  assert.throws(
    () => detectCgroupDriver({ mountinfo: noCgroups, selfCgroup: '0::/\n', version: undefined }),
    (err) => err instanceof TockerError && err.message === 'no cgroup filesystem is mounted',
  );
  const v2Only = '40 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw';
  assert.throws(
    () => detectCgroupDriver({ mountinfo: v2Only, selfCgroup: '0::/\n', version: 1 }),
    (err) => err instanceof TockerError && /cgroup v1 was requested/.test(err.message),
  );
});

test('detectCgroupDriver on this host (real /proc/self/mountinfo, hybrid layout) picks v1', () => {
  const saved = process.env.TOCKER_CGROUP_VERSION;
  delete process.env.TOCKER_CGROUP_VERSION;
  try {
    const detected = detectCgroupDriver({ parent: PARENT });
    assert.equal(detected.version, 1);
    assert.deepEqual(
      [...detected.parentDirs].sort(),
      HIERARCHIES.map((controller) => parentDir(controller)).sort(),
    );
  } finally {
    if (saved !== undefined) process.env.TOCKER_CGROUP_VERSION = saved;
  }
});

// --- the v1 driver on the real hierarchies ---

test("v1 create() on real /sys/fs/cgroup hierarchies: cpu/memory/pids files hold the limits; the memory cgroup sits under this process's own nested memory cgroup", () => {
  const name = uniqueName();
  const cgroup = driver().create(name, { cpus: 0.5, memory: 32 * MiB, pidsLimit: 20 });
  assert.equal(readHost('cpu', name, 'cpu.cfs_period_us'), '100000');
  assert.equal(readHost('cpu', name, 'cpu.cfs_quota_us'), '50000');
  assert.equal(readHost('memory', name, 'memory.limit_in_bytes'), String(32 * MiB));
  assert.equal(readHost('memory', name, 'memory.memsw.limit_in_bytes'), String(32 * MiB));
  assert.equal(readHost('pids', name, 'pids.max'), '20');
  assert.deepEqual(
    [...cgroup.procsFiles].sort(),
    CONTROLLERS.map((controller) => join(hostDir(controller, name), 'cgroup.procs')).sort(),
  );
  const ownMemory = ownCgroups.get('memory') ?? '/';
  assert.ok(
    cgroup.procsFiles.includes(join(ROOT, 'memory', ownMemory, PARENT, name, 'cgroup.procs')),
  );
  if (ownMemory !== '/') assert.equal(existsSync(join(ROOT, 'memory', PARENT)), false);
  const stats = cgroup.stats();
  assert.equal(stats.cpuLimit, 0.5);
  assert.equal(stats.memoryLimitBytes, 32 * MiB);
  assert.equal(stats.pidsLimit, 20);
  assert.equal(stats.oomKills, 0);
  cgroup.remove();
  assertGone(name);
});

test('v1 with a real sleep process on real hierarchies: pids(), stats(), setLimits({memory}) changes only memory, open() from a second driver, killAll(), remove(), list()', async () => {
  const name = uniqueName();
  const cgroup = driver().create(name, { cpus: 0.5, memory: 32 * MiB, pidsLimit: 20 });
  const { pid, exited } = await startSleeper(cgroup.procsFiles);

  assert.deepEqual(cgroup.pids(), [pid]);
  const stats = cgroup.stats();
  assert.ok(stats.pids >= 1, `pids ${stats.pids}`);
  assert.equal(typeof stats.cpuTimeNs, 'number');
  assert.ok(stats.memoryBytes > 0, `memoryBytes ${stats.memoryBytes}`);
  assert.ok((stats.memoryPeakBytes ?? 0) >= stats.memoryBytes);
  assert.ok(driver().list().includes(name));

  cgroup.setLimits({ memory: 64 * MiB });
  assert.equal(readHost('memory', name, 'memory.limit_in_bytes'), String(64 * MiB));
  assert.equal(readHost('memory', name, 'memory.memsw.limit_in_bytes'), String(64 * MiB));
  assert.equal(readHost('cpu', name, 'cpu.cfs_quota_us'), '50000');
  assert.equal(readHost('pids', name, 'pids.max'), '20');

  const reopened = driver().open(name);
  assert.deepEqual(reopened.pids(), [pid]);
  reopened.killAll();
  assert.deepEqual(cgroup.pids(), []);
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');

  reopened.remove();
  assertGone(name);
  cgroup.remove();
  assert.equal(driver().list().includes(name), false);
  assert.throws(() => driver().open(name), TockerError);
});

test('v1 destroy() on real hierarchies: an empty cgroup is removed; one with a frozen sleeper is thawed, killed and removed; usage() reads cpu time, peak memory and OOM kills', async () => {
  const empty = driver().create(uniqueName(), { memory: 32 * MiB });
  empty.destroy();
  assertGone(empty.name);

  const name = uniqueName();
  const cgroup = driver().create(name, { memory: 32 * MiB });
  const { pid, exited } = await startSleeper(cgroup.procsFiles);
  const usage = cgroup.usage();
  assert.ok((usage.memoryPeakBytes ?? 0) > 0, `peak ${usage.memoryPeakBytes}`);
  assert.equal(usage.oomKills, 0);
  assert.equal(typeof usage.cpuTimeNs, 'number');
  cgroup.setFrozen(true);
  cgroup.destroy();
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL', `sleeper ${pid} killed`);
  assertGone(name);
});

test('v1 memory limits on the real memory hierarchy: raising and lowering keep memory.memsw.limit_in_bytes equal to memory.limit_in_bytes (kernel needs limit <= memsw at every write)', () => {
  const name = uniqueName();
  const cgroup = driver().create(name, { memory: 32 * MiB });
  const memsw = join(hostDir('memory', name), 'memory.memsw.limit_in_bytes');
  for (const bytes of [64 * MiB, 16 * MiB, 48 * MiB]) {
    cgroup.setLimits({ memory: bytes });
    assert.equal(readHost('memory', name, 'memory.limit_in_bytes'), String(bytes));
    assert.equal(readHost('memory', name, 'memory.memsw.limit_in_bytes'), String(bytes));
  }
  // The rule the driver works around: memsw below the current limit is refused.
  assert.throws(() => writeFileSync(memsw, String(8 * MiB)), { code: 'EINVAL' });
  cgroup.remove();
  assertGone(name);
});

test("v1 lowering the memory limit below a real node process's usage: TockerError (kernel EBUSY), old limit kept", async () => {
  const name = uniqueName();
  const cgroup = driver().create(name, { memory: 256 * MiB });
  // The child joins by writing "0" itself, as a container's first process does, and only
  // then allocates, so the 64 MiB are charged to this cgroup.
  const script = `const fs = require('node:fs');
for (const file of process.argv.slice(1)) fs.writeFileSync(file, '0');
globalThis.keep = Buffer.alloc(64 * 1024 * 1024, 1);
process.stdout.write('ready\\n');
setInterval(() => {}, 60000);`;
  const child = spawn(process.execPath, ['-e', script, ...cgroup.procsFiles], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const exited = once(child, 'exit');
  await once(child.stdout, 'data');
  assert.ok(cgroup.stats().memoryBytes > 48 * MiB, 'the allocation is charged to the cgroup');

  assert.throws(
    () => cgroup.setLimits({ memory: 16 * MiB }),
    (err) =>
      err instanceof TockerError &&
      /^cannot set the memory limit of cgroup ".+" to 16 MiB: it uses [\d.]+ MiB/.test(err.message),
  );
  assert.equal(readHost('memory', name, 'memory.limit_in_bytes'), String(256 * MiB));
  assert.equal(readHost('memory', name, 'memory.memsw.limit_in_bytes'), String(256 * MiB));

  cgroup.killAll();
  await exited;
  cgroup.remove();
  assertGone(name);
});

test('v1 create() failing on real hierarchies (kernel rejects the cpu quota of 0.001 CPUs) removes the directories it made', () => {
  const name = uniqueName();
  assert.throws(
    () => driver().create(name, { cpus: 0.001, memory: 32 * MiB }),
    (err) => err instanceof TockerError && /cpu\.cfs_quota_us: EINVAL/.test(err.message),
  );
  assertGone(name);
});

test('v1 create() of an existing name on real hierarchies: TockerError, the existing cgroup stays', () => {
  const name = uniqueName();
  const cgroup = driver().create(name, {});
  assert.throws(
    () => driver().create(name, {}),
    (err) => err instanceof TockerError && /already exists/.test(err.message),
  );
  for (const controller of CONTROLLERS) assert.ok(existsSync(hostDir(controller, name)));
  cgroup.remove();
  assertGone(name);
});

test('v1 driver built explicitly from the real cpu and memory mounts only (no pids hierarchy): a pids limit is a TockerError, stats report pids 0/null', () => {
  const partial = new CgroupV1Driver({
    hierarchies: [
      {
        controllers: ['cpu'],
        mountPoint: join(ROOT, 'cpu'),
        ownCgroup: ownCgroups.get('cpu') ?? '/',
      },
      {
        controllers: ['memory'],
        mountPoint: join(ROOT, 'memory'),
        ownCgroup: ownCgroups.get('memory') ?? '/',
      },
    ],
    parent: PARENT,
  });
  assert.deepEqual(partial.parentDirs, [parentDir('cpu'), parentDir('memory')]);
  const name = uniqueName();
  assert.throws(
    () => partial.create(name, { memory: 32 * MiB, pidsLimit: 10 }),
    (err) =>
      err instanceof TockerError &&
      err.message.startsWith('the pids cgroup controller is not available'),
  );
  assertGone(name);

  const cgroup = partial.create(name, { cpus: 1 });
  const stats = cgroup.stats();
  assert.equal(stats.pids, 0);
  assert.equal(stats.pidsLimit, null);
  assert.equal(stats.cpuTimeNs, 0, 'no cpuacct hierarchy either');
  assert.equal(stats.cpuLimit, 1);
  assert.equal(stats.memoryLimitBytes, null, "v1's 9223372036854771712 means unlimited");
  assert.equal(cgroup.procsFiles.length, 2);
  cgroup.remove();
  assertGone(name);
});

test('v1 invalid names are TockerErrors before anything touches the real hierarchies', () => {
  for (const name of ['', '.', '..', 'a/b']) {
    assert.throws(() => driver().create(name, {}), TockerError);
  }
});
