import { readdirSync, statSync } from 'node:fs';
import type { RuntimeConfig, RuntimeMount } from './config/runtime-config.js';
import { TockerError } from './errors.js';
import { Op, type PlanStep, Setting, step } from './shim/plan.js';
import { ELOOP, ENOENT, errnoOf, O_PATH, openWithoutSymlinks } from './sys/fs-at.js';
import {
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWUTS,
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
} from './sys/libc.js';
import { mapText } from './userns/ranges.js';

/** Where a container's root filesystem comes from and where its writable layer lives. */
export interface RootfsLayout {
  /** The overlay's read-only lower layers, top first: an image's, shared by its containers. */
  readonly layers: readonly string[];
  readonly upper: string;
  readonly work: string;
  /** The mount point of the overlay, which becomes "/". */
  readonly merged: string;
}

/** Host files bound into the container before its root changes (the slots of OP_OPEN_TREE). */
export interface BoundFiles {
  /** A descriptor of the shim's child: the pty slave that becomes /dev/console. */
  readonly console: number | null;
  /** The init binary (tini) for --init, mounted read-only at INIT_PATH. */
  readonly init: string | null;
  /** Descriptors of the shim's child: each bind mount's source (null for other mounts). */
  readonly mountSources: readonly (number | null)[];
  /** Descriptors of the shim's child: the files the runtime wrote (/etc/hosts...), by target. */
  readonly etcFiles: readonly { readonly fd: number; readonly target: string }[];
  /**
   * The container's cgroup directories on the host, for a "cgroup" mount: by the name of
   * their hierarchy ("memory", "cpu,cpuacct"; "" for cgroup v2's one).
   */
  readonly cgroupDirs: readonly { readonly name: string; readonly path: string }[];
}

/**
 * Descriptors of the shim's child: namespaces the container joins (container:NAME, or
 * an OCI bundle's paths); null where it has its own or the host's.
 */
export interface JoinedNamespaceFds {
  readonly net: number | null;
  readonly ipc: number | null;
  readonly uts: number | null;
}

/**
 * Opens the source of each bind mount (O_PATH), refusing any path that has a symlink in it
 * now: the configuration holds real paths, checked against the policy when it was made, and
 * a start (or a restart, much later) must bind that very place, not wherever a link put
 * there since points. The mount is then made from the descriptor, not the path.
 */
export function openMountSources(config: RuntimeConfig, opened: number[]): (number | null)[] {
  return config.mounts.map((mount) => {
    if (mount.kind !== 'bind') return null;
    try {
      const fd = openWithoutSymlinks(mount.source, O_PATH);
      opened.push(fd);
      return fd;
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === ELOOP)
        throw new TockerError(
          `bind source ${mount.source}: a symlink is in its path now (there was none when it was checked): not followed`,
        );
      if (errno === ENOENT) throw new TockerError(`bind source ${mount.source} does not exist`);
      throw error;
    }
  });
}

/** Where --init's binary appears in the container: in /dev, so the image is not touched. */
export const INIT_PATH = '/dev/init';

const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_NOEXEC = 0x8;
const READ_ONLY_FILE = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
/** The nodes every container has (OCI's default devices) when its /dev is its own. */
const STANDARD_DEVICES = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
] as const;

const KERNEL_FILES = MS_NOSUID | MS_NODEV | MS_NOEXEC;
const PR_SET_DUMPABLE = 4;

/** The detached trees (OP_OPEN_TREE) a root is built with, each in a slot of its own. */
class TreeSlots {
  private next = 0;
  take(): number {
    return this.next++;
  }
}

/**
 * The steps that give the container its root: its namespaces (joined by descriptor, or
 * new: mount, and UTS, IPC and network unless it shares those); the image under a
 * private writable layer (overlay) as "/", or the bundle's directory as it is; then, with
 * every path resolved inside that root, the configured mounts in their order (the kernel
 * filesystems first), the standard device nodes of a /dev of its own, the configured
 * devices, the console, sysctls, masked and read-only paths, the runtime's /etc files,
 * hostname and loopback.
 */
