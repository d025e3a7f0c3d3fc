import { koffi } from './koffi.js';

/**
 * The libc calls the runtime makes itself, typed, with errno turned into exceptions.
 * What a container's process does between fork() and execve() is not here: the shim
 * (packages/runtime/shim) does it, as the plan the runtime writes says.
 */

const libc = koffi.load('libc.so.6');

const raw = {
  kill: libc.func('int kill(int pid, int sig)'),
  syscall3: libc.func('long syscall(long number, long a, long b, long c)'),
  ioctlPtr: libc.func('int ioctl(int fd, unsigned long request, void *arg)'),
  openpty: libc.func(
    'int openpty(_Out_ int *master, _Out_ int *slave, void *name, void *termp, void *winp)',
  ),
  flock: libc.func('int flock(int fd, int operation)'),
  memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  renameat2: libc.func(
    'int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)',
  ),
  close: libc.func('int close(int fd)'),
  strerror: libc.func('const char *strerror(int errnum)'),
};

// Newer system calls have one number on every architecture.
const SYS_pidfd_open = 434;
const SYS_pidfd_getfd = 438;

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWNET = 0x40000000;

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;

export const PR_SET_PDEATHSIG = 1;
export const TIOCSWINSZ = 0x5414;

export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly subject?: string,
  ) {
    super(`${call}${subject === undefined ? '' : ` ${subject}`}: ${raw.strerror(errno) as string}`);
  }
}

function check(result: number, call: string, subject?: string): number {
  if (result < 0) throw new SyscallError(call, koffi.errno(), subject);
  return result;
}

export const errno = {
  EINTR: 4,
  EAGAIN: 11,
  EINVAL: 22,
} as const;

/** Decodes a wait status into the shell's convention: the exit code, or 128+N for signal N. */
export function decodeWaitStatus(status: number): { exitCode: number; signal: number | null } {
  const signal = status & 0x7f;
  if (signal === 0) return { exitCode: (status >> 8) & 0xff, signal: null };
  return { exitCode: 128 + signal, signal };
}

export function kill(pid: number, signal: number): void {
  check(raw.kill(pid, signal) as number, 'kill', String(pid));
}

export function ioctl(fd: number, request: number, arg: Buffer): void {
  check(raw.ioctlPtr(fd, request, arg) as number, 'ioctl');
}

export function openpty(): { master: number; slave: number } {
  const master = [0];
  const slave = [0];
  check(raw.openpty(master, slave, null, null, null) as number, 'openpty');
  return { master: master[0] ?? -1, slave: slave[0] ?? -1 };
}

/**
 * A duplicate of another process's file descriptor (pidfd_open + pidfd_getfd, Linux 5.6+;
 * root may take from any process). The new descriptor is close-on-exec.
 */
export function takeFd(pid: number, fd: number): number {
  const pidfd = pidfdOpen(pid);
  try {
    return check(Number(raw.syscall3(SYS_pidfd_getfd, pidfd, fd, 0)), 'pidfd_getfd', String(pid));
  } finally {
    raw.close(pidfd);
  }
}

export function close(fd: number): void {
  raw.close(fd);
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/**
 * flock(LOCK_EX | LOCK_NB): true when this descriptor now holds the lock, false while
 * another open file holds it. The kernel drops the lock with the last descriptor of the
 * open file, so a SIGKILLed holder never leaves it taken.
 */
export function tryLockExclusive(fd: number): boolean {
  for (;;) {
    if ((raw.flock(fd, LOCK_EX | LOCK_NB) as number) === 0) return true;
    const code = koffi.errno();
    if (code === errno.EAGAIN) return false;
    if (code !== errno.EINTR) throw new SyscallError('flock', code);
  }
}

export function unlock(fd: number): void {
  raw.flock(fd, LOCK_UN);
}

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;

/**
 * Swaps two paths atomically (renameat2 RENAME_EXCHANGE): each keeps its inode, so
 * neither needs a new block. false when the filesystem cannot do it.
 */
export function exchangePaths(a: string, b: string): boolean {
  if ((raw.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) as number) === 0) return true;
  const code = koffi.errno();
  if (code === errno.EINVAL) return false;
  throw new SyscallError('renameat2', code, b);
}

const MFD_CLOEXEC = 1;

/** An anonymous in-memory file (memfd_create), close-on-exec. */
export function memfd(name: string): number {
  return check(raw.memfdCreate(name, MFD_CLOEXEC) as number, 'memfd_create', name);
}

/** A descriptor for a process (pidfd_open): it keeps naming that process, never a reused pid. */
export function pidfdOpen(pid: number): number {
  return check(Number(raw.syscall3(SYS_pidfd_open, pid, 0, 0)), 'pidfd_open', String(pid));
}
