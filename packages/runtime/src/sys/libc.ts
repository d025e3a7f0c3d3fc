import { chmodSync } from 'node:fs';
import { koffi } from './koffi.js';

/**
 * The libc calls the runtime makes itself, typed, with errno turned into exceptions.
 * What a container's process does between fork() and execve() is not here: the shim
 * (packages/runtime/shim) does it, as the plan the runtime writes says.
 */

const libc = koffi.load('libc.so.6');

const raw = {
  kill: libc.func('int kill(int pid, int sig)'),
  mkfifo: libc.func('int mkfifo(const char *path, unsigned int mode)'),
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
  socketpair: libc.func('int socketpair(int domain, int type, int protocol, _Out_ int *fds)'),
  shutdown: libc.func('int shutdown(int fd, int how)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, int arg)'),
  waitpid: libc.func('int waitpid(int pid, _Out_ int *status, int options)'),
  posixSpawn: libc.func(
    'int posix_spawn(_Out_ int *pid, const char *path, void *actions, void *attributes, const char **argv, const char **envp)',
  ),
  actionsInit: libc.func('int posix_spawn_file_actions_init(void *actions)'),
  actionsDestroy: libc.func('int posix_spawn_file_actions_destroy(void *actions)'),
  actionsOpen: libc.func(
    'int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, unsigned int mode)',
  ),
  actionsDup2: libc.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
  actionsCloseFrom: libc.func(
    'int posix_spawn_file_actions_addclosefrom_np(void *actions, int from)',
  ),
  attributesInit: libc.func('int posix_spawnattr_init(void *attributes)'),
  attributesDestroy: libc.func('int posix_spawnattr_destroy(void *attributes)'),
  attributesSetFlags: libc.func('int posix_spawnattr_setflags(void *attributes, short flags)'),
  attributesSetSigmask: libc.func('int posix_spawnattr_setsigmask(void *attributes, void *set)'),
  attributesSetSigdefault: libc.func(
    'int posix_spawnattr_setsigdefault(void *attributes, void *set)',
  ),
  sigfillset: libc.func('int sigfillset(void *set)'),
};

// Newer system calls have one number on every architecture.
const SYS_pidfd_open = 434;
const SYS_pidfd_getfd = 438;

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
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
  ENOENT: 2,
  ESRCH: 3,
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

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/** Sets O_NONBLOCK on the open file (every descriptor of it sees it). */
export function setNonBlocking(fd: number): void {
  const flags = check(raw.fcntl(fd, F_GETFL, 0) as number, 'fcntl');
  if ((flags & O_NONBLOCK) === 0)
    check(raw.fcntl(fd, F_SETFL, flags | O_NONBLOCK) as number, 'fcntl');
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

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const F_DUPFD_CLOEXEC = 1030;
const O_RDWR = 2;
const WNOHANG = 1;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
// glibc's sizes of posix_spawn_file_actions_t (80) and posix_spawnattr_t (336), rounded up.
const SPAWN_ACTIONS_BYTES = 128;
const SPAWN_ATTRIBUTES_BYTES = 512;
const SIGSET_BYTES = 128;

/** A connected pair of Unix stream sockets, both close-on-exec. */
export function socketPair(): [number, number] {
  const fds = [0, 0];
  check(raw.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) as number, 'socketpair');
  return [fds[0] ?? -1, fds[1] ?? -1];
}

const SHUT_RDWR = 2;

/**
 * Ends both directions of a socket for every holder of it: unlike close(), it also wakes
 * a read blocked on it in another thread (which then sees the end), and the peer sees it
 * at once.
 */
export function shutdownSocket(fd: number): void {
  raw.shutdown(fd, SHUT_RDWR);
}

/** The pid of an exited child, reaped; 0 while it runs (never blocks). */
export function reapIfExited(pid: number): number {
  const status = [0];
  return raw.waitpid(pid, status, WNOHANG) as number;
}

/**
 * Starts `path` with posix_spawn: glibc's vfork-like clone copies no page tables, so its
 * cost does not grow with this process's memory (a big Node process takes milliseconds
 * to fork). The child gets /dev/null as stdin, stdout and stderr (or this process's own
 * 0, 1 and 2 with `inheritStdio`), `fds[i]` as its descriptor 3 + i and nothing else, no
 * environment but `env`, a session of its own and default signal dispositions, all
 * unblocked.
 */
/** A fifo at `path` with exactly `mode` (the umask does not narrow it). */
export function makeFifo(path: string, mode: number): void {
  if ((raw.mkfifo(path, mode) as number) < 0) throw new SyscallError('mkfifo', koffi.errno(), path);
  chmodSync(path, mode);
}

export function spawnProcess(
  path: string,
  argv: readonly string[],
  env: readonly string[],
  fds: readonly number[],
  inheritStdio = false,
): number {
  const actions = Buffer.alloc(SPAWN_ACTIONS_BYTES);
  const attributes = Buffer.alloc(SPAWN_ATTRIBUTES_BYTES);
  // Sources above every target, so that no dup2 clobbers a source still to be moved.
  const above = 3 + fds.length;
  const sources = fds.map((fd) => check(raw.fcntl(fd, F_DUPFD_CLOEXEC, above) as number, 'fcntl'));
  check(raw.actionsInit(actions) as number, 'posix_spawn_file_actions_init');
  check(raw.attributesInit(attributes) as number, 'posix_spawnattr_init');
  try {
    if (!inheritStdio) {
      check(raw.actionsOpen(actions, 0, '/dev/null', O_RDWR, 0) as number, 'addopen');
      check(raw.actionsDup2(actions, 0, 1) as number, 'adddup2');
      check(raw.actionsDup2(actions, 0, 2) as number, 'adddup2');
    } else {
      // Node marks its 0, 1 and 2 close-on-exec; a dup2 onto itself clears that.
      for (const fd of [0, 1, 2]) check(raw.actionsDup2(actions, fd, fd) as number, 'adddup2');
    }
    sources.forEach((source, index) => {
      check(raw.actionsDup2(actions, source, 3 + index) as number, 'adddup2');
    });
    check(raw.actionsCloseFrom(actions, above) as number, 'addclosefrom');
    const signals = Buffer.alloc(SIGSET_BYTES);
    check(raw.attributesSetSigmask(attributes, signals) as number, 'setsigmask');
    raw.sigfillset(signals);
    check(raw.attributesSetSigdefault(attributes, signals) as number, 'setsigdefault');
    check(
      raw.attributesSetFlags(
        attributes,
        POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF,
      ) as number,
      'setflags',
    );
    const pid = [0];
    const error = raw.posixSpawn(pid, path, actions, attributes, [...argv, null], [...env, null]);
    if ((error as number) !== 0) throw new SyscallError('posix_spawn', error as number, path);
    return pid[0] ?? -1;
  } finally {
    raw.actionsDestroy(actions);
    raw.attributesDestroy(attributes);
    for (const source of sources) raw.close(source);
  }
}