export function rootfsSteps(
  config: RuntimeConfig,
  layout: RootfsLayout,
  hostname: string | null,
  bound: BoundFiles,
  joined: JoinedNamespaceFds,
  /** Go on once the shim has done its part after the namespaces exist (an engine's hooks). */
  awaitShimAfterNamespaces: boolean,
  /** Run in its namespaces with its root mounted, before the root changes (OCI createContainer). */
  beforePivot: readonly PlanStep[],
): PlanStep[] {
  const { namespaces } = config.linux;
  const ownNetwork = config.network.mode === 'none' || config.network.mode === 'bridge';
  const userNamespace = namespaces.user === 'own';
  const slots = new TreeSlots();
  // Trees of the host are cloned while this is still the host's mount namespace; in a user
  // namespace of its own the child may not clone them: the shim does, before it exists.
  const openTree = userNamespace ? Setting.tree : Op.openTree;
  const steps: PlanStep[] = [];
  const consoleSlot = bound.console === null ? null : slots.take();
  if (consoleSlot !== null) steps.push(step(openTree, consoleSlot, null, bound.console, 0, 0));
  const initSlot = bound.init === null ? null : slots.take();
  if (initSlot !== null) {
    const attributes = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    steps.push(step(openTree, initSlot, bound.init, -1, attributes, 0));
  }
  const mountSlots = config.mounts.map((mount, index) => {
    const source = bound.mountSources[index];
    if (mount.kind !== 'bind' || source == null) return null;
    const slot = slots.take();
    steps.push(
      step(openTree, slot, mount.source, source, bindAttributes(mount), mount.recursive ? 1 : 0),
    );
    return slot;
  });
  const cgroupSlots = config.mounts.some((mount) => mount.kind === 'cgroup')
    ? bound.cgroupDirs.map(({ name, path }) => {
        const slot = slots.take();
        steps.push(step(openTree, slot, path, -1, 0, 0));
        return { name, slot };
      })
    : [];
  const etcSlots = bound.etcFiles.map((file) => {
    const slot = slots.take();
    steps.push(step(openTree, slot, file.target, file.fd, READ_ONLY_FILE, 0));
    return { slot, target: file.target };
  });
  if (joined.net !== null) steps.push(step(Op.setns, joined.net, CLONE_NEWNET));
  if (joined.ipc !== null) steps.push(step(Op.setns, joined.ipc, CLONE_NEWIPC));
  if (joined.uts !== null) steps.push(step(Op.setns, joined.uts, CLONE_NEWUTS));
  // In a user namespace, /dev's standard nodes are the host's, bound in (mknod is refused).
  const deviceSlots = userNamespace
    ? STANDARD_DEVICES.map(([path]) => {
        const slot = slots.take();
        steps.push(step(Setting.tree, slot, path, -1, 0, 0));
        return slot;
      })
    : null;
  const rootSlot = userNamespace ? slots.take() : null;
  if (rootSlot !== null) steps.push(...userNamespaceSteps(config, layout, rootSlot));
  // Mounted before pivot_root in a user namespace (see idmappedRootSteps), not after.
  const early = userNamespace ? config.mounts.filter(mountedBeforePivot) : [];
  steps.push(
    step(
      Op.unshare,
      CLONE_NEWNS |
        (namespaces.uts === 'own' ? CLONE_NEWUTS : 0) |
        (namespaces.ipc === 'own' ? CLONE_NEWIPC : 0) |
        (ownNetwork ? CLONE_NEWNET : 0),
    ),
    // Its interfaces are attached from the host while it builds its root, not after.
    step(Op.namespacesMade, awaitShimAfterNamespaces ? 1 : 0),
    // Nothing mounted from here on may propagate back to the host.
    step(Op.mount, null, '/', null, MS_REC | MS_PRIVATE, null),
  );
  if (rootSlot !== null) steps.push(...idmappedRootSteps(rootSlot, early, beforePivot));
  else
    steps.push(
      config.root.inPlace
        ? step(Op.mount, layout.merged, layout.merged, null, MS_BIND | MS_REC, null)
        : step(Op.mountOverlay, layout.merged, layout.upper, layout.work, ...layout.layers),
      ...beforePivot,
      step(Op.pivotRoot, layout.merged),
    );
  for (const [index, mount] of config.mounts.entries())
    if (!early.includes(mount))
      steps.push(...mountSteps(mount, mountSlots[index] ?? null, cgroupSlots));
  steps.push(...devSteps(config, consoleSlot, initSlot, deviceSlots));
  steps.push(
    // Its own namespaces' parameters (checked by configure), before /proc/sys is read-only.
    ...Object.entries(config.linux.sysctl).map(([key, value]) =>
      step(Op.writePath, `/proc/sys/${key.replaceAll('.', '/')}`, value, `sysctl ${key}`),
    ),
    ...config.linux.maskedPaths.flatMap(maskSteps),
    ...config.linux.readonlyPaths.flatMap(readonlySteps),
  );
  for (const { slot, target } of etcSlots)
    steps.push(fileTarget(target, 0o644, true), step(Op.moveMount, slot, target));
  // Last: the mounts above needed their mount points made in it.
  if (config.root.readonly)
    steps.push(step(Op.mount, null, '/', null, MS_REMOUNT | MS_BIND | MS_RDONLY, null));
  if (hostname !== null) steps.push(step(Op.sethostname, hostname));
  if (config.domainname !== null) steps.push(step(Op.setdomainname, config.domainname));
  if (ownNetwork) steps.push(step(Op.loopbackUp));
  return steps;
}

