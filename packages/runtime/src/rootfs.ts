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
  /** A descriptor of the shim's child: the network namespace it joins (container:NAME). */
  readonly networkNamespace: number | null;
  /** Descriptors of the shim's child: the files the runtime wrote (/etc/hosts...), by target. */
  readonly etcFiles: readonly { readonly fd: number; readonly target: string }[];
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

const CONSOLE_SLOT = 0;
const INIT_SLOT = 1;
/** The request's mounts take the slots after these, in their order. */
const FIRST_MOUNT_SLOT = 2;
const MOUNT_ATTR_RDONLY = 0x1;
const MOUNT_ATTR_NOSUID = 0x2;
const MOUNT_ATTR_NODEV = 0x4;
const MOUNT_ATTR_NOEXEC = 0x8;
const READ_ONLY_FILE = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

const PR_SET_DUMPABLE = 4;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const STANDARD_DEVICES = [
  ['/dev/null', 1, 3],
  ['/dev/zero', 1, 5],
  ['/dev/full', 1, 7],
  ['/dev/random', 1, 8],
  ['/dev/urandom', 1, 9],
  ['/dev/tty', 5, 0],
] as const;

const KERNEL_FILES = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/**
 * The steps that give the container its root: fresh mount, UTS, IPC and (unless it has
 * the host's) network namespaces; the image under a private writable layer (overlay) as "/"; then, with every
 * path resolved inside that root, /proc (with the masked and read-only paths of the
 * configuration), /sys, a /dev of its own (standard nodes, the configured devices, a new
 * devpts instance, shm, mqueue, the console), hostname and loopback.
 */
export function rootfsSteps(
  config: RuntimeConfig,
  layout: RootfsLayout,
  hostname: string,
  bound: BoundFiles,
): PlanStep[] {
  // On the host's network or another container's: no namespace of its own to make.
  const ownNetwork = config.network.mode !== 'host' && config.network.mode !== 'container';
  const userNamespace = config.linux.namespaces.user === 'own';
  // Trees of the host are cloned while this is still the host's mount namespace; in a user
  // namespace of its own the child may not clone them: the shim does, before it exists.
  const openTree = userNamespace ? Setting.tree : Op.openTree;
  const steps: PlanStep[] = [];
  if (bound.console !== null) steps.push(step(openTree, CONSOLE_SLOT, null, bound.console, 0));
  if (bound.init !== null) {
    const attributes = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    steps.push(step(openTree, INIT_SLOT, bound.init, -1, attributes));
  }
  for (const [index, mount] of config.mounts.entries()) {
    const source = bound.mountSources[index];
    if (mount.kind === 'bind' && source != null)
      steps.push(
        step(
          openTree,
          FIRST_MOUNT_SLOT + index,
          mount.source,
          source,
          mount.readOnly ? MOUNT_ATTR_RDONLY : 0,
        ),
      );
  }
  if (bound.networkNamespace !== null)
    steps.push(step(Op.setns, bound.networkNamespace, CLONE_NEWNET));
  const firstEtcSlot = FIRST_MOUNT_SLOT + config.mounts.length;
  for (const [index, file] of bound.etcFiles.entries())
    steps.push(step(openTree, firstEtcSlot + index, file.target, file.fd, READ_ONLY_FILE));
  // The slots after the runtime's files: the root and the device nodes of a user namespace.
  const rootSlot = firstEtcSlot + bound.etcFiles.length;
  if (userNamespace) steps.push(...userNamespaceSteps(config, layout, rootSlot));
  steps.push(
    // --network host: the host's own network namespace, and nothing of it hidden.
    step(Op.unshare, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (ownNetwork ? CLONE_NEWNET : 0)),
    // Its interfaces are attached from the host while it builds its root, not after.
    step(Op.namespacesMade),
    // Nothing mounted from here on may propagate back to the host.
    step(Op.mount, null, '/', null, MS_REC | MS_PRIVATE, null),
  );
  if (userNamespace) steps.push(...idmappedRootSteps(config, rootSlot));
  else
    steps.push(
      step(Op.mountOverlay, layout.merged, layout.upper, layout.work, ...layout.layers),
      step(Op.pivotRoot, layout.merged),
    );
  steps.push(...devSteps(config, bound, userNamespace ? rootSlot + 1 : null));
  steps.push(...procSteps(config, !userNamespace));
  steps.push(...sysSteps(config, !userNamespace));
  steps.push(...config.mounts.flatMap(mountSteps));
  for (const [index, file] of bound.etcFiles.entries())
    steps.push(
      fileTarget(file.target, 0o644, true),
      step(Op.moveMount, firstEtcSlot + index, file.target),
    );
  // Last: the mounts above needed their mount points made in it.
  if (config.root.readonly)
    steps.push(step(Op.mount, null, '/', null, MS_REMOUNT | MS_BIND | MS_RDONLY, null));
  steps.push(step(Op.sethostname, hostname));
  if (ownNetwork) steps.push(step(Op.loopbackUp));
  return steps;
}

