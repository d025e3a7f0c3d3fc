import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type ContainerEvent,
  type ContainerEventKind,
  type ContainerView,
  completeUtf8Length,
  utf8StartOffset,
} from '@tocker/protocol';
import { TockerError } from './errors.js';
import type { ProcessIdentity } from './proc.js';
import type { RootfsLayout } from './rootfs.js';
import { CONTAINER_NAME } from './spec.js';

const MAX_LOG_READ = 16 * 1024 * 1024;

/** A full container id (the only way to address a removed container's archived log). */
const FULL_ID = /^[0-9a-f]{64}$/;

/** How much of a removed container's log is kept: its last MiB... */
export const LOG_ARCHIVE_BYTES = 1024 * 1024;
/** ...for the most recently removed 500 containers. */
export const LOG_ARCHIVE_FILES = 500;

/** Bounds of the archive of removed containers' logs (defaults: the constants above). */
export interface LogArchiveOptions {
  /** The tail kept of each log, in bytes. */
  readonly maxBytes?: number;
  /** Archived logs kept; the oldest (by modification time) go first. */
  readonly maxFiles?: number;
}

/** A line of the transitions log: an event before the agent numbers it. */
export type ContainerTransition = Omit<ContainerEvent, 'seq'>;

/**
 * What every tocker process knows about a container: state.json in its directory. The
 * part clients see (ContainerView) plus the host-side bookkeeping.
 */
export interface ContainerRecord extends ContainerView {
  /** PID 1 of the container, as seen from the host. */
  readonly process: ProcessIdentity | null;
  /** The process that waits for the container and records its end. */
  readonly supervisor: ProcessIdentity;
  /**
   * Outlives its supervisor (agent containers): when the supervisor dies, the container
   * keeps running and the next supervisor adopts it. Otherwise it dies with it.
   */
  readonly detached: boolean;
  /** What the container used, read from its cgroup when it ended. */
  readonly usage: { readonly cpuTimeNs: number; readonly memoryPeakBytes: number | null } | null;
}

/**
 * Container records on disk. Writes are atomic (rename), a new container's directory
 * appears whole (prepared under a temporary name), and a name is reserved by creating a
 * symlink, which fails if it exists: concurrent CLI processes cannot both get one.
 */
export class StateStore {
  readonly containersDir: string;
  /** Logs of removed containers, `<full id>.log`, so that history can still show them. */
  readonly archiveDir: string;
  private readonly namesDir: string;
  private readonly archiveBytes: number;
  private readonly archiveFiles: number;

