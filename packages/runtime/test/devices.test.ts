import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { attachDeviceFilter, deviceFilterProgram } from '../src/cgroups/device-filter.js';
import {
  checkDeviceRules,
  DEFAULT_DEVICE_RULES,
  type DeviceRule,
  formatDeviceRule,
  parseDeviceAccess,
  rulesForDevice,
} from '../src/cgroups/devices.js';
import { CgroupV1Driver, detectCgroupDriver, parseMountinfo } from '../src/cgroups/index.js';
import { TockerError } from '../src/errors.js';
import { scratchDir } from './scratch.js';

// Device allow-lists enforced by the real kernel, as root: v1 through the devices hierarchy
// at /sys/fs/cgroup/devices, v2 through BPF programs on this hybrid host's cgroup2 mount at
// /sys/fs/cgroup/unified (no v2 controllers are enabled there, but device programs attached
// to its directories are enforced). A small C program, moved into the cgroup, tries each
// access and prints OK or the errno name.

const ROOT = '/sys/fs/cgroup';
const UNIFIED = join(ROOT, 'unified');
const PARENT = `tocker-devtest-${process.pid}`;
const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'freezer', 'devices'] as const;

let counter = 0;
const uniqueName = () => `devtest-${process.pid}-${++counter}`;
const v1Driver = () => detectCgroupDriver({ parent: PARENT, version: 1 });
const v2Driver = () => detectCgroupDriver({ parent: PARENT, version: 2 });

/** This process's cgroup per v1 controller, read here independently of the code under test. */
const ownCgroups = new Map<string, string>();
for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
  const [, controllers = '', path = '/'] = line.split(':');
  for (const controller of controllers.split(',')) ownCgroups.set(controller, path);
}
const v1ParentDir = (controller: string) =>
  join(ROOT, controller, ownCgroups.get(controller) ?? '/', PARENT);

const work = scratchDir('devtest');
const children: ChildProcess[] = [];

/** Deepest first; killed processes take a moment to leave their cgroups (EBUSY until then). */
async function removeCgroupTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await removeCgroupTree(join(dir, entry.name));
  }
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

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const controller of V1_CONTROLLERS) await removeCgroupTree(v1ParentDir(controller));
  await removeCgroupTree(join(UNIFIED, PARENT));
  rmSync(work, { recursive: true, force: true });
});

// --- the probe and the device nodes it opens ---

