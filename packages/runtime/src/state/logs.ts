import {
  closeSync,
  fstatSync,
  futimesSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { completeUtf8Length, utf8StartOffset } from '@tocker/protocol/vocabulary';

const MAX_LOG_READ = 16 * 1024 * 1024;

/** How much of a removed container's log is kept: its last MiB... */
export const LOG_ARCHIVE_BYTES = 1024 * 1024;
/** ...for the most recently removed 500 containers (at least 450: see prune()). */
export const LOG_ARCHIVE_FILES = 500;

/** Bounds of the archive of removed containers' logs (defaults: the constants above). */
export interface LogArchiveOptions {
  /** The tail kept of each log, in bytes. */
  readonly maxBytes?: number;
  /** Archived logs kept; the oldest (by modification time) go first, down to nine tenths. */
  readonly maxFiles?: number;
}

/**
 * A piece of a log file: from byte `from`, or the last `tail` bytes, never cut inside a
 * UTF-8 character. `next` is where the following read starts. The first existing file of
 * `paths` is read (a container's log, then its archived tail).
 */
export function readLogRange(
  paths: readonly string[],
  range: { from?: number; tail?: number },
): { text: string; next: number } {
  let fd: number | undefined;
  for (const path of paths) {
    try {
      fd = openSync(path, 'r');
      break;
    } catch {
      // Try the next place.
    }
  }
  if (fd === undefined) return { text: '', next: range.from ?? 0 };
  try {
    const size = fstatSync(fd).size;
    const start = range.from ?? Math.max(0, size - (range.tail ?? size));
    const bytes = Buffer.alloc(Math.max(0, Math.min(size - start, MAX_LOG_READ)));
    readSync(fd, bytes, 0, bytes.length, start);
    const skip = range.from === undefined ? utf8StartOffset(bytes) : 0;
    const end = completeUtf8Length(bytes);
    return { text: bytes.subarray(skip, end).toString('utf8'), next: start + end };
  } finally {
    closeSync(fd);
  }
}

/**
 * The logs of removed containers, `<full id>.log`, so that history can still show them:
 * the last `maxBytes` of each (starting on a UTF-8 character), for the `maxFiles` most
 * recently removed. Best effort: history is not worth failing a removal for, and on a
 * full disk the removal is what frees space.
 */
export class LogArchive {
  private readonly maxBytes: number;
  private readonly maxFiles: number;

  constructor(
    readonly dir: string,
    options: LogArchiveOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? LOG_ARCHIVE_BYTES;
    this.maxFiles = options.maxFiles ?? LOG_ARCHIVE_FILES;
  }

  path(id: string): string {
    return join(this.dir, `${id}.log`);
  }

  /**
   * Logs this process may still archive before it lists the directory again: listing up to
   * maxFiles names at every removal cost the agent ~0.13 ms a container. What other
   * processes add is theirs to count (each lists at its first).
   */
  private room = 0;

  keep(id: string, log: string): void {
    let source: number;
    try {
      source = openSync(log, 'r');
    } catch {
      return; // it had no log (its output went to a terminal)
    }
    const staging = join(this.dir, `.${id}.${process.pid}.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const size = fstatSync(source).size;
      if (size > this.maxBytes || !this.linkWhole(source, log, id)) {
        const start = Math.max(0, size - this.maxBytes);
        const tail = Buffer.alloc(size - start);
        let filled = 0;
        while (filled < tail.length) {
          const read = readSync(source, tail, filled, tail.length - filled, start + filled);
          if (read === 0) break;
          filled += read;
        }
        const from = start > 0 ? utf8StartOffset(tail.subarray(0, filled)) : 0;
        writeFileSync(staging, tail.subarray(from, filled), { mode: 0o600 });
        renameSync(staging, this.path(id));
      }
      if (--this.room < 0) this.prune();
    } catch {
      rmSync(staging, { force: true });
    } finally {
      closeSync(source);
    }
  }

  /**
   * A log that fits is archived whole as a second name of the same file (its output has
   * ended), which saves writing a copy; dated now, as a copy would be, for prune()'s order.
   */
  private linkWhole(source: number, log: string, id: string): boolean {
    try {
      linkSync(log, this.path(id));
    } catch {
      return false; // e.g. one left by a removal that failed half-way: copied over instead
    }
    const now = new Date();
    futimesSync(source, now, now);
    return true;
  }

  private prune(): void {
    const names = readdirSync(this.dir).filter(
      (name) => name.endsWith('.log') && !name.startsWith('.'),
    );
    if (names.length <= this.maxFiles) {
      this.room = this.maxFiles - names.length;
      return;
    }
    // Down to nine tenths: dating them all (a stat each) then happens once every tenth.
    const keep = this.maxFiles - Math.floor(this.maxFiles / 10);
    this.room = this.maxFiles - keep;
    const byAge = names
      .flatMap((name) => {
        try {
          return [{ name, mtimeMs: statSync(join(this.dir, name)).mtimeMs }];
        } catch {
          return []; // pruned meanwhile by another tocker process
        }
      })
      .sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const { name } of byAge.slice(0, Math.max(0, byAge.length - keep))) {
      rmSync(join(this.dir, name), { force: true });
    }
  }
}