  constructor(
    readonly root: string,
    archive: LogArchiveOptions = {},
  ) {
    this.containersDir = join(root, 'containers');
    this.archiveDir = join(root, 'archive');
    this.namesDir = join(root, 'names');
    this.archiveBytes = archive.maxBytes ?? LOG_ARCHIVE_BYTES;
    this.archiveFiles = archive.maxFiles ?? LOG_ARCHIVE_FILES;
    mkdirSync(this.containersDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
  }

  /**
   * Every transition of every container, appended by whichever tocker process made it
   * (CLI, supervisor, agent): the agent turns this log into its numbered event journal,
   * so containers run from the command line, and ends nobody watched, reach it too.
   * Appends of one short line are atomic, so concurrent writers do not interleave.
   */
  logTransition(kind: ContainerEventKind, record: ContainerRecord): void {
    const event: ContainerTransition = {
      at: new Date().toISOString(),
      kind,
      container: { id: record.id, name: record.name },
      ...(kind === 'created' || kind === 'limits-updated' ? { limits: record.spec.limits } : {}),
      ...(kind === 'created' ? { spec: record.spec, hostname: record.hostname } : {}),
      ...(kind === 'exited'
        ? {
            exit: {
              exitCode: record.exitCode,
              signal: record.signal,
              oomKilled: record.oomKilled,
              memoryPeakBytes: record.usage?.memoryPeakBytes ?? null,
              cpuTimeNs: record.usage?.cpuTimeNs ?? null,
            },
          }
        : {}),
    };
    appendFileSync(this.transitionsFile, `${JSON.stringify(event)}\n`, { mode: 0o600 });
  }

  get transitionsFile(): string {
    return join(this.root, 'transitions.jsonl');
  }

  dir(id: string): string {
    return join(this.containersDir, id);
  }

  logPath(id: string): string {
    return join(this.dir(id), 'container.log');
  }

  archivedLogPath(id: string): string {
    return join(this.archiveDir, `${id}.log`);
  }

  /** Whether `reference` is the full id of a removed container whose log was archived. */
  hasArchivedLog(reference: string): boolean {
    return FULL_ID.test(reference) && existsSync(this.archivedLogPath(reference));
  }

  /**
   * A piece of a container's log: from byte `from`, or the last `tail` bytes, never cut
   * inside a UTF-8 character. `next` is where the following read starts. Once the
   * container is removed, its archived log (the tail that was kept) is read instead.
   */
  readLog(id: string, range: { from?: number; tail?: number }): { text: string; next: number } {
    let fd: number;
    try {
      fd = openSync(this.logPath(id), 'r');
    } catch {
      try {
        fd = openSync(this.archivedLogPath(id), 'r');
      } catch {
        return { text: '', next: range.from ?? 0 };
      }
    }
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

  rootfsLayout(id: string, image: string, consolePath: string | null): RootfsLayout {
    const dir = this.dir(id);
    return {
      image,
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      merged: join(dir, 'merged'),
      console: consolePath,
    };
  }

  /** Creates the container's directory with its first record, and reserves its name. */
  reserve(record: ContainerRecord): void {
    if (record.name !== null) {
      try {
        symlinkSync(record.id, join(this.namesDir, record.name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new TockerError(
            `the name "${record.name}" is already in use by container ${this.nameOwner(record.name)}`,
          );
        }
        throw error;
      }
    }
    const staging = join(this.containersDir, `.new-${process.pid}-${record.id}`);
    try {
      mkdirSync(staging, { mode: 0o700 });
      for (const sub of ['upper', 'work', 'merged']) mkdirSync(join(staging, sub));
      writeFileSync(join(staging, 'state.json'), JSON.stringify(record, null, 2));
      renameSync(staging, this.dir(record.id));
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      this.releaseName(record);
      throw error;
    }
  }

  write(record: ContainerRecord): void {
    const file = join(this.dir(record.id), 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  read(id: string): ContainerRecord | null {
    try {
      return JSON.parse(readFileSync(join(this.dir(id), 'state.json'), 'utf8')) as ContainerRecord;
    } catch {
      return null;
    }
  }

  list(): ContainerRecord[] {
    return readdirSync(this.containersDir)
      .filter((entry) => !entry.startsWith('.'))
      .map((id) => this.read(id))
      .filter((record): record is ContainerRecord => record !== null)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** By name, full id or unambiguous id prefix, as docker does. */
  resolve(reference: string): ContainerRecord {
    const byName = CONTAINER_NAME.test(reference) ? this.nameOwner(reference) : null;
    const candidates = byName !== null ? [byName] : this.idsStartingWith(reference);
    if (candidates.length > 1)
      throw new TockerError(`"${reference}" matches several containers: use more of the id`);
    const record = candidates[0] === undefined ? null : this.read(candidates[0]);
    if (record === null) throw new TockerError(`no such container: ${reference}`);
    return record;
  }

  /**
   * Deletes the container's directory and frees its name. Its log is archived first
   * (unless `keepLog` is false: a creation that failed before anyone heard of it).
   */
  remove(record: ContainerRecord, { keepLog = true }: { keepLog?: boolean } = {}): void {
    if (keepLog) this.archiveLog(record.id);
    rmSync(this.dir(record.id), { recursive: true, force: true });
    this.releaseName(record);
  }

  /**
   * Copies the last `archiveBytes` of the container's log (starting on a UTF-8 character)
   * into the archive, atomically, then drops the oldest archived logs beyond
   * `archiveFiles`. Best effort: history is not worth failing a removal for.
   */
  private archiveLog(id: string): void {
    let source: number;
    try {
      source = openSync(this.logPath(id), 'r');
    } catch {
      return; // it had no log (its output went to a terminal)
    }
    const staging = join(this.archiveDir, `.${id}.${process.pid}.tmp`);
    try {
      mkdirSync(this.archiveDir, { recursive: true, mode: 0o700 });
      const size = fstatSync(source).size;
      const start = Math.max(0, size - this.archiveBytes);
      const tail = Buffer.alloc(size - start);
      let filled = 0;
      while (filled < tail.length) {
        const read = readSync(source, tail, filled, tail.length - filled, start + filled);
        if (read === 0) break;
        filled += read;
      }
      const from = start > 0 ? utf8StartOffset(tail.subarray(0, filled)) : 0;
      writeFileSync(staging, tail.subarray(from, filled), { mode: 0o600 });
      renameSync(staging, this.archivedLogPath(id));
      this.pruneArchive();
    } catch {
      rmSync(staging, { force: true });
    } finally {
      closeSync(source);
    }
  }

  private pruneArchive(): void {
    const names = readdirSync(this.archiveDir).filter(
      (name) => name.endsWith('.log') && !name.startsWith('.'),
    );
    if (names.length <= this.archiveFiles) return;
    const byAge = names
      .flatMap((name) => {
        try {
          return [{ name, mtimeMs: statSync(join(this.archiveDir, name)).mtimeMs }];
        } catch {
          return []; // pruned meanwhile by another tocker process
        }
      })
      .sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const { name } of byAge.slice(0, Math.max(0, byAge.length - this.archiveFiles))) {
      rmSync(join(this.archiveDir, name), { force: true });
    }
  }

  /** Removes staging directories of creations whose process died half-way. */
  removeAbandonedStaging(isCreatorAlive: (pid: number) => boolean): void {
    for (const entry of readdirSync(this.containersDir)) {
      const creator = /^\.new-(\d+)-/.exec(entry)?.[1];
      if (creator !== undefined && !isCreatorAlive(Number(creator))) {
        rmSync(join(this.containersDir, entry), { recursive: true, force: true });
      }
    }
  }

  private idsStartingWith(prefix: string): string[] {
    if (!/^[0-9a-f]{1,64}$/.test(prefix)) return [];
    return readdirSync(this.containersDir).filter((id) => id.startsWith(prefix));
  }

  private nameOwner(name: string): string | null {
    try {
      return readlinkSync(join(this.namesDir, name));
    } catch {
      return null;
    }
  }

  private releaseName(record: ContainerRecord): void {
    if (record.name !== null && this.nameOwner(record.name) === record.id) {
      unlinkSync(join(this.namesDir, record.name));
    }
  }
}