/**
 * In a user namespace of its own (--userns=auto, see shim/userns.c): the shim writes the
 * child's id maps and hands it its root, an overlay of idmapped image layers. The child
 * waits for it before anything else, and takes its namespaces as the host's uid 0 it still
 * is (its user namespace's caps are its own either way).
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
    step(Setting.idmappedRoot, layout.upper, layout.work, ...layout.layers),
    step(Op.receiveRoot, rootSlot),
    // The state root's directories are the host root's (0700): the child reaches `merged`
    // while it is still the host's uid 0, and goes on from there by its working directory.
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
 * The root in a user namespace: the shim's overlay mounted on `merged` (the working
 * directory) and entered, /proc and /sys mounted in it before pivot_root (the kernel mounts
 * them in a user namespace only while a full view of each is still visible in the mount
 * namespace: the host's, under the old root), then the pivot.
 */
function idmappedRootSteps(config: RuntimeConfig, rootSlot: number): PlanStep[] {
  return [
    step(Op.enterTree, rootSlot),
    mountPoint('./proc'),
    step(Op.mount, 'proc', './proc', 'proc', KERNEL_FILES, null),
    mountPoint('./sys'),
    step(Op.mount, 'sysfs', './sys', 'sysfs', sysfsFlags(config), null),
    step(Op.pivotRoot, '.'),
  ];
}

/**
 * /dev's standard nodes: made (mknod), or, in a user namespace where mknod is refused, the
 * host's own nodes bound in from `firstBoundSlot` on (as runc does for such containers).
 */
function standardDeviceSteps(firstBoundSlot: number | null): PlanStep[] {
  if (firstBoundSlot === null)
    return STANDARD_DEVICES.map(([path, major, minor]) =>
      step(Op.mknod, path, S_IFCHR | 0o666, major, minor),
    );
  return STANDARD_DEVICES.flatMap(([path], index) => [
    step(Setting.tree, firstBoundSlot + index, path, -1, 0),
    fileTarget(path, 0o666),
    step(Op.moveMount, firstBoundSlot + index, path),
  ]);
}