const PROBE_SOURCE = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* r:PATH, w:PATH, rw:PATH (open) or mknod-c:PATH:MAJOR:MINOR, mknod-b:PATH:MAJOR:MINOR */
static int run(char *op) {
  char *kind = strtok(op, ":");
  char *path = strtok(NULL, ":");
  if (strncmp(kind, "mknod-", 6) == 0) {
    unsigned major = strtoul(strtok(NULL, ":"), NULL, 10);
    unsigned minor = strtoul(strtok(NULL, ":"), NULL, 10);
    mode_t type = kind[6] == 'b' ? S_IFBLK : S_IFCHR;
    return mknod(path, type | 0600, makedev(major, minor)) == 0 ? 0 : errno;
  }
  int mode = strcmp(kind, "r") == 0 ? O_RDONLY : strcmp(kind, "w") == 0 ? O_WRONLY : O_RDWR;
  int fd = open(path, mode | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

/* Waits for a byte on stdin (the test moves it into the cgroup meanwhile). */
int main(int argc, char **argv) {
  char go;
  if (read(0, &go, 1) != 1) return 2;
  for (int i = 1; i < argc; i++) {
    int error = run(argv[i]);
    printf("%s\\n", error == 0 ? "OK" : strerrorname_np(error));
  }
  return 0;
}
`;

const probePath = join(work, 'probe');
writeFileSync(`${probePath}.c`, PROBE_SOURCE);
execFileSync('gcc', ['-O2', '-static', '-o', probePath, `${probePath}.c`]);

/** Nodes made here, by this (unrestricted) process, in a directory without nodev. */
const devDir = join(work, 'dev');
mkdirSync(devDir);
const makeNode = (name: string, type: string, major: number, minor: number) =>
  execFileSync('mknod', ['-m', '600', join(devDir, name), type, String(major), String(minor)]);

/**
 * The block device for the tests: the root filesystem's disk when this process may open it,
 * else the first block device it may open. (On the development VM something outside our
 * cgroups refuses the root disk, /dev/vda, even to root; a device that is refused anyway
 * would prove nothing.)
 */
function openableBlockDevice(): { major: number; minor: number } {
  const root = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .filter((mount) => mount.mountPoint === '/')
    .at(-1);
  const candidates = [root?.majorMinor ?? '', ...readdirSync('/sys/dev/block')];
  for (const [index, candidate] of candidates.entries()) {
    const [major = 0, minor = 0] = candidate.split(':').map(Number);
    if (major === 0) continue;
    const node = `block-candidate-${index}`;
    makeNode(node, 'b', major, minor);
    try {
      closeSync(openSync(join(devDir, node), constants.O_RDONLY | constants.O_NONBLOCK));
      return { major, minor };
    } catch {
      // Refused or busy: try the next one.
    } finally {
      rmSync(join(devDir, node));
    }
  }
  throw new Error('no block device can be opened on this host');
}
const DISK = openableBlockDevice();
const disk = `${DISK.major}:${DISK.minor}`;

const NODES: Record<string, [string, number, number]> = {
  null: ['c', 1, 3],
  zero: ['c', 1, 5],
  kmsg: ['c', 1, 11],
  fuse: ['c', 10, 229],
  disk: ['b', DISK.major, DISK.minor],
};
for (const [name, [type, major, minor]] of Object.entries(NODES)) {
  makeNode(name, type, major, minor);
}

/**
 * Runs the probe inside the cgroups whose cgroup.procs files are given (none: this
 * process's own, unrestricted) and returns each operation's result. Operations: "r NAME",
 * "w NAME", "rw NAME" open a node of NODES, or one made earlier in the same run by
 * "mknod made-NAME c|b MAJOR:MINOR".
 */
async function probe(
  procsFiles: readonly string[],
  operations: readonly string[],
): Promise<Record<string, string>> {
  const runDir = mkdtempSync(join(work, 'run-'));
  const pathOf = (name: string) => join(name.startsWith('made-') ? runDir : devDir, name);
  const args = operations.map((operation) => {
    const [kind = '', name = '', type, numbers] = operation.split(' ');
    if (kind !== 'mknod') return `${kind}:${pathOf(name)}`;
    return `mknod-${type}:${pathOf(name)}:${numbers}`;
  });
  const child = spawn(probePath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const exited = once(child, 'exit');
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await once(child, 'spawn');
  for (const file of procsFiles) writeFileSync(file, String(child.pid));
  child.stdin.end('\n');
  const [code] = await exited;
  assert.equal(code, 0, `probe exit status, output: ${output}`);
  const results = output.trim().split('\n');
  assert.equal(results.length, operations.length, `one line per operation: ${output}`);
  return Object.fromEntries(
    operations.map((operation, index) => [operation, results[index] ?? 'no result']),
  );
}

/** Runs the operations of `expected` and compares every result at once. */
async function assertProbe(
  procsFiles: readonly string[],
  expected: Record<string, string>,
): Promise<void> {
  assert.deepEqual(await probe(procsFiles, Object.keys(expected)), expected);
}

// --- the rules ---

const rule = (
  allow: boolean,
  type: 'a' | 'b' | 'c',
  major: number | null,
  minor: number | null,
  access = 'rwm',
): DeviceRule => ({ allow, type, major, minor, access });
const DENY_ALL = rule(false, 'a', null, null);
const ALLOW_ALL = rule(true, 'a', null, null);

test("device rules (no kernel): DEFAULT_DEVICE_RULES is docker's default, parseDeviceAccess and rulesForDevice, lists of the wrong shape are TockerErrors", () => {
  assert.deepEqual(DEFAULT_DEVICE_RULES.map(formatDeviceRule), [
    'a',
    'c *:* m',
    'b *:* m',
    'c 1:3 rwm',
    'c 1:5 rwm',
    'c 1:7 rwm',
    'c 1:8 rwm',
    'c 1:9 rwm',
    'c 5:0 rwm',
    'c 5:1 rwm',
    'c 5:2 rwm',
    'c 136:* rwm',
  ]);
  assert.equal(DEFAULT_DEVICE_RULES[0]?.allow, false);
  assert.ok(DEFAULT_DEVICE_RULES.slice(1).every((each) => each.allow));
  checkDeviceRules(DEFAULT_DEVICE_RULES);

  assert.equal(parseDeviceAccess('rwm'), 'rwm');
  assert.equal(parseDeviceAccess('mr'), 'rm');
  assert.equal(parseDeviceAccess('w'), 'w');
  for (const bad of ['', 'rr', 'rwx', 'R', 'rw m']) {
    assert.throws(() => parseDeviceAccess(bad), TockerError, bad);
  }
  assert.deepEqual(rulesForDevice('c', 10, 229, 'wr'), [rule(true, 'c', 10, 229, 'rw')]);
  assert.throws(() => rulesForDevice('c', 10, 229, 'x'), TockerError);

  const refused: [string, DeviceRule[]][] = [
    ['empty', []],
    ['no catch-all first', [rule(true, 'c', 1, 3)]],
    ['a catch-all limited to some access', [rule(false, 'a', null, null, 'rw')]],
    ['a catch-all with a major', [rule(false, 'a', 1, null)]],
    ['a second catch-all', [DENY_ALL, ALLOW_ALL]],
    ['a deny after deny-all', [DENY_ALL, rule(true, 'c', 1, null), rule(false, 'c', 1, 11)]],
    ['an allow after allow-all', [ALLOW_ALL, rule(true, 'c', 1, 3)]],
    ['a major past 4095', [DENY_ALL, rule(true, 'b', 4096, 0)]],
    ['a negative minor', [DENY_ALL, rule(true, 'c', 1, -1)]],
    ['a fractional minor', [DENY_ALL, rule(true, 'c', 1, 1.5)]],
    ['a minor past 2^20 - 1', [DENY_ALL, rule(true, 'c', 1, 0x100000)]],
    ['unknown access', [DENY_ALL, rule(true, 'c', 1, 3, 'x')]],
    ['no access', [DENY_ALL, rule(true, 'c', 1, 3, '')]],
  ];
  for (const [why, rules] of refused) {
    assert.throws(() => checkDeviceRules(rules), TockerError, why);
    assert.throws(() => deviceFilterProgram(rules), TockerError, why);
  }
});

// DEFAULT_DEVICE_RULES plus /dev/fuse (as --device /dev/fuse:/dev/fuse:rw would add it).
const CONTAINER_RULES = [...DEFAULT_DEVICE_RULES, ...rulesForDevice('c', 10, 229, 'rw')];
const CONTAINER_EXPECTED = {
  'rw null': 'OK',
  'rw zero': 'OK',
  'rw fuse': 'OK',
  'r kmsg': 'EPERM',
  'w kmsg': 'EPERM',
  'r disk': 'EPERM',
  'mknod made-kmsg c 1:11': 'OK',
  'r made-kmsg': 'EPERM',
  [`mknod made-disk b ${disk}`]: 'OK',
  'r made-disk': 'EPERM',
};

test('the probe outside any device cgroup (control): every operation of the container tests succeeds', async () => {
  const allOk = Object.fromEntries(Object.keys(CONTAINER_EXPECTED).map((key) => [key, 'OK']));
  await assertProbe([], allOk);
});

test(`v1 devices controller on the real ${ROOT}/devices hierarchy: the container's devices cgroup lists the rules; a real process in it opens /dev/null, /dev/zero and the added /dev/fuse, gets EPERM for /dev/kmsg (c 1:11) and a block device (b ${disk}), may mknod but not open what it made`, async () => {
  const name = uniqueName();
  const cgroup = v1Driver().create(name, {}, CONTAINER_RULES);
  const devicesDir = join(v1ParentDir('devices'), name);
  try {
    assert.ok(cgroup.procsFiles.includes(join(devicesDir, 'cgroup.procs')));
    const listed = readFileSync(join(devicesDir, 'devices.list'), 'utf8').trim().split('\n');
    assert.deepEqual(listed.sort(), CONTAINER_RULES.slice(1).map(formatDeviceRule).sort());
    await assertProbe(cgroup.procsFiles, CONTAINER_EXPECTED);

    // exec joins the cgroups that open() finds: the devices cgroup must be among them.
    assert.deepEqual(v1Driver().open(name).procsFiles, cgroup.procsFiles);
  } finally {
    cgroup.remove();
  }
  assert.equal(existsSync(devicesDir), false);
});

