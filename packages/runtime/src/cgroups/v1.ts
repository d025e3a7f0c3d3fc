import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatBytes } from '@tocker/protocol/vocabulary';
import { TockerError } from '../errors.js';
import { checkDeviceRules, type DeviceRule, formatDeviceRule } from './devices.js';
import {
  CgroupWriteError,
  readKeyedNumber,
  readLimit,
  readNumber,
  readPids,
  writeCgroupEntries,
  writeCgroupFile,
} from './files.js';
import {
  changeFreezer,
  checkName,
  createCgroupDirs,
  destroyCgroup,
  killUntilEmpty,
  listChildren,
  removeDirs,
  removeEmptyParents,
  resolveParent,
} from './lifecycle.js';
import {
  CPU_PERIOD_US,
  controllerUnavailable,
  cpuLimitFrom,
  cpuQuotaUs,
  type LimitController,
  requiredControllers,
} from './limits.js';
import type {
  CgroupDriver,
  CgroupLimits,
  CgroupStats,
  CgroupUsage,
  ContainerCgroup,
} from './types.js';

/**
 * The hierarchies every container cgroup is made in. cpuset is deliberately not used: a
 * new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems and refuses processes
 * until both are filled in.
 */
const RESOURCE_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;
/**
 * devices is used only by the containers created with device rules; freezer (pause) by
 * every container where its hierarchy is mounted.
 */
