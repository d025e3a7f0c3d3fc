import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  calls,
  chdir,
  type LibcCall,
  MNT_DETACH,
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
  MS_REMOUNT,
  mknodCharDevice,
  mount,
  pivotRoot,
  runCalls,
  umount2,
} from './sys/libc.js';

/** Where a container's root filesystem comes from and where its writable layer lives. */
export interface RootfsLayout {
  /** The image: the overlay's read-only lower layer, shared by every container. */
  readonly image: string;
  readonly upper: string;
  readonly work: string;
  /** The mount point of the overlay, which becomes "/". */
  readonly merged: string;
  /** The host path of the pty slave when the container has a terminal; bound to /dev/console. */
  readonly console: string | null;
}

const devices = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
] as const;

/** Kernel interfaces a container must not read (masked) or change (read-only), as runc does. */
const maskedProcPaths = [
  '/proc/kcore',
  '/proc/keys',
  '/proc/timer_list',
  '/proc/sched_debug',
  '/proc/scsi',
];
const readOnlyProcPaths = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus'];

/**
 * Builds the container's root in a fresh mount namespace of the calling thread and pivots
 * into it. /proc is left to the container's PID 1 (mountProc): a proc mount shows the PID
 * namespace of whoever mounts it.
 */
export function enterRootfs(layout: RootfsLayout): void {
  // Nothing mounted from here on may propagate back to the host.
  mount(null, '/', null, MS_REC | MS_PRIVATE);
  mount(
    'overlay',
    layout.merged,
    'overlay',
    0,
    `lowerdir=${layout.image},upperdir=${layout.upper},workdir=${layout.work}`,
  );
  const root = (path: string) => join(layout.merged, path);

  mkdirSync(root('proc'), { recursive: true });
  mkdirSync(root('sys'), { recursive: true });
  mount('sysfs', root('sys'), 'sysfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (existsSync(root('sys/firmware'))) maskDir(root('sys/firmware'));
  populateDev(root('dev'), layout.console);

  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
  // no old-root directory behind in the container.
  chdir(layout.merged);
  pivotRoot('.', '.');
  umount2('.', MNT_DETACH);
  chdir('/');
}

function populateDev(dev: string, consolePath: string | null): void {
  mkdirSync(dev, { recursive: true });
  mount('tmpfs', dev, 'tmpfs', MS_NOSUID, 'mode=755,size=65536k');
  for (const [name, major, minor] of devices) {
    mknodCharDevice(join(dev, name), 0o666, major, minor);
    chmodSync(join(dev, name), 0o666); // mknod honours the umask
  }
  mkdirSync(join(dev, 'pts'));
  mount(
    'devpts',
    join(dev, 'pts'),
    'devpts',
    MS_NOSUID | MS_NOEXEC,
    'newinstance,ptmxmode=0666,mode=0620,gid=5',
  );
  symlinkSync('pts/ptmx', join(dev, 'ptmx'));
  mkdirSync(join(dev, 'shm'));
  mount(
    'shm',
    join(dev, 'shm'),
    'tmpfs',
    MS_NOSUID | MS_NODEV | MS_NOEXEC,
    'mode=1777,size=65536k',
  );
  mkdirSync(join(dev, 'mqueue'));
  symlinkSync('/proc/self/fd', join(dev, 'fd'));
  ['stdin', 'stdout', 'stderr'].forEach((name, fd) => {
    symlinkSync(`/proc/self/fd/${fd}`, join(dev, name));
  });
  if (consolePath !== null) {
    closeSync(openSync(join(dev, 'console'), 'w', 0o600));
    mount(consolePath, join(dev, 'console'), null, MS_BIND);
  }
}

let procProtection: LibcCall[] | undefined;

/**
 * The calls with which the container's PID 1 mounts /proc for its own PID namespace and
 * masks or write-protects the kernel interfaces in it. Which of those this kernel has is
 * read from the creator's own /proc (same kernel), once.
 */
export function procMountCalls(): LibcCall[] {
  procProtection ??= [
    calls.mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC),
    ...maskedProcPaths.flatMap((path) => {
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat === undefined) return [];
      return [
        stat.isDirectory() ? maskDirCall(path) : calls.mount('/dev/null', path, null, MS_BIND),
      ];
    }),
    ...readOnlyProcPaths
      .filter((path) => existsSync(path))
      .flatMap((path) => [
        calls.mount(path, path, null, MS_BIND | MS_REC),
        calls.mount(
          null,
          path,
          null,
          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
        ),
      ]),
  ];
  return procProtection;
}

function maskDirCall(path: string): LibcCall {
  return calls.mount(
    'tmpfs',
    path,
    'tmpfs',
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
    'size=0',
  );
}

function maskDir(path: string): void {
  runCalls([maskDirCall(path)]);
}
