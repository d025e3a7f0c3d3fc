import { koffi } from './koffi.js';

/**
 * The libc calls the runtime makes, typed, with errno turned into exceptions. Everything
 * here is synchronous and thread-free, so it may run in a child between fork() and
 * execve(), where only the forking thread exists.
 */

const libc = koffi.load('libc.so.6');

const raw = {
  fork: libc.func('int fork()'),
  madvise: libc.func('int madvise(uintptr_t addr, size_t length, int advice)'),
  _exit: libc.func('void _exit(int status)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  waitpid: libc.func('int waitpid(int pid, _Out_ int *status, int options)'),
  kill: libc.func('int kill(int pid, int sig)'),
  setsid: libc.func('int setsid()'),
  unshare: libc.func('int unshare(int flags)'),
  setns: libc.func('int setns(int fd, int nstype)'),
  mount: libc.func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
  ),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  mknod: libc.func('int mknod(const char *path, unsigned int mode, unsigned long dev)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
  chdir: libc.func('int chdir(const char *path)'),
  syscall2: libc.func('long syscall(long number, const char *a, const char *b)'),
  syscall3: libc.func('long syscall(long number, long a, long b, long c)'),
  prctl: libc.func(
    'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
  ),
  dup2: libc.func('int dup2(int oldfd, int newfd)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, int arg)'),
  closeRange: libc.func('int close_range(unsigned int first, unsigned int last, int flags)'),
  pipe2: libc.func('int pipe2(_Out_ int *fds, int flags)'),
  ioctlPtr: libc.func('int ioctl(int fd, unsigned long request, void *arg)'),
  ioctlInt: libc.func('int ioctl(int fd, unsigned long request, int arg)'),
  openpty: libc.func(
    'int openpty(_Out_ int *master, _Out_ int *slave, void *name, void *termp, void *winp)',
  ),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  flock: libc.func('int flock(int fd, int operation)'),
  memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  renameat2: libc.func(
    'int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)',
  ),
  close: libc.func('int close(int fd)'),
  read: libc.func('long read(int fd, void *buffer, size_t count)'),
  write: libc.func('long write(int fd, const void *buffer, size_t count)'),
  sigprocmask: libc.func('int sigprocmask(int how, void *set, void *oldset)'),
  sigfillset: libc.func('int sigfillset(void *set)'),
  sigwaitinfo: libc.func('int sigwaitinfo(void *set, void *info)'),
  signal: libc.func('void *signal(int sig, void *handler)'),
  strerror: libc.func('const char *strerror(int errnum)'),
};

const isArm64 = process.arch === 'arm64';
const SYS_pivot_root = isArm64 ? 41 : 155;
// Newer system calls have one number on every architecture.
const SYS_pidfd_open = 434;
const SYS_pidfd_getfd = 438;

export const CLONE_FS = 0x00000200;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_REMOUNT = 0x20;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MNT_DETACH = 0x2;

const S_IFCHR = 0o020000;
const O_CLOEXEC = 0o2000000;
export const WNOHANG = 1;
export const PR_SET_PDEATHSIG = 1;
export const TIOCSCTTY = 0x540e;
export const TIOCSWINSZ = 0x5414;
const F_SETFD = 2;
const CLOSE_RANGE_CLOEXEC = 1 << 2;
const SIG_SETMASK = 2;
const SIGSET_BYTES = 128;

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

/**
 * A libc call prepared in advance: what the container's PID 1 runs between fork() and
 * execve(). The child only replays such a list through runCalls, a loop the parent has
 * already run (and V8 compiled) for its own calls: compiling code in the child would
 * copy page after page, at ~16 us a page on this kind of VM.
 */
export interface LibcCall {
  readonly name: string;
  readonly subject?: string;
  readonly fn: (...args: never[]) => unknown;
  readonly args: readonly unknown[];
  /** The only acceptable result (e.g. read() of exactly one byte); default: any result >= 0. */
  readonly expect?: number;
}

export function runCalls(calls: readonly LibcCall[]): void {
  for (const call of calls) {
    const result = Number((call.fn as (...args: unknown[]) => unknown)(...call.args));
    if (call.expect === undefined ? result < 0 : result !== call.expect) {
      throw new SyscallError(call.name, result < 0 ? koffi.errno() : 0, call.subject);
    }
  }
}

/** Builders for the calls that a prepared list may contain. */
export const calls = {
  mount: (
    source: string | null,
    target: string,
    fstype: string | null,
    flags: number,
    data: string | null = null,
  ): LibcCall => ({
    name: 'mount',
    subject: target,
    fn: raw.mount,
    args: [source, target, fstype, flags, data],
  }),
  close: (fd: number): LibcCall => ({ name: 'close', fn: raw.close, args: [fd] }),
  dup2: (from: number, to: number): LibcCall => ({ name: 'dup2', fn: raw.dup2, args: [from, to] }),
  setsid: (): LibcCall => ({ name: 'setsid', fn: raw.setsid, args: [] }),
  ioctl: (fd: number, request: number, arg: number): LibcCall => ({
    name: 'ioctl',
    fn: raw.ioctlInt,
    args: [fd, request, arg],
  }),
  prctl: (option: number, arg: number): LibcCall => ({
    name: 'prctl',
    fn: raw.prctl,
    args: [option, arg, 0, 0, 0],
  }),
  unshare: (flags: number): LibcCall => ({ name: 'unshare', fn: raw.unshare, args: [flags] }),
  write: (fd: number, data: Buffer, what: string): LibcCall => ({
    name: 'write',
    subject: what,
    fn: raw.write,
    args: [fd, data, data.length],
    expect: data.length,
  }),
  /** Blocks for exactly one byte; end of file (the writer is gone) fails the list. */
  readByte: (fd: number, what: string): LibcCall => ({
    name: 'read',
    subject: what,
    fn: raw.read,
    args: [fd, Buffer.alloc(1), 1],
    expect: 1,
  }),
  clearCloseOnExec: (fd: number): LibcCall => ({
    name: 'fcntl',
    fn: raw.fcntl,
    args: [fd, F_SETFD, 0],
  }),
  closeOnExecFrom: (first: number): LibcCall => ({
    name: 'close_range',
    fn: raw.closeRange,
    args: [first, 0xffffffff, CLOSE_RANGE_CLOEXEC],
  }),
  /** Default dispositions and an empty mask: what a freshly exec'd program expects. */
  resetSignals: (): LibcCall[] => [
    ...Array.from({ length: 31 }, (_, index) => index + 1)
      .filter((signal) => signal !== 9 && signal !== 19)
      .map((signal): LibcCall => ({ name: 'signal', fn: raw.signal, args: [signal, null] })),
    {
      name: 'sigprocmask',
      fn: raw.sigprocmask,
      args: [SIG_SETMASK, Buffer.alloc(SIGSET_BYTES), null],
    },
  ],
  execve: (path: string, argv: readonly string[], env: readonly string[]): LibcCall => ({
    name: 'execve',
    subject: path,
    fn: raw.execve,
    args: [path, [...argv, null], [...env, null]],
  }),
};

export const errno = {
  EINTR: 4,
  EAGAIN: 11,
  EINVAL: 22,
  ECHILD: 10,
  EBUSY: 16,
  ENOENT: 2,
  ESRCH: 3,
  EACCES: 13,
  ENOEXEC: 8,
} as const;

const MADV_DOFORK = 11;
const PAGE = 4096;
const USER_SPACE_END = 0x7fff_0000_0000;

/**
 * fork() that a JavaScript child can survive. V8 maps its heap pages MADV_DONTFORK, so a
 * plain fork() leaves the child without the objects it is about to run; one madvise()
 * over the whole user address space clears that first (it walks the mappings in order and
 * stops at the kernel's special ones at the top, past every heap page).
 */
export function fork(): number {
  raw.madvise(PAGE, USER_SPACE_END - PAGE, MADV_DOFORK);
  return check(raw.fork() as number, 'fork');
}

/** Leaves the process at once: no exit handlers, no flushing of the parent's state. */
export function exitImmediately(status: number): never {
  raw._exit(status);
  throw new Error('unreachable: _exit returned');
}

export type WaitResult = { pid: number; status: number };

/** One waitpid() call; pid 0 in the result means "still running" (with WNOHANG). */
export function waitpid(pid: number, options: number): WaitResult {
  for (;;) {
    const status = [0];
    const result = raw.waitpid(pid, status, options) as number;
    if (result < 0 && koffi.errno() === errno.EINTR) continue;
    return { pid: check(result, 'waitpid'), status: status[0] ?? 0 };
  }
}

/** Decodes a wait status into the shell's convention: the exit code, or 128+N for signal N. */
export function decodeWaitStatus(status: number): { exitCode: number; signal: number | null } {
  const signal = status & 0x7f;
  if (signal === 0) return { exitCode: (status >> 8) & 0xff, signal: null };
  return { exitCode: 128 + signal, signal };
}

export function kill(pid: number, signal: number): void {
  check(raw.kill(pid, signal) as number, 'kill', String(pid));
}

export function unshare(flags: number): void {
  check(raw.unshare(flags) as number, 'unshare');
}

export function setns(fd: number, nstype: number): void {
  check(raw.setns(fd, nstype) as number, 'setns');
}

export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null = null,
): void {
  runCalls([calls.mount(source, target, fstype, flags, data)]);
}