/** proc at /proc and sysfs at /sys: in a user namespace, mounted while the old root is visible. */
function mountedBeforePivot(mount: RuntimeMount): boolean {
  return (
    mount.kind === 'filesystem' &&
    ((mount.type === 'proc' && mount.target === '/proc') ||
      (mount.type === 'sysfs' && mount.target === '/sys'))
  );
}

/**
 * The first steps of a child in a user namespace of its own: the shim clones it there,
 * writes its maps and makes its root (an overlay over idmapped layers, userns.c), which it
 * receives; it reaches `merged` while still the host's uid 0 (the state root's directories
 * are 0700 and root's) and goes on from there by its working directory.
 */
function userNamespaceSteps(
  config: RuntimeConfig,
  layout: RootfsLayout,
  rootSlot: number,
): PlanStep[] {
  return [
    step(
      Setting.userNamespace,
      mapText(config.linux.uidMappings),
      mapText(config.linux.gidMappings),
    ),
    // tocker's own root is an overlay the shim makes over idmapped layers; a bundle's (its
    // engine made it, owned by the ids it maps) is the directory as it is, cloned by the shim.
    config.root.inPlace
      ? step(Setting.idmappedRoot, '', '', layout.merged)
      : step(Setting.idmappedRoot, layout.upper, layout.work, ...layout.layers),
    step(Op.receiveRoot, rootSlot),
    step(Op.chdir, layout.merged),
    // The container's root from here: its namespaces (the IPC one's mqueue, say) are made
    // by its own root, not by an id it does not map.
    step(Op.setuser, 0, 0, 0),
    // The switch from the host's uid made it undumpable, which gives its /proc/self to the
    // host's root (nobody here): its own again, for the OOM score and the sysctls.
    step(Op.prctl, PR_SET_DUMPABLE, 1),
  ];
}

/**
 * The root in a user namespace: the shim's overlay mounted on the working directory and
 * entered, /proc and /sys mounted in it before pivot_root (the kernel mounts them in a user
 * namespace only while a full view of each is still visible in the mount namespace: the
 * host's, under the old root), then the pivot.
 */