test('v1 without device rules: no devices cgroup is made (the container keeps its parent devices cgroup); rules without a devices hierarchy, or of the wrong shape, are TockerErrors before anything is made', () => {
  const name = uniqueName();
  const cgroup = v1Driver().create(name, {});
  try {
    assert.equal(existsSync(join(v1ParentDir('devices'), name)), false);
    // cpu, cpuacct, memory, pids and freezer: each its own hierarchy here.
    assert.equal(cgroup.procsFiles.length, 5);
    assert.equal(v1Driver().open(name).procsFiles.length, 5);
  } finally {
    cgroup.remove();
  }

  const withoutDevices = new CgroupV1Driver({
    hierarchies: [{ controllers: ['pids'], mountPoint: join(ROOT, 'pids'), ownCgroup: '/' }],
    parent: PARENT,
  });
  assert.throws(
    () => withoutDevices.create(name, {}, DEFAULT_DEVICE_RULES),
    (err) =>
      err instanceof TockerError &&
      err.message.startsWith('the devices cgroup controller is not available'),
  );
  assert.throws(() => v1Driver().create(name, {}, [rule(true, 'c', 1, 3)]), TockerError);
  for (const controller of V1_CONTROLLERS) {
    assert.equal(existsSync(join(v1ParentDir(controller), name)), false, controller);
  }
});

