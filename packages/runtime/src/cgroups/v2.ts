import { existsSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { TockerError } from '../errors.js';
import { attachDeviceFilter, deviceFilterProgram } from './device-filter.js';
import type { DeviceRule } from './devices.js';
import {
  parseLimit,
  readKeyedNumber,
  readLimit,
  readNumber,
  readPids,
  readText,
  readWords,
  writeCgroupFile,
} from './files.js';
import {
  changeFreezer,
  checkName,
  createCgroupDirs,
  destroyCgroup,
  ensureDir,
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

const V2_CONTROLLERS: readonly LimitController[] = ['cpu', 'memory', 'pids'];

export interface CgroupV2Options {
  /** Where the cgroup2 filesystem is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
  readonly mountPoint: string;
  /** This process's cgroup (the "0::" line of /proc/self/cgroup), relative to mountPoint. */
  readonly ownCgroup: string;
  /** Relative: next to this process's own cgroup (see below); absolute: from the root. */
  readonly parent: string;
}

function listOrNone(names: Iterable<string>): string {
  return [...names].join(' ') || 'none';
}

/**
 * Turns on `wanted` for the children of `dir` and returns what the children get. The write
 * is all-or-nothing; when the kernel refuses it (e.g. EBUSY because processes live in
 * `dir`, or a cgroup we do not own), whatever its owner already enabled is what there is.
 */
function enableControllers(dir: string, wanted: ReadonlySet<string>): Set<string> {
  const file = join(dir, 'cgroup.subtree_control');
  try {
    writeCgroupFile(file, [...wanted].map((controller) => `+${controller}`).join(' '));
    return new Set(wanted);
  } catch (err) {
    if (!(err instanceof TockerError)) throw err;
    const enabled = new Set(readWords(file));
    return new Set([...wanted].filter((controller) => enabled.has(controller)));
  }
}

export class CgroupV2Driver implements CgroupDriver {
  readonly version = 2;
  readonly parentDirs: readonly string[];
  readonly #mountPoint: string;
  /** The parent as a path inside the hierarchy ("/tocker"). */
  readonly #parentPath: string;
  readonly #parentDir: string;

  constructor(options: CgroupV2Options) {
    // A v2 cgroup that holds processes cannot hand controllers to child cgroups (the
    // no-internal-processes rule), so containers cannot live below our own cgroup. As with
    // systemd scopes, a relative parent is resolved against our cgroup's parent, which
    // makes it a sibling of our own; the root cgroup is exempt from the rule.
    const base = posix.dirname(options.ownCgroup);
    this.#mountPoint = options.mountPoint;
    this.#parentPath = resolveParent(base, options.parent);
    this.#parentDir = join(options.mountPoint, this.#parentPath);
    this.parentDirs = [this.#parentDir];
  }

  /**
   * Enables cpu, memory and pids (those the root offers) in cgroup.subtree_control from the
   * root down to the parent, and returns the controllers a new child of the parent gets.
   * A child's cgroup.controllers is exactly its parent's subtree_control, so what each
   * level passes on is what the next level can pass further.
   */
  #delegateControllers(): Set<string> {
    const offered = new Set(readWords(join(this.#mountPoint, 'cgroup.controllers')));
    let passed = new Set<string>(V2_CONTROLLERS.filter((controller) => offered.has(controller)));
    const segments = this.#parentPath.split('/').filter(Boolean);
    for (let depth = 0; depth <= segments.length && passed.size > 0; depth++) {
      passed = enableControllers(join(this.#mountPoint, ...segments.slice(0, depth)), passed);
    }
    return passed;
  }

  #whyMissing(controller: string, delegated: ReadonlySet<string>): string {
    const offered = readWords(join(this.#mountPoint, 'cgroup.controllers'));
    if (!offered.includes(controller)) {
      return `cgroup v2 at ${this.#mountPoint} offers only: ${listOrNone(offered)}`;
    }
    return `it could not be enabled down to ${this.#parentDir}, which passes on only: ${listOrNone(delegated)}`;
  }

  create(name: string, limits: CgroupLimits, devices?: readonly DeviceRule[]): ContainerCgroup {
    checkName(name);
    const deviceFilter = devices === undefined ? undefined : deviceFilterProgram(devices);
    ensureDir(this.#parentDir);
    const controllers = this.#delegateControllers();
    for (const controller of requiredControllers(limits)) {
      if (!controllers.has(controller)) {
        throw controllerUnavailable(controller, this.#whyMissing(controller, controllers));
      }
    }
    const dir = join(this.#parentDir, name);
    return createCgroupDirs(name, [dir], () => {
      const cgroup = new V2Cgroup(name, dir, controllers);
      cgroup.setLimits(limits);
      // Before any process joins: there is no moment without the filter.
      if (deviceFilter !== undefined) attachDeviceFilter(dir, deviceFilter);
      return cgroup;
    });
  }

  open(name: string): ContainerCgroup {
    checkName(name);
    const dir = join(this.#parentDir, name);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new TockerError(`no cgroup named "${name}" under ${this.#parentDir}`);
    }
    return new V2Cgroup(name, dir, new Set(readWords(join(dir, 'cgroup.controllers'))));
  }

  removeEmptyParents(): void {
    removeEmptyParents(this.parentDirs);
  }

  list(): string[] {
    return listChildren(this.parentDirs);
  }
}

class V2Cgroup implements ContainerCgroup {
  readonly version = 2;
  readonly procsFiles: readonly string[];
  readonly dirs: readonly { readonly name: string; readonly path: string }[];

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly controllers: ReadonlySet<string>,
  ) {
    this.procsFiles = [join(dir, 'cgroup.procs')];
    this.dirs = [{ name: '', path: dir }];
  }

  #file(file: string): string {
    return join(this.dir, file);
  }

  /**
   * Unlike v1, lowering memory.max below the current usage is not refused: the kernel
   * reclaims what it can and OOM-kills in the cgroup if that is not enough.
   */
  setLimits(limits: CgroupLimits): void {
    for (const controller of requiredControllers(limits)) {
      if (!this.controllers.has(controller)) {
        throw controllerUnavailable(
          controller,
          `${this.dir} has only: ${listOrNone(this.controllers)}`,
        );
      }
    }
    if (limits.cpus !== undefined) {
      writeCgroupFile(this.#file('cpu.max'), `${cpuQuotaUs(limits.cpus)} ${CPU_PERIOD_US}`);
    }
    if (limits.memory !== undefined) {
      writeCgroupFile(this.#file('memory.max'), limits.memory);
      // Absent without swap accounting; when present, 0 keeps the limit from spilling into swap.
      if (existsSync(this.#file('memory.swap.max'))) {
        writeCgroupFile(this.#file('memory.swap.max'), 0);
      }
    }
    if (limits.pidsLimit !== undefined)
      writeCgroupFile(this.#file('pids.max'), limits.pidsLimit ?? 'max');
  }

  #cpuLimit(): number | null {
    const path = this.#file('cpu.max');
    const [quota, period] = (readText(path) ?? '').trim().split(/\s+/);
    if (!quota || !period) return null;
    return cpuLimitFrom(parseLimit(quota, path), Number(period));
  }

  stats(): CgroupStats {
    return {
      ...this.usage(),
      memoryBytes: readNumber(this.#file('memory.current')) ?? 0,
      memoryLimitBytes: readLimit(this.#file('memory.max')),
      cpuLimit: this.#cpuLimit(),
      pids: readNumber(this.#file('pids.current')) ?? 0,
      pidsLimit: readLimit(this.#file('pids.max')),
    };
  }

  usage(): CgroupUsage {
    return {
      cpuTimeNs: (readKeyedNumber(this.#file('cpu.stat'), 'usage_usec') ?? 0) * 1000,
      memoryPeakBytes: readNumber(this.#file('memory.peak')),
      oomKills: readKeyedNumber(this.#file('memory.events'), 'oom_kill') ?? 0,
    };
  }

  pids(): number[] {
    return readPids(this.#file('cgroup.procs'));
  }

  /** cgroup.freeze (5.2+); cgroup.events says "frozen 1" once every task has stopped. */
  setFrozen(frozen: boolean): void {
    const events = this.#file('cgroup.events');
    changeFreezer(
      this.name,
      this.#file('cgroup.freeze'),
      frozen ? '1' : '0',
      () => readKeyedNumber(events, 'frozen') === (frozen ? 1 : 0),
      frozen,
    );
  }

  /**
   * cgroup.kill (5.14+) also catches processes forked while killing; the loop waits either
   * way. v2 delivers SIGKILL to frozen tasks too.
   */
  killAll(): void {
    if (existsSync(this.#file('cgroup.kill'))) writeCgroupFile(this.#file('cgroup.kill'), 1);
    killUntilEmpty(() => this.pids());
  }

  remove(): void {
    removeDirs(this.name, [this.dir]);
  }

  destroy(): void {
    destroyCgroup([this.dir], this);
  }
}
