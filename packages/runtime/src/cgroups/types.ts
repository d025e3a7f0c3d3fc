import type { DeviceRule } from './devices.js';

export interface CgroupLimits {
  readonly cpus?: number;
  /** bytes */
  readonly memory?: number;
  /** null: no limit ("max"). */
  readonly pidsLimit?: number | null;
}

/** What the record keeps of a container's whole life: read once more at its end. */
export interface CgroupUsage {
  /** total CPU time used by the cgroup */
  cpuTimeNs: number;
  /** null when the kernel does not expose it (v2 memory.peak is 5.19+) */
  memoryPeakBytes: number | null;
  /** v1: memory.oom_control "oom_kill N"; v2: memory.events "oom_kill N" */
  oomKills: number;
}

/** Its usage, and what it uses and may use now. */
export interface CgroupStats extends CgroupUsage {
  /** current */
  memoryBytes: number;
  /** null = unlimited */
  memoryLimitBytes: number | null;
  /** in CPUs (0.5), null = unlimited */
  cpuLimit: number | null;
  pids: number;
  pidsLimit: number | null;
}

export interface ContainerCgroup {
  readonly version: 1 | 2;
  readonly name: string;
  /** The cgroup.procs files the container's first process writes "0" into to join itself (one per hierarchy). */
  readonly procsFiles: readonly string[];
  /** Its directory in each hierarchy, by the hierarchy's name ("cpu,cpuacct"; v2's: ""). */
  readonly dirs: readonly { readonly name: string; readonly path: string }[];
  /** Used at create time and for live updates; only the given fields change. */
  setLimits(limits: CgroupLimits): void;
  stats(): CgroupStats;
  /** Only what its end records (stats() reads three times as many files). */
  usage(): CgroupUsage;
  /** Host pids currently in the cgroup. */
  pids(): number[];
  /** Stops every task in it (frozen, as `pause`) or lets them go on; returns when done. */
  setFrozen(frozen: boolean): void;
  /** SIGKILL everything inside (thawed first) and wait (about 1 s at most) for it to empty. */
  killAll(): void;
  /** rmdir every directory; idempotent; retries EBUSY briefly, then throws a TockerError. */
  remove(): void;
  /**
   * killAll() then remove(), except that an empty cgroup (the usual end: its PID namespace
   * went with its first process) is removed at once, without listing or thawing it.
   */
  destroy(): void;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** Where container cgroups are created, one directory per hierarchy (for messages and tests). */
  readonly parentDirs: readonly string[];
  /**
   * mkdir under the parent, then set limits and, when `devices` is given, the device
   * allow-list (see DeviceRule; it cannot change later). Without `devices` the container
   * may use every device its parent cgroup allows. On any failure removes what it created
   * and throws.
   */
  create(name: string, limits: CgroupLimits, devices?: readonly DeviceRule[]): ContainerCgroup;
  /** An existing cgroup (another CLI process created it); no mkdir. */
  open(name: string): ContainerCgroup;
  /** Names of the container cgroups under the parent (for garbage collection of leftovers). */
  list(): string[];
  /** rmdir the parent directories if no container cgroup is left in them. */
  removeEmptyParents(): void;
}