function idmappedRootSteps(
  rootSlot: number,
  early: readonly RuntimeMount[],
  beforePivot: readonly PlanStep[],
): PlanStep[] {
  return [
    step(Op.enterTree, rootSlot),
    ...early.flatMap((mount) =>
      mount.kind === 'filesystem'
        ? [
            mountPoint(`.${mount.target}`),
            step(Op.mount, mount.source, `.${mount.target}`, mount.type, mount.flags, mount.data),
          ]
        : [],
    ),
    ...beforePivot,
    step(Op.pivotRoot, '.'),
  ];
}

function bindAttributes(mount: Extract<RuntimeMount, { kind: 'bind' }>): number {
  return (
    (mount.readOnly ? MOUNT_ATTR_RDONLY : 0) |
    (mount.flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0) |
    (mount.flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0) |
    (mount.flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0)
  );
}

/**
 * A /dev of its own (a filesystem mounted there, not a bind of the host's) gets the
 * standard nodes and links; every container gets its configured devices, the console
 * (its pty slave) and --init's binary.
 */
function devSteps(
  config: RuntimeConfig,
  consoleSlot: number | null,
  initSlot: number | null,
  /** In a user namespace: the host's standard nodes, cloned by the shim, by slot. */
  deviceSlots: readonly number[] | null,
) {
  const ownDev = config.mounts.some(
    (mount) => mount.target === '/dev' && (mount.kind === 'filesystem' || mount.kind === 'tmpfs'),
  );
  const devpts = config.mounts.some(
    (mount) => mount.target === '/dev/pts' && mount.kind === 'filesystem',
  );
  const steps: PlanStep[] = [];
  if (ownDev)
    steps.push(
      ...STANDARD_DEVICES.flatMap(([path, major, minor], index) => {
        const slot = deviceSlots?.[index];
        return slot === undefined
          ? [step(Op.mknod, path, S_IFCHR | 0o666, major, minor)]
          : [fileTarget(path, 0o666), step(Op.moveMount, slot, path)];
      }),
      step(Op.symlink, '/proc/self/fd', '/dev/fd'),
      ...['stdin', 'stdout', 'stderr'].map((name, fd) =>
        step(Op.symlink, `/proc/self/fd/${fd}`, `/dev/${name}`),
      ),
      ...(devpts ? [step(Op.symlink, 'pts/ptmx', '/dev/ptmx')] : []),
    );
  steps.push(
    ...config.linux.devices.map((device) =>
      step(
        Op.mknod,
        device.path,
        (device.type === 'b' ? S_IFBLK : S_IFCHR) | device.mode,
        device.major,
        device.minor,
      ),
    ),
  );
  if (consoleSlot !== null)
    steps.push(fileTarget('/dev/console', 0o600), step(Op.moveMount, consoleSlot, '/dev/console'));
  if (initSlot !== null)
    steps.push(fileTarget(INIT_PATH, 0o755), step(Op.moveMount, initSlot, INIT_PATH));
  return steps;
}

/**
 * A mount of the configuration, once the root is the container's (its target resolved
 * inside, never through a symlink of the image): a host path or volume moved in from its
 * slot (a volume still empty gets the image's content there first, as docker fills it), a
 * kernel filesystem or tmpfs mounted afresh, or the container's cgroups.
 */
function mountSteps(
  mount: RuntimeMount,
  slot: number | null,
  cgroupSlots: readonly { readonly name: string; readonly slot: number }[],
): PlanStep[] {
  switch (mount.kind) {
    case 'tmpfs': {
      const options = [
        `mode=${(mount.mode ?? 0o1777).toString(8)}`,
        ...(mount.size === null ? [] : [`size=${mount.size}`]),
      ].join(',');
      return [
        mountPoint(mount.target),
        step(Op.mount, 'tmpfs', mount.target, 'tmpfs', MS_NOSUID | MS_NODEV, options),
      ];
    }
    case 'filesystem':
      return [
        mountPoint(mount.target),
        step(Op.mount, mount.source, mount.target, mount.type, mount.flags, mount.data),
        ...propagationSteps(mount.target, mount.propagation),
      ];
    case 'cgroup':
      return cgroupSteps(mount.target, mount.readOnly, cgroupSlots);
    case 'bind': {
      if (slot === null) throw new Error(`bind mount ${mount.target}: its source was not opened`);
      const isFile = !statSync(mount.source).isDirectory();
      const fill = mount.volume !== null && readdirSync(mount.source).length === 0;
      return [
        isFile ? fileTarget(mount.target, 0o644) : mountPoint(mount.target),
        ...(fill ? [step(Op.copyInto, slot, mount.target)] : []),
        step(Op.moveMount, slot, mount.target),
        ...propagationSteps(mount.target, mount.propagation),
      ];
    }
  }
}