export function umount2(target: string, flags: number): void {
  check(raw.umount2(target, flags) as number, 'umount', target);
}

export function mknodCharDevice(path: string, mode: number, major: number, minor: number): void {
  const dev = ((major & 0xfff) << 8) | (minor & 0xff);
  check(raw.mknod(path, S_IFCHR | mode, dev) as number, 'mknod', path);
}

export function sethostname(name: string): void {
  check(raw.sethostname(name, Buffer.byteLength(name)) as number, 'sethostname', name);
}

export function chdir(path: string): void {
  check(raw.chdir(path) as number, 'chdir', path);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  check(Number(raw.syscall2(SYS_pivot_root, newRoot, putOld)), 'pivot_root', newRoot);
}

export function pipe(flags = O_CLOEXEC): { read: number; write: number } {
  const fds = Buffer.alloc(8);
  check(raw.pipe2(fds, flags) as number, 'pipe2');
  return { read: fds.readInt32LE(0), write: fds.readInt32LE(4) };
}

export function ioctl(fd: number, request: number, arg: Buffer | number): void {
  const result =
    typeof arg === 'number' ? raw.ioctlInt(fd, request, arg) : raw.ioctlPtr(fd, request, arg);
  check(result as number, 'ioctl');
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
  const pidfd = check(Number(raw.syscall3(SYS_pidfd_open, pid, 0, 0)), 'pidfd_open', String(pid));
  try {
    return check(Number(raw.syscall3(SYS_pidfd_getfd, pidfd, fd, 0)), 'pidfd_getfd', String(pid));
  } finally {
    raw.close(pidfd);
  }
}