test(`v2 device filter (BPF) on the hybrid host's cgroup2 mount ${UNIFIED} (its cpu/memory/pids controllers cannot be used here, device programs can): a real process in the container cgroup gets the same decisions as under v1`, async () => {
  const driver = v2Driver();
  assert.deepEqual(driver.parentDirs, [join(UNIFIED, PARENT)]);
  const name = uniqueName();
  const cgroup = driver.create(name, {}, CONTAINER_RULES);
  const dir = join(UNIFIED, PARENT, name);
  try {
    assert.deepEqual(cgroup.procsFiles, [join(dir, 'cgroup.procs')]);
    await assertProbe(cgroup.procsFiles, CONTAINER_EXPECTED);
  } finally {
    cgroup.remove();
  }
  assert.equal(existsSync(dir), false);
  assert.throws(() => driver.create(name, {}, [rule(true, 'c', 1, 3)]), TockerError);
  assert.equal(existsSync(dir), false, 'a list of the wrong shape is refused before mkdir');
});

// --- the same rule lists through the BPF program and through v1 ---

const CASES: { name: string; rules: DeviceRule[]; expected: Record<string, string> }[] = [
  {
    name: 'nothing but a deny-all',
    rules: [DENY_ALL],
    expected: { 'r null': 'EPERM', 'mknod made-c c 1:3': 'EPERM' },
  },
  {
    name: 'nothing but an allow-all (privileged)',
    rules: [ALLOW_ALL],
    expected: { 'rw null': 'OK', 'r disk': 'OK', [`mknod made-b b ${disk}`]: 'OK' },
  },
  {
    name: 'any character device, no block device',
    rules: [DENY_ALL, rule(true, 'c', null, null)],
    expected: {
      'rw null': 'OK',
      'r kmsg': 'OK',
      'rw fuse': 'OK',
      'r disk': 'EPERM',
      'mknod made-c c 1:11': 'OK',
      [`mknod made-b b ${disk}`]: 'EPERM',
    },
  },
  {
    name: "the block device's major with any minor, read only",
    rules: [DENY_ALL, rule(true, 'b', DISK.major, null, 'r')],
    expected: {
      'r disk': 'OK',
      'rw disk': 'EPERM',
      'r null': 'EPERM',
      [`mknod made-b b ${disk}`]: 'EPERM',
    },
  },
  {
    name: 'access subsets after a deny-all: null read-only, zero write-only, mknod of char devices',
    rules: [
      DENY_ALL,
      rule(true, 'c', 1, 3, 'r'),
      rule(true, 'c', 1, 5, 'w'),
      rule(true, 'c', null, null, 'm'),
    ],
    expected: {
      'r null': 'OK',
      'w null': 'EPERM',
      'rw null': 'EPERM',
      'w zero': 'OK',
      'r zero': 'EPERM',
      'mknod made-c c 1:11': 'OK',
      'r made-c': 'EPERM',
      [`mknod made-b b ${disk}`]: 'EPERM',
    },
  },
  {
    name: 'any minor of major 1 read-write, one exact minor read-only',
    rules: [DENY_ALL, rule(true, 'c', 1, null, 'rw'), rule(true, 'c', 10, 229, 'r')],
    expected: {
      'rw null': 'OK',
      'rw kmsg': 'OK',
      'r fuse': 'OK',
      'rw fuse': 'EPERM',
      'mknod made-c c 1:3': 'EPERM',
    },
  },
  {
    name: 'deny rules after an allow-all: kmsg not for writing, no block devices, no mknod of major 10',
    rules: [
      ALLOW_ALL,
      rule(false, 'c', 1, 11, 'w'),
      rule(false, 'b', null, null),
      rule(false, 'c', 10, null, 'm'),
    ],
    expected: {
      'r kmsg': 'OK',
      'w kmsg': 'EPERM',
      'rw kmsg': 'EPERM',
      'r disk': 'EPERM',
      'rw null': 'OK',
      'rw fuse': 'OK',
      'mknod made-c c 1:11': 'OK',
      'mknod made-f c 10:229': 'EPERM',
    },
  },
];