function propagationSteps(target: string, propagation: number): PlanStep[] {
  return propagation === 0 ? [] : [step(Op.mount, null, target, null, propagation, null)];
}

/**
 * The container's own cgroups where OCI's "cgroup" mount asks for them: cgroup v2's one
 * directory bound there, or (v1) a tmpfs with each hierarchy's directory bound under its
 * name, as runc lays them out. Never the host's tree: only its own directories are there.
 */
function cgroupSteps(
  target: string,
  readOnly: boolean,
  cgroupSlots: readonly { readonly name: string; readonly slot: number }[],
): PlanStep[] {
  const v2 = cgroupSlots.length === 1 && cgroupSlots[0]?.name === '';
  const readOnlyRemount = (path: string) =>
    readOnly
      ? [step(Op.mount, null, path, null, MS_REMOUNT | MS_BIND | MS_RDONLY | KERNEL_FILES, null)]
      : [];
  if (v2) {
    const only = cgroupSlots[0] as { slot: number };
    return [mountPoint(target), step(Op.moveMount, only.slot, target), ...readOnlyRemount(target)];
  }
  return [
    mountPoint(target),
    step(Op.mount, 'tmpfs', target, 'tmpfs', KERNEL_FILES, 'mode=755'),
    ...cgroupSlots.flatMap(({ name, slot }) => [
      mountPoint(`${target}/${name}`),
      step(Op.moveMount, slot, `${target}/${name}`),
      ...readOnlyRemount(`${target}/${name}`),
    ]),
    ...(readOnly
      ? [step(Op.mount, null, target, null, MS_REMOUNT | MS_RDONLY | KERNEL_FILES, null)]
      : []),
  ];
}

/**
 * A file to mount on, made inside the root: a symlink of the image's there is refused, or
 * (`replaceLink`, for the files the runtime writes) replaced in the container's own layer.
 */
function fileTarget(path: string, mode: number, replaceLink = false): PlanStep {
  return step(Op.fileTarget, path, mode, replaceLink ? 1 : 0);
}

/** A mount point made inside the root: never a symlink of the image's. */
function mountPoint(path: string): PlanStep {
  return step(Op.mkdirTarget, path, 0o755, 0);
}

/** Whether the kernel has `path` (the container sees the same /proc and /sys), and what it is. */
function kernelEntry(path: string): 'directory' | 'file' | null {
  const found = statSync(path, { throwIfNoEntry: false });
  return found === undefined ? null : found.isDirectory() ? 'directory' : 'file';
}

function maskSteps(path: string): PlanStep[] {
  switch (kernelEntry(path)) {
    case 'directory':
      return [step(Op.mount, 'tmpfs', path, 'tmpfs', MS_RDONLY | KERNEL_FILES, 'size=0')];
    case 'file':
      return [step(Op.mount, '/dev/null', path, null, MS_BIND, null)];
    default:
      return [];
  }
}

function readonlySteps(path: string): PlanStep[] {
  if (kernelEntry(path) === null) return [];
  return [
    step(Op.mount, path, path, null, MS_BIND | MS_REC, null),
    step(Op.mount, null, path, null, MS_BIND | MS_REMOUNT | MS_RDONLY | KERNEL_FILES, null),
  ];
}
