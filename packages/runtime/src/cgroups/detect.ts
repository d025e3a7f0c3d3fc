import { readFileSync } from 'node:fs';
import { TockerError } from '../errors.js';
import type { CgroupDriver } from './types.js';
import { CgroupV1Driver, V1_CONTROLLERS, type V1Hierarchy } from './v1.js';
import { CgroupV2Driver, type CgroupV2Options } from './v2.js';

export interface MountinfoEntry {
  readonly mountId: number;
  readonly parentId: number;
  readonly majorMinor: string;
  /** The directory of the filesystem that is mounted (for cgroupfs: a cgroup path). */
  readonly root: string;
  readonly mountPoint: string;
  readonly mountOptions: readonly string[];
  readonly optionalFields: readonly string[];
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

export interface ProcCgroupEntry {
  /** 0 for the cgroup v2 line. */
  readonly hierarchyId: number;
  /** e.g. ["cpu", "cpuacct"], ["name=systemd"]; empty for v2. */
  readonly controllers: readonly string[];
  readonly path: string;
}

/** The kernel writes space, tab, newline and backslash in paths as \040, \011, \012, \134. */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** /proc/<pid>/mountinfo (proc(5)); lines that do not have the documented shape are skipped. */
export function parseMountinfo(text: string): MountinfoEntry[] {
  const entries: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    // A variable number of optional fields ends at a lone "-".
    const separator = fields.indexOf('-', 6);
    const [mountId, parentId, majorMinor, root, mountPoint, mountOptions] = fields;
    const [fsType, source, superOptions] = fields.slice(separator + 1);
    if (separator < 0 || mountOptions === undefined || fsType === undefined) continue;
    entries.push({
      mountId: Number(mountId),
      parentId: Number(parentId),
      majorMinor: majorMinor ?? '',
      root: unescapeOctal(root ?? ''),
      mountPoint: unescapeOctal(mountPoint ?? ''),
      mountOptions: mountOptions.split(','),
      optionalFields: fields.slice(6, separator),
      fsType,
      source: unescapeOctal(source ?? ''),
      superOptions: superOptions?.split(',') ?? [],
    });
  }
  return entries;
}

/** /proc/<pid>/cgroup: "hierarchy-id:controllers:path"; the path itself may contain ":". */
export function parseProcSelfCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    entries.push({
      hierarchyId: Number(line.slice(0, first)),
      controllers: line
        .slice(first + 1, second)
        .split(',')
        .filter((name) => name !== ''),
      path: line.slice(second + 1),
    });
  }
  return entries;
}

/**
 * Our cgroup as seen through a mount of `mountRoot` (not "/" when only a subtree of the
 * hierarchy is bind-mounted, as in some containers). When our cgroup lies outside that
 * subtree, the mount's top is the closest we can reach.
 */
function pathWithinMount(mountRoot: string, cgroupPath: string): string {
  if (mountRoot === '/') return cgroupPath;
  if (cgroupPath === mountRoot) return '/';
  return cgroupPath.startsWith(`${mountRoot}/`) ? cgroupPath.slice(mountRoot.length) : '/';
}

/** The v1 hierarchies holding cpu, cpuacct, memory or pids, one entry per hierarchy. */
export function findV1Hierarchies(
  mounts: readonly MountinfoEntry[],
  self: readonly ProcCgroupEntry[],
): V1Hierarchy[] {
  const hierarchies: V1Hierarchy[] = [];
  const seen = new Set<string>();
  for (const mount of mounts) {
    if (mount.fsType !== 'cgroup') continue;
    const controllers = V1_CONTROLLERS.filter((name) => mount.superOptions.includes(name));
    // The same hierarchy may be mounted more than once; the first mount serves.
    if (controllers.length === 0 || controllers.some((name) => seen.has(name))) continue;
    for (const name of controllers) seen.add(name);
    const own = self.find((entry) => controllers.some((name) => entry.controllers.includes(name)));
    hierarchies.push({
      controllers,
      mountPoint: mount.mountPoint,
      ownCgroup: pathWithinMount(mount.root, own?.path ?? '/'),
    });
  }
  return hierarchies;
}

export function findV2Mount(
  mounts: readonly MountinfoEntry[],
  self: readonly ProcCgroupEntry[],
): Omit<CgroupV2Options, 'parent'> | undefined {
  const mount = mounts.find((entry) => entry.fsType === 'cgroup2');
  if (!mount) return undefined;
  const own = self.find((entry) => entry.hierarchyId === 0);
  return { mountPoint: mount.mountPoint, ownCgroup: pathWithinMount(mount.root, own?.path ?? '/') };
}

function versionFromEnv(value: string | undefined): 1 | 2 | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === '1' || value === '2') return Number(value) as 1 | 2;
  throw new TockerError(`TOCKER_CGROUP_VERSION must be 1 or 2 (got "${value}")`);
}

export interface DetectOptions {
  /** Where container cgroups go; default $TOCKER_CGROUP_PARENT, else "tocker". */
  readonly parent?: string;
  /** The text of /proc/self/mountinfo (read from there when not given). */
  readonly mountinfo?: string;
  /** The text of /proc/self/cgroup (read from there when not given). */
  readonly selfCgroup?: string;
  /** Forces a version; default $TOCKER_CGROUP_VERSION, else detected. */
  readonly version?: 1 | 2;
}

/**
 * v1 wins whenever a v1 hierarchy holds cpu, memory or pids: on hybrid hosts those
 * controllers are bound to v1 and the cgroup2 mount beside them cannot use them.
 */
export function detectCgroupDriver(options: DetectOptions = {}): CgroupDriver {
  const version = options.version ?? versionFromEnv(process.env.TOCKER_CGROUP_VERSION);
  const parent = options.parent ?? (process.env.TOCKER_CGROUP_PARENT || 'tocker');
  const mounts = parseMountinfo(options.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  const self = parseProcSelfCgroup(options.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
  const hierarchies = findV1Hierarchies(mounts, self);
  const unified = findV2Mount(mounts, self);

  if (version === 1 || (version === undefined && hierarchies.length > 0)) {
    if (hierarchies.length === 0) {
      throw new TockerError(
        'cgroup v1 was requested but no v1 cpu, memory or pids hierarchy is mounted',
      );
    }
    return new CgroupV1Driver({ hierarchies, parent });
  }
  if (unified) return new CgroupV2Driver({ ...unified, parent });
  throw new TockerError(
    version === 2
      ? 'cgroup v2 was requested but no cgroup2 filesystem is mounted'
      : 'no cgroup filesystem is mounted',
  );
}
