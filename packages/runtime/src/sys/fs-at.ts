import { koffi } from './koffi.js';
import { SyscallError } from './libc.js';

/**
 * The *at() system calls that unpack a layer without ever following a path out of it:
 * every lookup starts from a directory descriptor, and openat2's RESOLVE_IN_ROOT makes
 * "/", ".." and symlinks (absolute or not) resolve as if that directory were "/".
 * Descriptors are plain integers: Node's fs functions take them as they are.
 */

const libc = koffi.load('libc.so.6');

const raw = {
  openat2: libc.func(
    'long syscall(long number, int dirfd, const char *path, const void *how, size_t size)',
  ),
  openat: libc.func('int openat(int dirfd, const char *path, int flags, unsigned int mode)'),
  mkdirat: libc.func('int mkdirat(int dirfd, const char *path, unsigned int mode)'),
  symlinkat: libc.func('int symlinkat(const char *target, int dirfd, const char *path)'),
  linkat: libc.func(
    'int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)',
  ),
  mknodat: libc.func('int mknodat(int dirfd, const char *path, unsigned int mode, uint64_t dev)'),
  unlinkat: libc.func('int unlinkat(int dirfd, const char *path, int flags)'),
  fchownat: libc.func(
    'int fchownat(int dirfd, const char *path, unsigned int uid, unsigned int gid, int flags)',
  ),
  utimensat: libc.func('int utimensat(int dirfd, const char *path, const void *times, int flags)'),
  fsetxattr: libc.func(
    'int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)',
  ),
};

const SYS_openat2 = 437;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
const RESOLVE_NO_XDEV = 0x01;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_NO_SYMLINKS = 0x04;
const RESOLVE_IN_ROOT = 0x10;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_REMOVEDIR = 0x200;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;
export const ENOENT = 2;
export const EEXIST = 17;
export const ELOOP = 40;

function check(result: number | bigint, call: string, subject: string): number {
  const value = Number(result);
  if (value < 0) throw new SyscallError(call, koffi.errno(), subject);
  return value;
}

/** The errno of a failed call, or null when it succeeded (for calls whose failure is an answer). */
export function errnoOf(error: unknown): number | null {
  return error instanceof SyscallError ? error.errno : null;
}

/**
 * Opens `path` below `root` as if `root` were "/": no component can leave it, whether by
 * "..", an absolute path or a symlink (RESOLVE_IN_ROOT), nor cross into another mount.
 */
export function openInRoot(root: number, path: string, flags: number, mode = 0): number {
  return openat2(
    root,
    path,
    flags,
    mode,
    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  );
}

/**
 * Opens an absolute host path only if no component of it is a symlink now: a path checked
 * earlier (by its real path) is then the very place that was checked, whatever was renamed
 * or replaced by a link since.
 */
export function openWithoutSymlinks(path: string, flags: number): number {
  return openat2(-100 /* AT_FDCWD */, path, flags, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

function openat2(dir: number, path: string, flags: number, mode: number, resolve: number): number {
  // struct open_how { u64 flags; u64 mode; u64 resolve; }
  const how = Buffer.alloc(24);
  how.writeBigUInt64LE(BigInt(flags | O_CLOEXEC), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  return check(
    raw.openat2(SYS_openat2, dir, path === '' ? '.' : path, how, how.length),
    'openat2',
    path,
  );
}

/** openat() of one name in `dir` (no slashes: the name itself is never followed if it is a link). */
export function openAt(dir: number, name: string, flags: number, mode = 0): number {
  return check(raw.openat(dir, name, flags | O_CLOEXEC | O_NOFOLLOW, mode), 'openat', name);
}

export function mkdirAt(dir: number, name: string, mode: number): void {
  check(raw.mkdirat(dir, name, mode), 'mkdirat', name);
}

export function symlinkAt(target: string, dir: number, name: string): void {
  check(raw.symlinkat(target, dir, name), 'symlinkat', name);
}

export function linkAt(fromDir: number, fromName: string, dir: number, name: string): void {
  check(raw.linkat(fromDir, fromName, dir, name, 0), 'linkat', name);
}

export function mknodAt(
  dir: number,
  name: string,
  mode: number,
  major: number,
  minor: number,
): void {
  // glibc's makedev(), for the numbers a tar header can hold.
  const dev =
    (BigInt(major & 0xfff) << 8n) |
    BigInt(minor & 0xff) |
    (BigInt(minor & ~0xff) << 12n) |
    (BigInt(major & ~0xfff) << 32n);
  check(raw.mknodat(dir, name, mode, dev), 'mknodat', name);
}

export function unlinkAt(dir: number, name: string, directory: boolean): void {
  check(raw.unlinkat(dir, name, directory ? AT_REMOVEDIR : 0), 'unlinkat', name);
}

/** Owner of `name` in `dir` itself (a symlink's own, never its target's). */
export function chownAt(dir: number, name: string, uid: number, gid: number): void {
  check(raw.fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW), 'fchownat', name);
}

/** Access and modification time of `name` in `dir` itself, in (fractional) seconds. */
export function setTimesAt(dir: number, name: string, seconds: number): void {
  const whole = Math.floor(seconds);
  const nanoseconds = Math.min(999_999_999, Math.round((seconds - whole) * 1e9));
  // struct timespec times[2] (access, modification): both the same.
  const times = Buffer.alloc(32);
  for (const offset of [0, 16]) {
    times.writeBigInt64LE(BigInt(whole), offset);
    times.writeBigInt64LE(BigInt(nanoseconds), offset + 8);
  }
  check(raw.utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW), 'utimensat', name);
}

export function setXattr(fd: number, name: string, value: Buffer): void {
  check(raw.fsetxattr(fd, name, value, value.length, 0), 'fsetxattr', name);
}
