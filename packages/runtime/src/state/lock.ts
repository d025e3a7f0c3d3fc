import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { TockerError } from '../errors.js';
import { sleepSync } from '../sleep-sync.js';
import { tryLockExclusive, unlock } from '../sys/libc.js';

/** How long a command waits for another tocker process to finish with a container. */
const DEFAULT_WAIT_MS = 10_000;

/**
 * An exclusive lock on a directory: flock(2) on the directory itself, so it needs no file
 * of its own and dies with its holder (a SIGKILLed process never leaves it taken). A
 * directory that was renamed away (a removed container) while we waited is reported as
 * gone: the lock is only ever held on the directory that is still at `path`.
 */
export class DirectoryLock {
  private constructor(
    private fd: number,
    readonly path: string,
  ) {}

  /**
   * Waits up to `waitMs` for the lock. null: there is no such directory (any more);
   * 'busy': another process held it for the whole wait.
   */
  static acquire(path: string, waitMs = DEFAULT_WAIT_MS): DirectoryLock | null | 'busy' {
    const deadline = Date.now() + waitMs;
    let pause = 1;
    for (;;) {
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      if (tryLockExclusive(fd)) {
        const lock = new DirectoryLock(fd, path);
        if (lock.isStillAt(path)) return lock;
        lock.release();
        return null;
      }
      closeSync(fd);
      if (Date.now() >= deadline) return 'busy';
      sleepSync(pause);
      pause = Math.min(pause * 2, 20);
    }
  }

  /** acquire() that turns 'busy' into an error for the user. */
  static acquireOrFail(path: string, what: string, waitMs = DEFAULT_WAIT_MS): DirectoryLock | null {
    const lock = DirectoryLock.acquire(path, waitMs);
    if (lock === 'busy') {
      throw new TockerError(
        `${what} is busy: another tocker process has held its lock for ${Math.round(waitMs / 1000)} s`,
      );
    }
    return lock;
  }

  /** Whether `path` still names the directory this lock holds. */
  isStillAt(path: string): boolean {
    const held = fstatSync(this.fd);
    const current = statSync(path, { throwIfNoEntry: false });
    return current !== undefined && current.ino === held.ino && current.dev === held.dev;
  }

  release(): void {
    if (this.fd < 0) return;
    unlock(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** Runs `work` holding the lock of `path`; null without running it if the directory is gone. */
export function withDirectoryLock<T>(path: string, what: string, work: () => T): T | null {
  const lock = DirectoryLock.acquireOrFail(path, what);
  if (lock === null) return null;
  try {
    return work();
  } finally {
    lock.release();
  }
}