function devSteps(
  config: RuntimeConfig,
  bound: BoundFiles,
  firstBoundSlot: number | null,
): PlanStep[] {
  const steps = [
    mountPoint('/dev'),
    step(Op.mount, 'tmpfs', '/dev', 'tmpfs', MS_NOSUID, 'mode=755,size=65536k'),
    ...standardDeviceSteps(firstBoundSlot),
    ...config.linux.devices.map((device) =>
      step(
        Op.mknod,
        device.path,
        (device.type === 'b' ? S_IFBLK : S_IFCHR) | device.mode,
        device.major,
        device.minor,
      ),
    ),
    mountPoint('/dev/pts'),
    step(
      Op.mount,
      'devpts',
      '/dev/pts',
      'devpts',
      MS_NOSUID | MS_NOEXEC,
      'newinstance,ptmxmode=0666,mode=0620,gid=5',
    ),
    step(Op.symlink, 'pts/ptmx', '/dev/ptmx'),
    mountPoint('/dev/shm'),
    step(Op.mount, 'shm', '/dev/shm', 'tmpfs', KERNEL_FILES, 'mode=1777,size=65536k'),
    mountPoint('/dev/mqueue'),
    step(Op.mount, 'mqueue', '/dev/mqueue', 'mqueue', KERNEL_FILES, null),
    step(Op.symlink, '/proc/self/fd', '/dev/fd'),
    ...['stdin', 'stdout', 'stderr'].map((name, fd) =>
      step(Op.symlink, `/proc/self/fd/${fd}`, `/dev/${name}`),
    ),
  ];
  if (bound.console !== null) {
    steps.push(fileTarget('/dev/console', 0o600), step(Op.moveMount, CONSOLE_SLOT, '/dev/console'));
  }
  if (bound.init !== null) {
    steps.push(fileTarget(INIT_PATH, 0o755), step(Op.moveMount, INIT_SLOT, INIT_PATH));
  }
  return steps;
}

/**
 * /proc for the container's own PID namespace (the child that mounts it is PID 1 there),
 * then the kernel interfaces it must not read (masked: an empty read-only tmpfs over a
 * directory, /dev/null over a file) or change (bound read-only onto themselves). Without
 * CAP_SYS_ADMIN none of these can be unmounted or remounted.
 */
function procSteps(config: RuntimeConfig, mount: boolean): PlanStep[] {
  return [
    ...(mount
      ? [mountPoint('/proc'), step(Op.mount, 'proc', '/proc', 'proc', KERNEL_FILES, null)]
      : []),
    // Its own namespaces' parameters (checked by configure), before /proc/sys is read-only.
    ...Object.entries(config.linux.sysctl).map(([key, value]) =>
      step(Op.writePath, `/proc/sys/${key.replaceAll('.', '/')}`, value, `sysctl ${key}`),
    ),
    ...config.linux.maskedPaths.filter((path) => path.startsWith('/proc/')).flatMap(maskSteps),
    ...config.linux.readonlyPaths.flatMap(readonlySteps),
  ];
}

function sysfsFlags(config: RuntimeConfig): number {
  return KERNEL_FILES | (config.linux.readonlySysfs ? MS_RDONLY : 0);
}

function sysSteps(config: RuntimeConfig, mount: boolean): PlanStep[] {
  return [
    ...(mount
      ? [mountPoint('/sys'), step(Op.mount, 'sysfs', '/sys', 'sysfs', sysfsFlags(config), null)]
      : []),
    ...config.linux.maskedPaths.filter((path) => path.startsWith('/sys/')).flatMap(maskSteps),
  ];
}

/**
 * A mount of the request, once the root is the container's (its target resolved inside,
 * never through a symlink of the image): a host path or volume moved in from its slot
 * (a volume still empty gets the image's content there first, as docker fills it), or a
 * tmpfs.
 */
function mountSteps(mount: RuntimeMount, index: number): PlanStep[] {
  if (mount.kind === 'tmpfs') {
    const options = [
      `mode=${(mount.mode ?? 0o1777).toString(8)}`,
      ...(mount.size === null ? [] : [`size=${mount.size}`]),
    ].join(',');
    return [
      mountPoint(mount.target),
      step(Op.mount, 'tmpfs', mount.target, 'tmpfs', MS_NOSUID | MS_NODEV, options),
    ];
  }
  const slot = FIRST_MOUNT_SLOT + index;
  const isFile = !statSync(mount.source).isDirectory();
  const fill = mount.volume !== null && readdirSync(mount.source).length === 0;
  return [
    isFile ? fileTarget(mount.target, 0o644) : mountPoint(mount.target),
    ...(fill ? [step(Op.copyInto, slot, mount.target)] : []),
    step(Op.moveMount, slot, mount.target),
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
