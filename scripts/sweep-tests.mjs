// What test runs that were killed (SIGKILL, a CI timeout) left behind, removed before the
// next run: the cgroups named after their test process (with the containers still in
// them) and the small tmpfs state roots some tests mount. Only what belongs to a test
// process that is gone: a run in progress elsewhere keeps its own. Their networks' bridges
// and firewall tables go through the built runtime (reconcileHostNetworks).

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The cgroup parents of the test files (see the tests' helpers), by their process's pid. */
const TEST_CGROUP = /^tocker-(?:agent-test|devtest|test)-(\d+)(?:-[a-z]+)?$/;
/** The tmpfs roots the tests mount are named after their process (tocker-test-PID). */
const TEST_TMPFS = /^tocker-test-(\d+)$/;
/** The nftables table the forward-policy test makes (packages/cli/test/network.test.ts). */
const TEST_TABLE = /^table inet (fwtest(\d+))$/;
/** The tests' temporary directories (scratchDir in packages/runtime/test/scratch.ts). */
const TEST_SCRATCH = /^tocker-[a-z0-9-]+-(\d+)-[A-Za-z0-9]{6}$/;
/** Where OCI runtimes keep containers' state when an engine gives no --root (podman gives none). */
const OCI_STATE_ROOTS = ['/run/runc', '/run/crun', '/run/tocker-runtime'];
/** A container's cgroup below a test's parent, as its runtime's state records it. */
const TEST_CGROUP_IN_STATE = /\/tocker-test-(\d+)-[a-z]+\//;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function mounts() {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const separator = fields.indexOf('-');
      return { point: fields[4], type: fields[separator + 1], source: fields[separator + 2] };
    });
}

function subdirectories(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
}

/** Every process in the tree, killed; then the tree removed from its leaves up. */
function removeCgroupTree(dir) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = [];
    const collect = (cgroup) => {
      try {
        pids.push(
          ...readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean),
        );
      } catch {}
      for (const child of subdirectories(cgroup)) collect(child);
    };
    collect(dir);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // they take a moment to go
  }
  const remove = (cgroup) => {
    for (const child of subdirectories(cgroup)) remove(child);
    try {
      rmdirSync(cgroup);
    } catch {}
  };
  remove(dir);
}

/** A frozen (paused) process cannot die: thaw the tree first (v1 freezer, v2 cgroup.freeze). */
function thawCgroupTree(dir) {
  for (const [file, value] of [
    ['freezer.state', 'THAWED'],
    ['cgroup.freeze', '0'],
  ]) {
    try {
      writeFileSync(join(dir, file), value);
    } catch {}
  }
  for (const child of subdirectories(dir)) thawCgroupTree(child);
}

function findTestCgroups(dir, found) {
  for (const child of subdirectories(dir)) {
    const owner = TEST_CGROUP.exec(child.split('/').pop() ?? '')?.[1];
    if (owner !== undefined) {
      if (!alive(Number(owner))) found.push(child);
    } else {
      findTestCgroups(child, found);
    }
  }
}

/**
 * Processes started with a test's directory on their command line: the engine tests'
 * containerd daemon and its shims, podman's conmons. They live outside the test's cgroups.
 */
function killProcessesMentioning(dir) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${dir}/`))
        process.kill(Number(entry), 'SIGKILL');
    } catch {}
  }
}

/** The state an OCI runtime kept for containers of podman tests that were killed. */
function removeStaleRuntimeState() {
  let removed = 0;
  for (const root of OCI_STATE_ROOTS) {
    for (const dir of subdirectories(root)) {
      const owners = readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => {
          try {
            return TEST_CGROUP_IN_STATE.exec(readFileSync(join(dir, entry.name), 'utf8'))?.[1];
          } catch {
            return undefined;
          }
        })
        .filter((owner) => owner !== undefined);
      if (owners.length === 0 || owners.some((owner) => alive(Number(owner)))) continue;
      rmSync(dir, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

export async function sweepTestLeftovers() {
  const stale = [];
  for (const { point, type } of mounts()) {
    if (type === 'cgroup' || type === 'cgroup2') findTestCgroups(point, stale);
  }
  for (const dir of stale) thawCgroupTree(dir);
  for (const dir of stale) removeCgroupTree(dir);
  let unmounted = 0;
  for (const { point, type, source } of mounts()) {
    const owner = TEST_TMPFS.exec(source)?.[1];
    if (type !== 'tmpfs' || owner === undefined || alive(Number(owner)) || !existsSync(point))
      continue;
    try {
      execFileSync('umount', ['--lazy', point]);
      rmSync(point, { recursive: true, force: true });
      unmounted++;
    } catch {}
  }
  let scratch = 0;
  for (const entry of readdirSync(tmpdir())) {
    const owner = TEST_SCRATCH.exec(entry)?.[1];
    if (owner === undefined || alive(Number(owner))) continue;
    const dir = join(tmpdir(), entry);
    killProcessesMentioning(dir);
    // Whatever is still mounted below it first (deepest first), so nothing is followed.
    const below = mounts()
      .map(({ point }) => point)
      .filter((point) => point.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    try {
      for (const point of below) execFileSync('umount', ['--lazy', point]);
      rmSync(dir, { recursive: true, force: true });
      scratch++;
    } catch {}
  }
  const runtimeStates = removeStaleRuntimeState();
  let tables = 0;
  for (const line of execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).split('\n')) {
    const [, table, owner] = TEST_TABLE.exec(line) ?? [];
    if (table === undefined || alive(Number(owner))) continue;
    execFileSync('nft', ['delete', 'table', 'inet', table]);
    tables++;
  }
  // With their roots gone, their bridges and firewall tables are the runtime's to take away.
  const { reconcileHostNetworks } = await import(join(repo, 'packages/runtime/dist/index.js'));
  const bridges = reconcileHostNetworks();
  if (stale.length + unmounted + scratch + runtimeStates + tables + bridges > 0)
    console.log(
      `test: removed ${stale.length} cgroup(s), ${unmounted} tmpfs, ${scratch} temporary directories, ${runtimeStates} OCI runtime state(s), ${tables} nftables table(s) and ${bridges} bridge(s) of killed test runs`,
    );
}
