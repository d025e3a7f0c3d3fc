import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { TockerError } from '../errors.js';
import { sleepSync } from '../sleep-sync.js';
import { describeError, errnoCode, readPids, writeCgroupFile } from './files.js';

/** Naming, creating, emptying and removing cgroup directories: the same for v1 and v2. */

const KILL_TIMEOUT_MS = 1000;
const REMOVE_TIMEOUT_MS = 1000;

function asTockerError(err: unknown, context: string): TockerError {
  return err instanceof TockerError ? err : new TockerError(`${context}: ${describeError(err)}`);
}

/** A container cgroup is one directory level below the parent, never a path. */
export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\0]/.test(name)) {
    throw new TockerError(`invalid cgroup name "${name}"`);
  }
}

/**
 * The parent's path inside a hierarchy: absolute from the hierarchy root, relative from
 * `base`. posix.resolve clamps "..", so the result never leaves the hierarchy.
 */
export function resolveParent(base: string, parent: string): string {
  if (parent === '' || parent.includes('\0')) {
    throw new TockerError(`invalid cgroup parent "${parent}"`);
  }
  return posix.resolve('/', base, parent);
}

export function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw asTockerError(err, `cannot create cgroup directory ${dir}`);
  }
}

/** Subdirectory names under the given parents; a parent that does not exist has none. */
export function listChildren(parents: readonly string[]): string[] {
  const names = new Set<string>();
  for (const parent of parents) {
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent, { withFileTypes: true })) {
      if (entry.isDirectory()) names.add(entry.name);
    }
  }
  return [...names].sort();
}

/**
 * mkdir each directory (with its parents), then `configure`; on any failure the
 * directories made here are removed again. The parents stay: other containers share them.
 */
export function createCgroupDirs<T>(name: string, dirs: readonly string[], configure: () => T): T {
  const created: string[] = [];
  try {
    for (const dir of dirs) {
      makeDir(name, dir);
      created.push(dir);
    }
    return configure();
  } catch (err) {
    for (const dir of created.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // Best effort: the original error is the one worth reporting.
      }
    }
    throw asTockerError(err, `cannot create cgroup "${name}"`);
  }
}

/** The parent is removed by whoever empties it (removeDirs): if that races us, make it again. */
function makeDir(name: string, dir: string): void {
  for (let attempt = 0; ; attempt++) {
    ensureDir(dirname(dir));
    try {
      mkdirSync(dir);
      return;
    } catch (err) {
      if (errnoCode(err) === 'EEXIST')
        throw new TockerError(`cgroup "${name}" already exists (${dir})`);
      if (errnoCode(err) !== 'ENOENT' || attempt > 2) throw err;
    }
  }
}

/**
 * SIGKILLs every listed pid until the list is empty: processes may fork while we kill, and
 * killed ones take a moment to leave the cgroup. Gives up after about a second, leaving
 * stragglers (e.g. stuck in uninterruptible sleep) for remove() to report.
 */
/** How long a freeze or a thaw may take to be complete (every task stopped or let go). */
const FREEZE_TIMEOUT_MS = 2000;

/**
 * Freezes or thaws the cgroup by writing `request` to `control`, then waits for `done()`:
 * a freeze is only complete once every task has stopped (a task in the middle of a system
 * call takes its time).
 */
export function changeFreezer(
  name: string,
  control: string,
  request: string,
  done: () => boolean,
  frozen: boolean,
): void {
  writeCgroupFile(control, request);
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  while (!done()) {
    if (Date.now() >= deadline)
      throw new TockerError(
        `cgroup "${name}" did not ${frozen ? 'freeze' : 'thaw'} within ${FREEZE_TIMEOUT_MS / 1000} s`,
      );
    sleepSync(1);
  }
}

export function killUntilEmpty(listPids: () => number[]): void {
  const deadline = Date.now() + KILL_TIMEOUT_MS;
  for (;;) {
    const pids = listPids();
    if (pids.length === 0 || Date.now() >= deadline) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if (errnoCode(err) !== 'ESRCH') throw asTockerError(err, `cannot kill process ${pid}`);
      }
    }
    sleepSync(10);
  }
}

/** rmdir, true when the directory is gone; false while the kernel says it is in use. */
function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return true;
    if (code === 'EBUSY') return false;
    throw asTockerError(err, `cannot remove cgroup directory ${dir}`);
  }
}

/**
 * A cgroup's end: rmdir first, which succeeds on an empty cgroup and fails (EBUSY,
 * harmlessly) on one with tasks; only then are they killed and the rest removed.
 */
export function destroyCgroup(
  dirs: readonly string[],
  cgroup: { killAll(): void; remove(): void },
): void {
  if (dirs.filter((dir) => !tryRmdir(dir)).length === 0) return;
  cgroup.killAll();
  cgroup.remove();
}

/** Processes that were just killed stay in the cgroup until they finish exiting (EBUSY). */
export function removeDirs(name: string, dirs: readonly string[]): void {
  const deadline = Date.now() + REMOVE_TIMEOUT_MS;
  let busy = dirs.filter((dir) => !tryRmdir(dir));
  while (busy.length > 0) {
    if (Date.now() >= deadline) {
      const dir = busy[0] ?? '';
      const pids = readPids(join(dir, 'cgroup.procs'));
      const why =
        pids.length > 0
          ? `processes ${pids.join(', ')} are still in it`
          : 'it still has child cgroups or exiting processes';
      throw new TockerError(`cannot remove cgroup "${name}" (${dir}): ${why}`);
    }
    sleepSync(20);
    busy = busy.filter((dir) => !tryRmdir(dir));
  }
}

/**
 * The shared parents go when they are empty, so that a host without containers carries no
 * tocker cgroups: when a runtime closes and at every collection, not with each container
 * (which made every start pay for creating them again). A container still in one keeps it
 * (EBUSY).
 */
export function removeEmptyParents(parents: readonly string[]): void {
  for (const parent of parents) {
    // Usually gone already (every command's collection asks): a failing rmdir would cost
    // an exception each, ~40 µs.
    if (!existsSync(parent)) continue;
    try {
      rmdirSync(parent);
    } catch {
      // Not empty, or a concurrent create is using it: either way it must stay.
    }
  }
}
