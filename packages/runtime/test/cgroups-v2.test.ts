import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CgroupV2Driver, detectCgroupDriver, parseMountinfo } from '../src/cgroups/index.js';
import { TockerError } from '../src/errors.js';
import { scratchDir } from './scratch.js';

const MiB = 1024 * 1024;
const PARENT = `tocker-test-${process.pid}`;
let counter = 0;
const uniqueName = () => `test-${process.pid}-${++counter}`;

// --- detection (sample text) ---

test('detectCgroupDriver on pure-v2 sample text picks v2; a relative parent sits next to our own cgroup (systemd-scope convention)', () => {
  const mountinfo =
    '30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate';
  const scoped = detectCgroupDriver({
    mountinfo,
    selfCgroup: '0::/user.slice/user-0.slice/session-3.scope\n',
    parent: 'tocker',
  });
  assert.equal(scoped.version, 2);
  assert.deepEqual(scoped.parentDirs, ['/sys/fs/cgroup/user.slice/user-0.slice/tocker']);
  const atRoot = detectCgroupDriver({ mountinfo, selfCgroup: '0::/\n', parent: 'tocker' });
  assert.deepEqual(atRoot.parentDirs, ['/sys/fs/cgroup/tocker']);
  const absolute = detectCgroupDriver({
    mountinfo,
    selfCgroup: '0::/system.slice/x.service\n',
    parent: '/tocker',
  });
  assert.deepEqual(absolute.parentDirs, ['/sys/fs/cgroup/tocker']);
  // Only name=systemd left in v1: the controllers live in v2.
  const hybridWithoutV1Controllers = `${mountinfo.replace('/sys/fs/cgroup ', '/sys/fs/cgroup/unified ')}
31 22 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd`;
  assert.equal(
    detectCgroupDriver({ mountinfo: hybridWithoutV1Controllers, selfCgroup: '0::/\n' }).version,
    2,
  );
});

test('detectCgroupDriver on sample text with a cgroupns-style subtree mount: our cgroup is taken relative to the mount root', () => {
  const driver = detectCgroupDriver({
    mountinfo: '30 22 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw',
    selfCgroup: '0::/docker/abc/app\n',
    parent: 'tocker',
  });
  assert.deepEqual(driver.parentDirs, ['/sys/fs/cgroup/tocker']);
});

// --- (a) the real cgroup2 mount of this host ---

const unified = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find(
  (mount) => mount.fsType === 'cgroup2',
);
const children: ChildProcess[] = [];

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (!unified) return;
  const parent = join(unified.mountPoint, PARENT);
  if (!existsSync(parent)) return;
  const dirs = readdirSync(parent, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(parent, entry.name));
  for (const dir of [...dirs, parent]) {
    for (let attempt = 0; existsSync(dir); attempt++) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if (attempt >= 100) throw err;
        await delay(20);
      }
    }
  }
});

test('v2 driver against the real cgroup2 at /sys/fs/cgroup/unified (no cpu/memory/pids controllers on this host): a real sleep joins, pids() sees it, killAll() via cgroup.kill, remove() leaves nothing, destroy() kills and removes', async (t) => {
  if (!unified) {
    t.skip('no cgroup2 filesystem is mounted on this host');
    return;
  }
  const driver = detectCgroupDriver({ parent: PARENT, version: 2 });
  assert.equal(driver.version, 2);
  assert.deepEqual(driver.parentDirs, [join(unified.mountPoint, PARENT)]);
  const name = uniqueName();
  const cgroup = driver.create(name, {});
  const dir = join(unified.mountPoint, PARENT, name);
  assert.deepEqual(cgroup.procsFiles, [join(dir, 'cgroup.procs')]);
  assert.ok(existsSync(join(dir, 'cgroup.kill')), 'this kernel has cgroup.kill (5.14+)');

  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  const exited = once(child, 'exit');
  await once(child, 'spawn');
  writeFileSync(join(dir, 'cgroup.procs'), String(child.pid));
  assert.deepEqual(cgroup.pids(), [child.pid]);
  assert.ok(driver.list().includes(name));

  const stats = cgroup.stats();
  assert.equal(typeof stats.cpuTimeNs, 'number', 'cpu.stat exists even without the cpu controller');
  assert.equal(stats.memoryBytes, 0);
  assert.equal(stats.memoryPeakBytes, null);
  assert.equal(stats.memoryLimitBytes, null);
  assert.equal(stats.cpuLimit, null);
  assert.equal(stats.pidsLimit, null);

  const reopened = driver.open(name);
  reopened.killAll();
  assert.deepEqual(cgroup.pids(), []);
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');

  cgroup.remove();
  assert.equal(existsSync(dir), false);
  cgroup.remove();
  assert.equal(driver.list().includes(name), false);

  // destroy(): one with a task in it is killed and removed; an empty one goes at once.
  const busy = driver.create(uniqueName(), {});
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(sleeper);
  const sleeperExited = once(sleeper, 'exit');
  await once(sleeper, 'spawn');
  writeFileSync(busy.procsFiles[0] ?? '', String(sleeper.pid));
  busy.destroy();
  assert.equal((await sleeperExited)[1], 'SIGKILL');
  assert.equal(existsSync(join(unified.mountPoint, PARENT, busy.name)), false);
  const empty = driver.create(uniqueName(), {});
  empty.destroy();
  assert.equal(existsSync(join(unified.mountPoint, PARENT, empty.name)), false);
});