export const V1_CONTROLLERS = [...RESOURCE_CONTROLLERS, 'freezer', 'devices'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

export interface V1Hierarchy {
  /** The controllers mounted together in this hierarchy, e.g. ["cpu", "cpuacct"]. */
  readonly controllers: readonly string[];
  readonly mountPoint: string;
  /** This process's cgroup in the hierarchy, relative to mountPoint ("/" at the top). */
  readonly ownCgroup: string;
}

export interface CgroupV1Options {
  readonly hierarchies: readonly V1Hierarchy[];
  /** Relative: below this process's own cgroup in each hierarchy; absolute: from its root. */
  readonly parent: string;
}

type Dirs = ReadonlyMap<V1Controller, string>;

/** Co-mounted controllers share a directory; each hierarchy counts once. */
function uniqueDirs(dirs: Dirs): string[] {
  return [...new Set(dirs.values())];
}

const MISSING_HIERARCHY = 'no cgroup v1 hierarchy for it is mounted';

/**
 * The catch-all rule resets the cgroup to allow or deny everything, each later rule adds
 * an exception (see DeviceRule); one write per rule, consecutive rules of a kind on one
 * open file. A new cgroup starts as a copy of its parent's list, which the catch-all
 * replaces.
 */
function writeDeviceRules(dir: string, rules: readonly DeviceRule[]): void {
  let start = 0;
  while (start < rules.length) {
    const allow = rules[start]?.allow;
    let end = start;
    while (end < rules.length && rules[end]?.allow === allow) end++;
    writeCgroupEntries(
      join(dir, allow ? 'devices.allow' : 'devices.deny'),
      rules.slice(start, end).map(formatDeviceRule),
    );
    start = end;
  }
}

export class CgroupV1Driver implements CgroupDriver {
  readonly version = 1;
  readonly parentDirs: readonly string[];
  readonly #parents: Dirs;
  /** Each controller's hierarchy by the name of its mount point ("cpu,cpuacct"). */
  readonly #hierarchyNames = new Map<V1Controller, string>();

  constructor(options: CgroupV1Options) {
    const parents = new Map<V1Controller, string>();
    for (const controller of V1_CONTROLLERS) {
      const hierarchy = options.hierarchies.find((h) => h.controllers.includes(controller));
      if (hierarchy) {
        const path = resolveParent(hierarchy.ownCgroup, options.parent);
        parents.set(controller, join(hierarchy.mountPoint, path));
        this.#hierarchyNames.set(controller, basename(hierarchy.mountPoint));
      }
    }
    this.#parents = parents;
    this.parentDirs = uniqueDirs(parents);
  }

  #dirs(name: string): Map<V1Controller, string> {
    checkName(name);
    return new Map(
      [...this.#parents].map(([controller, parent]) => [controller, join(parent, name)]),
    );
  }

  create(name: string, limits: CgroupLimits, devices?: readonly DeviceRule[]): ContainerCgroup {
    const dirs = this.#dirs(name);
    const devicesDir = dirs.get('devices');
    if (devices === undefined) {
      dirs.delete('devices');
    } else {
      if (devicesDir === undefined) throw controllerUnavailable('devices', MISSING_HIERARCHY);
      checkDeviceRules(devices);
    }
    return createCgroupDirs(name, uniqueDirs(dirs), () => {
      const cgroup = new V1Cgroup(name, dirs, this.#hierarchyNames);
      cgroup.setLimits(limits);
      if (devices !== undefined && devicesDir !== undefined) writeDeviceRules(devicesDir, devices);
      return cgroup;
    });
  }

  open(name: string): ContainerCgroup {
    const dirs = this.#dirs(name);
    // Optional hierarchies (and containers made before the freezer was used) may lack them.
    for (const controller of ['devices', 'freezer'] as const) {
      const dir = dirs.get(controller);
      if (dir !== undefined && !existsSync(dir)) dirs.delete(controller);
    }
    // A partial leftover (some hierarchies only) still opens, so it can be removed.
    if (!uniqueDirs(dirs).some((dir) => existsSync(dir))) {
      throw new TockerError(`no cgroup named "${name}" under ${this.parentDirs.join(', ')}`);
    }
    return new V1Cgroup(name, dirs, this.#hierarchyNames);
  }

  removeEmptyParents(): void {
    removeEmptyParents(this.parentDirs);
  }

  list(): string[] {
    return listChildren(this.parentDirs);
  }
}

/** The usage file that goes with each memory limit file, for the EBUSY message. */
const MEMORY_LIMIT_FILES = {
  limit: { limit: 'memory.limit_in_bytes', usage: 'memory.usage_in_bytes' },
  memsw: { limit: 'memory.memsw.limit_in_bytes', usage: 'memory.memsw.usage_in_bytes' },
};

class V1Cgroup implements ContainerCgroup {
  readonly version = 1;
  readonly procsFiles: readonly string[];
  readonly dirs: readonly { readonly name: string; readonly path: string }[];

  constructor(
    readonly name: string,
    private readonly controllerDirs: Dirs,
    hierarchyNames: ReadonlyMap<V1Controller, string>,
  ) {
    this.procsFiles = uniqueDirs(controllerDirs).map((dir) => join(dir, 'cgroup.procs'));
    const byPath = new Map<string, string>();
    for (const [controller, dir] of controllerDirs)
      byPath.set(dir, hierarchyNames.get(controller) ?? controller);
    this.dirs = [...byPath].map(([path, hierarchy]) => ({ name: hierarchy, path }));
  }

  #requireDir(controller: LimitController): string {
    const dir = this.controllerDirs.get(controller);
    if (dir === undefined) throw controllerUnavailable(controller, MISSING_HIERARCHY);
    return dir;
  }

  #file(controller: LimitController, file: string): string {
    return join(this.#requireDir(controller), file);
  }

  /** The file's path when its hierarchy is mounted; stats read nothing otherwise. */
  #optional(controller: V1Controller, file: string): string | undefined {
    const dir = this.controllerDirs.get(controller);
    return dir === undefined ? undefined : join(dir, file);
  }

  setLimits(limits: CgroupLimits): void {
    // All hierarchies are checked before anything is written.
    for (const controller of requiredControllers(limits)) this.#requireDir(controller);
    if (limits.cpus !== undefined) {
      writeCgroupFile(this.#file('cpu', 'cpu.cfs_period_us'), CPU_PERIOD_US);
      writeCgroupFile(this.#file('cpu', 'cpu.cfs_quota_us'), cpuQuotaUs(limits.cpus));
    }
    if (limits.memory !== undefined) this.#setMemory(limits.memory);
    if (limits.pidsLimit !== undefined) {
      writeCgroupFile(this.#file('pids', 'pids.max'), limits.pidsLimit ?? 'max');
    }
  }

  /**
   * memsw (memory + swap) gets the same value so the limit cannot be escaped into swap. The
   * kernel insists on limit <= memsw after every single write (EINVAL otherwise), so a
   * raise writes memsw first and a lowering writes the limit first.
   */
  #setMemory(bytes: number): void {
    const { limit, memsw } = MEMORY_LIMIT_FILES;
    let order = [limit];
    if (existsSync(this.#file('memory', memsw.limit))) {
      const current = readLimit(this.#file('memory', limit.limit)) ?? Number.POSITIVE_INFINITY;
      order = bytes > current ? [memsw, limit] : [limit, memsw];
    }
    for (const files of order) {
      try {
        writeCgroupFile(this.#file('memory', files.limit), bytes);
      } catch (err) {
        // v1 reclaims first and answers EBUSY when usage cannot get below the new limit.
        if (!(err instanceof CgroupWriteError && err.code === 'EBUSY')) throw err;
        const usage = readNumber(this.#file('memory', files.usage)) ?? 0;
        throw new TockerError(
          `cannot set the memory limit of cgroup "${this.name}" to ${formatBytes(bytes)}: it uses ${formatBytes(usage)} that the kernel could not reclaim`,
        );
      }
    }
  }

  /** A file's value, null when its hierarchy or the file is missing. */
  #read<T>(controller: V1Controller, file: string, reader: (path: string) => T | null): T | null {
    const path = this.#optional(controller, file);
    return path === undefined ? null : reader(path);
  }

  stats(): CgroupStats {
    return {
      ...this.usage(),
      memoryBytes: this.#read('memory', 'memory.usage_in_bytes', readNumber) ?? 0,
      memoryLimitBytes: this.#read('memory', 'memory.limit_in_bytes', readLimit),
      cpuLimit: cpuLimitFrom(
        this.#read('cpu', 'cpu.cfs_quota_us', readNumber),
        this.#read('cpu', 'cpu.cfs_period_us', readNumber),
      ),
      pids: this.#read('pids', 'pids.current', readNumber) ?? 0,
      pidsLimit: this.#read('pids', 'pids.max', readLimit),
    };
  }

  usage(): CgroupUsage {
    return {
      cpuTimeNs: this.#read('cpuacct', 'cpuacct.usage', readNumber) ?? 0,
      memoryPeakBytes: this.#read('memory', 'memory.max_usage_in_bytes', readNumber),
      oomKills:
        this.#read('memory', 'memory.oom_control', (path) => readKeyedNumber(path, 'oom_kill')) ??
        0,
    };
  }

  /** The union over hierarchies: a process that joined only some of them is still ours. */
  pids(): number[] {
    const pids = new Set(this.procsFiles.flatMap(readPids));
    return [...pids].sort((a, b) => a - b);
  }

  setFrozen(frozen: boolean): void {
    const dir = this.controllerDirs.get('freezer');
    if (dir === undefined) throw controllerUnavailable('freezer', MISSING_HIERARCHY);
    const state = join(dir, 'freezer.state');
    const wanted = frozen ? 'FROZEN' : 'THAWED';
    // FREEZING while some task has not stopped yet.
    changeFreezer(this.name, state, wanted, () => readText(state) === wanted, frozen);
  }

  killAll(): void {
    // A frozen task does not even die until it is thawed (destroy() may have removed an
    // empty freezer directory already, with tasks left in other hierarchies).
    const freezer = this.controllerDirs.get('freezer');
    if (freezer !== undefined && existsSync(freezer)) this.setFrozen(false);
    killUntilEmpty(() => this.pids());
  }

  remove(): void {
    removeDirs(this.name, uniqueDirs(this.controllerDirs));
  }

  destroy(): void {
    destroyCgroup(uniqueDirs(this.controllerDirs), this);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}