export function socket(domain: number, type: number, protocol: number): number {
  return check(raw.socket(domain, type, protocol) as number, 'socket');
}

export function close(fd: number): void {
  raw.close(fd);
}

function filledSignalSet(): Buffer {
  const set = Buffer.alloc(SIGSET_BYTES);
  raw.sigfillset(set);
  return set;
}

/** Blocks every signal; returns the previous mask for restoreSignalMask. */
export function blockAllSignals(): Buffer {
  const old = Buffer.alloc(SIGSET_BYTES);
  check(raw.sigprocmask(SIG_SETMASK, filledSignalSet(), old) as number, 'sigprocmask');
  return old;
}

export function restoreSignalMask(mask: Buffer): void {
  check(raw.sigprocmask(SIG_SETMASK, mask, null) as number, 'sigprocmask');
}

/** Waits for any signal (all must be blocked) and returns its number. */
export function waitForAnySignal(): number {
  const info = Buffer.alloc(128);
  const set = filledSignalSet();
  for (;;) {
    const signal = raw.sigwaitinfo(set, info) as number;
    if (signal > 0) return signal;
    if (koffi.errno() !== errno.EINTR) throw new SyscallError('sigwaitinfo', koffi.errno());
  }
}

/** Really closes every descriptor from `first` up (an init that never execs must not hold the parent's). */
export function closeFrom(first: number): void {
  check(raw.closeRange(first, 0xffffffff, 0) as number, 'close_range');
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