test('v2 driver against the real cgroup2 at /sys/fs/cgroup/unified: a memory limit is a TockerError naming the missing memory controller, nothing is created', (t) => {
  if (!unified) {
    t.skip('no cgroup2 filesystem is mounted on this host');
    return;
  }
  const offered = readFileSync(join(unified.mountPoint, 'cgroup.controllers'), 'utf8');
  if (/\bmemory\b/.test(offered)) {
    t.skip(`this host's cgroup2 offers the memory controller (${offered.trim()})`);
    return;
  }
  const driver = detectCgroupDriver({ parent: PARENT, version: 2 });
  const name = uniqueName();
  assert.throws(
    () => driver.create(name, { memory: 32 * MiB }),
    (err) =>
      err instanceof TockerError &&
      err.message.startsWith('the memory cgroup controller is not available'),
  );
  assert.equal(existsSync(join(unified.mountPoint, PARENT, name)), false);

  const cgroup = driver.create(name, {});
  assert.throws(
    () => cgroup.setLimits({ pidsLimit: 10 }),
    (err) =>
      err instanceof TockerError &&
      err.message.startsWith('the pids cgroup controller is not available'),
  );
  cgroup.remove();
});

// --- (b) a temporary directory tree shaped like cgroup2 ---
// A plain filesystem shows the driver's writes and its parsing of kernel-format files. It
// cannot show: the kernel creating interface files on mkdir (the test writes the ones it
// needs), rmdir succeeding on a directory full of interface files (the test deletes them
// first), EBUSY from live processes, or the kernel rejecting values.

const fakeRoots: string[] = [];
after(() => {
  for (const root of fakeRoots) rmSync(root, { recursive: true, force: true });
});