for (const { name: caseName, rules, expected } of CASES) {
  test(`rule list "${caseName}": the generated BPF program (run by the kernel on ${UNIFIED}) and v1 devices.allow/deny (on ${ROOT}/devices) decide alike`, async () => {
    for (const driver of [v2Driver(), v1Driver()]) {
      const cgroup = driver.create(uniqueName(), {}, rules);
      try {
        assert.deepEqual(
          await probe(cgroup.procsFiles, Object.keys(expected)),
          expected,
          `cgroup v${driver.version}`,
        );
      } finally {
        cgroup.remove();
      }
    }
  });
}

test(`nested filters on ${UNIFIED} (BPF_F_ALLOW_MULTI): a filter on an ancestor stays in force below, every program must allow`, async () => {
  const outer = join(UNIFIED, PARENT, uniqueName());
  const inner = join(outer, 'inner');
  mkdirSync(inner, { recursive: true });
  try {
    attachDeviceFilter(outer, deviceFilterProgram([DENY_ALL, rule(true, 'c', 1, null)]));
    attachDeviceFilter(inner, deviceFilterProgram([DENY_ALL, rule(true, 'c', null, null, 'rw')]));
    await assertProbe([join(inner, 'cgroup.procs')], {
      'rw null': 'OK',
      'rw fuse': 'EPERM', // the outer filter
      'mknod made-c c 1:3': 'EPERM', // the inner filter
      'r disk': 'EPERM', // both
    });
  } finally {
    await removeCgroupTree(outer);
  }
});