function fakeCgroup2(controllers: string): string {
  const root = scratchDir('fake-cgroup2');
  fakeRoots.push(root);
  writeFileSync(join(root, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(join(root, 'cgroup.subtree_control'), '\n');
  mkdirSync(join(root, 'user.slice', 'session-1.scope'), { recursive: true });
  return root;
}

const fakeDriver = (root: string) =>
  new CgroupV2Driver({
    mountPoint: root,
    ownCgroup: '/user.slice/session-1.scope',
    parent: 'tocker',
  });
const readIn = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8').trim();

test('v2 driver against a temporary directory tree shaped like cgroup2: create() enables controllers down the chain and writes cpu.max, memory.max, pids.max; setLimits() changes only what it is given', () => {
  const root = fakeCgroup2('cpu io memory hugetlb pids');
  const driver = fakeDriver(root);
  const parent = join(root, 'user.slice', 'tocker');
  assert.deepEqual(driver.parentDirs, [parent]);

  const cgroup = driver.create('c1', { cpus: 0.5, memory: 64 * MiB, pidsLimit: 20 });
  const dir = join(parent, 'c1');
  for (const level of [root, join(root, 'user.slice'), parent]) {
    assert.equal(readIn(level, 'cgroup.subtree_control'), '+cpu +memory +pids', level);
  }
  assert.equal(readIn(dir, 'cpu.max'), '50000 100000');
  assert.equal(readIn(dir, 'memory.max'), String(64 * MiB));
  assert.equal(readIn(dir, 'pids.max'), '20');
  assert.equal(existsSync(join(dir, 'memory.swap.max')), false, 'written only when it exists');
  assert.deepEqual(cgroup.procsFiles, [join(dir, 'cgroup.procs')]);

  // As the kernel would with swap accounting on:
  writeFileSync(join(dir, 'memory.swap.max'), 'max\n');
  cgroup.setLimits({ memory: 32 * MiB });
  assert.equal(readIn(dir, 'memory.max'), String(32 * MiB));
  assert.equal(readIn(dir, 'memory.swap.max'), '0');
  assert.equal(readIn(dir, 'cpu.max'), '50000 100000');
  assert.equal(readIn(dir, 'pids.max'), '20');

  cgroup.setLimits({ cpus: 1.5 });
  assert.equal(readIn(dir, 'cpu.max'), '150000 100000');
  assert.deepEqual(driver.list(), ['c1']);
});

test('v2 driver against a temporary directory tree shaped like cgroup2: stats() parses cpu.stat, memory.current, memory.peak, memory.events, pids.current, "max" and a missing memory.peak', () => {
  const root = fakeCgroup2('cpu memory pids');
  const cgroup = fakeDriver(root).create('c1', { cpus: 0.5, memory: 64 * MiB, pidsLimit: 20 });
  const dir = join(root, 'user.slice', 'tocker', 'c1');
  writeFileSync(
    join(dir, 'cpu.stat'),
    'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n',
  );
  writeFileSync(join(dir, 'memory.current'), '1048576\n');
  writeFileSync(join(dir, 'memory.peak'), '2097152\n');
  writeFileSync(
    join(dir, 'memory.events'),
    'low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n',
  );
  writeFileSync(join(dir, 'pids.current'), '3\n');
  assert.deepEqual(cgroup.stats(), {
    cpuTimeNs: 1_500_000,
    memoryBytes: 1048576,
    memoryPeakBytes: 2097152,
    memoryLimitBytes: 64 * MiB,
    cpuLimit: 0.5,
    pids: 3,
    pidsLimit: 20,
    oomKills: 2,
  });

  unlinkSync(join(dir, 'memory.peak')); // kernels before 5.19
  writeFileSync(join(dir, 'memory.max'), 'max\n');
  writeFileSync(join(dir, 'cpu.max'), 'max 100000\n');
  writeFileSync(join(dir, 'pids.max'), 'max\n');
  const unlimited = cgroup.stats();
  assert.equal(unlimited.memoryPeakBytes, null);
  assert.equal(unlimited.memoryLimitBytes, null);
  assert.equal(unlimited.cpuLimit, null);
  assert.equal(unlimited.pidsLimit, null);
});

test('v2 driver against a temporary directory tree shaped like cgroup2: pids(), killAll() writes cgroup.kill, open() from a second driver, remove() is idempotent', () => {
  const root = fakeCgroup2('cpu memory pids');
  const cgroup = fakeDriver(root).create('c1', {});
  const dir = join(root, 'user.slice', 'tocker', 'c1');
  // Fake pids are only read, never killed: cgroup.procs is empty again before killAll().
  writeFileSync(join(dir, 'cgroup.procs'), '123\n456\n');
  assert.deepEqual(cgroup.pids(), [123, 456]);
  writeFileSync(join(dir, 'cgroup.procs'), '');
  writeFileSync(join(dir, 'cgroup.kill'), '');
  cgroup.killAll();
  assert.equal(readIn(dir, 'cgroup.kill'), '1');

  // The kernel fills the new cgroup's cgroup.controllers from its parent's subtree_control.
  writeFileSync(join(dir, 'cgroup.controllers'), 'cpu memory pids\n');
  const reopened = fakeDriver(root).open('c1');
  reopened.setLimits({ pidsLimit: 30 });
  assert.equal(readIn(dir, 'pids.max'), '30');
  assert.throws(() => fakeDriver(root).open('nope'), TockerError);

  // cgroupfs removes a directory together with its interface files; a plain fs refuses.
  assert.throws(() => reopened.remove(), TockerError);
  for (const file of readdirSync(dir)) unlinkSync(join(dir, file));
  reopened.remove();
  assert.equal(existsSync(dir), false);
  cgroup.remove();
  assert.deepEqual(fakeDriver(root).list(), []);
});

test('v2 driver against a temporary directory tree shaped like cgroup2 offering only cpu: a memory limit is a TockerError naming memory, and no container dir is made', () => {
  const root = fakeCgroup2('cpu io');
  const driver = fakeDriver(root);
  assert.throws(
    () => driver.create('c1', { cpus: 1, memory: 64 * MiB }),
    (err) =>
      err instanceof TockerError &&
      err.message.startsWith('the memory cgroup controller is not available') &&
      err.message.includes('offers only: cpu io'),
  );
  assert.equal(readIn(root, 'cgroup.subtree_control'), '+cpu');
  assert.deepEqual(driver.list(), []);
});

test('v2 driver against a temporary directory tree shaped like cgroup2: create() of an existing name is a TockerError and leaves the existing cgroup alone', () => {
  const root = fakeCgroup2('cpu memory pids');
  const driver = fakeDriver(root);
  driver.create('c1', { pidsLimit: 5 });
  assert.throws(
    () => driver.create('c1', { pidsLimit: 7 }),
    (err) => err instanceof TockerError && /already exists/.test(err.message),
  );
  assert.equal(readIn(join(root, 'user.slice', 'tocker', 'c1'), 'pids.max'), '5');
});

test('v2 driver against a temporary directory tree shaped like cgroup2: setFrozen() writes cgroup.freeze and waits until cgroup.events says frozen (as the kernel does once every task stopped), and gives up clearly when it never does', () => {
  const root = fakeCgroup2('cpu memory pids');
  const cgroup = fakeDriver(root).create('c1', {});
  const dir = join(root, 'user.slice', 'tocker', 'c1');
  writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
  cgroup.setFrozen(true);
  assert.equal(readIn(dir, 'cgroup.freeze'), '1');
  writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
  cgroup.setFrozen(false);
  assert.equal(readIn(dir, 'cgroup.freeze'), '0');
  assert.throws(
    () => cgroup.setFrozen(true),
    /^TockerError: cgroup "c1" did not freeze within 2 s$/,
  );
});
