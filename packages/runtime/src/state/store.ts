import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rm,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ContainerEventKind } from '@tocker/protocol';
import { TockerError } from '../errors.js';
import type { RootfsLayout } from '../rootfs.js';
import { CONTAINER_NAME } from '../spec.js';
import { KnownDocuments } from './known-documents.js';
import { DirectoryLock } from './lock.js';
import { LogArchive, type LogArchiveOptions, readLogRange } from './logs.js';
import {
  type ContainerRecord,
  type CorruptRecord,
  FULL_ID,
  type Outbox,
  parseDocument,
  type RecordDocument,
  serializeDocument,
} from './record.js';
import { createRecordFiles, readRecordFile, writeRecordFile } from './record-file.js';
import { writingTo } from './storage.js';
import { TransitionLog } from './transitions.js';

/**
 * How the directories of removed containers are deleted: 'background' (on libuv's threads,
 * off the caller's path) for a long-lived process such as the agent; 'at-once' for one
 * that waits for them before it exits anyway, such as the CLI, which the background's
 * round trips (the threads' start, a hop per file) cost ~3 ms of CPU.
 */
export type Discard = 'background' | 'at-once';

/** What a locked update decides: the new record, the transitions it makes, and whether it goes. */
export interface Change {
  readonly record: ContainerRecord;
  readonly transitions: readonly ContainerEventKind[];
  /** Delete the container afterwards, its log archived, or discarded (it never ran). */
  readonly removal?: 'archive-log' | 'discard-log';
  /**
   * With a removal: has someone else delete the directory once this process lets go of it
   * (the container's shim: not on the path of a `run --rm`); false if it cannot, and the
   * store's `discard` does.
   */
  readonly handOver?: () => boolean;
}

export type StoredContainer =
  | { readonly ok: true; readonly record: ContainerRecord }
  | { readonly ok: false; readonly corrupt: CorruptRecord };

const REMOVED_PREFIX = '.removed-';
/** The exit file's size: a shim overwrites it in place, so recording an exit needs no block. */
const EXIT_FILE_SPACE = `${' '.repeat(63)}\n`;
const STAGING = /^\.new-(\d+)-/;
/** A torn read (a write swapped the files twice meanwhile) is retried before calling it corrupt. */
const READ_ATTEMPTS = 3;

/**
 * Container records on disk, safe under any number of concurrent tocker processes and
 * any of them being killed at any point:
 *
 * - Every change is made under the container's lock (flock on its directory), on a record
 *   read under that lock, and is one atomic replacement of state.json that needs no free
 *   block (see record-file.ts). Reads take no lock: they always see a whole record.
 * - A transition is written into the record's outbox together with the change that
 *   causes it, then appended to transitions.jsonl and cleared: whoever finds an outbox
 *   left by a process that died or hit a full disk appends what is missing, once.
 * - A directory appears whole (prepared under a temporary name), and disappears by being
 *   renamed away under its lock first, so nobody acts on a half-removed container.
 * - Names are links `names/<name> -> <id>`, made and removed under the names lock, and
 *   only ever point at a container that exists or existed: a link whose container is
 *   gone (its creator was killed in between) is stale and is taken over.
 */
export class StateStore {
  readonly containersDir: string;
  readonly transitions: TransitionLog;
  readonly archive: LogArchive;
  private readonly namesDir: string;
  /** Some transition could not be appended (a full disk): flushOutboxes() will retry. */
  private behind = false;
  private readonly discarding = new Set<Promise<void>>();
  private readonly known = new KnownDocuments();

  constructor(
    readonly root: string,
    archive: LogArchiveOptions = {},
    private readonly discard: Discard = 'background',
  ) {
    this.containersDir = join(root, 'containers');
    this.namesDir = join(root, 'names');
    this.archive = new LogArchive(join(root, 'archive'), archive);
    this.transitions = new TransitionLog(join(root, 'transitions.jsonl'));
    writingTo(root, () => {
      mkdirSync(this.containersDir, { recursive: true, mode: 0o700 });
      mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
    });
  }

  /** Whether transitions are waiting in some outbox of this process's making. */
  get isBehind(): boolean {
    return this.behind;
  }

  dir(id: string): string {
    return join(this.containersDir, id);
  }

  logPath(id: string): string {
    return join(this.dir(id), 'container.log');
  }

  rootfsLayout(id: string, layers: readonly string[]): RootfsLayout {
    const dir = this.dir(id);
    return {
      layers,
      upper: join(dir, 'upper'),
      work: join(dir, 'work'),
      merged: join(dir, 'merged'),
    };
  }

  /** The name a container's directory has in containersDir once it is removed. */
  removedName(id: string): string {
    return `${REMOVED_PREFIX}${id}`;
  }

  /** Where the container's shim writes its wait status (made at full size with the container). */
  exitFilePath(id: string): string {
    return join(this.dir(id), 'exit');
  }

  /** Blanks the exit file in place for a new run (restart), needing no block. */
  clearExitFile(id: string): void {
    const fd = openSync(this.exitFilePath(id), 'r+');
    try {
      writeSync(fd, EXIT_FILE_SPACE, 0);
    } finally {
      closeSync(fd);
    }
  }

  /** Whether `reference` is the full id of a removed container whose log was archived. */
  hasArchivedLog(reference: string): boolean {
    return FULL_ID.test(reference) && existsSync(this.archive.path(reference));
  }

  /** A piece of a container's log; once it is removed, of its archived tail. */
  readLog(id: string, range: { from?: number; tail?: number }): { text: string; next: number } {
    return readLogRange([this.logPath(id), this.archive.path(id)], range);
  }

  // Reading: no lock, always a whole record.

  /** The container's record, or what is wrong with it; null when there is no such container. */
  readStored(id: string): StoredContainer | null {
    const read = this.readAt(this.dir(id), id);
    if (read === null || !read.ok) return read;
    return { ok: true, record: read.document.record };
  }

  /** The container's record; null when it does not exist or cannot be read. */
  read(id: string): ContainerRecord | null {
    const stored = this.readStored(id);
    return stored?.ok ? stored.record : null;
  }

  /** Every container, oldest first, and the records that cannot be read. */
  scan(): { records: ContainerRecord[]; corrupt: CorruptRecord[] } {
    const records: ContainerRecord[] = [];
    const corrupt: CorruptRecord[] = [];
    for (const id of this.ids()) {
      const stored = this.readStored(id);
      if (stored === null) continue; // removed meanwhile
      if (stored.ok) records.push(stored.record);
      else corrupt.push(stored.corrupt);
    }
    records.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return { records, corrupt };
  }

  list(): ContainerRecord[] {
    return this.scan().records;
  }

  ids(): string[] {
    const ids = readdirSync(this.containersDir).filter((entry) => FULL_ID.test(entry));
    this.known.keepOnly(ids.map((id) => this.dir(id)));
    return ids;
  }

  exists(id: string): boolean {
    return existsSync(this.dir(id));
  }

  /** By name, full id or unambiguous id prefix, as docker does; corrupt records included. */
  resolveStored(reference: string): StoredContainer {
    const byName = CONTAINER_NAME.test(reference) ? this.nameOwner(reference) : null;
    const candidates = byName !== null ? [byName] : this.idsStartingWith(reference);
    if (candidates.length > 1)
      throw new TockerError(`"${reference}" matches several containers: use more of the id`);
    const stored = candidates[0] === undefined ? null : this.readStored(candidates[0]);
    if (stored === null) throw new TockerError(`no such container: ${reference}`);
    return stored;
  }

  /** resolveStored(), for operations that need a readable record. */
  resolve(reference: string): ContainerRecord {
    const stored = this.resolveStored(reference);
    if (!stored.ok) throw corruptError(stored.corrupt);
    return stored.record;
  }

  // Writing: always under the container's lock.

  /** Creates the container's directory with its first record, and reserves its name. */
  reserve(record: ContainerRecord): void {
    if (record.name === null) {
      this.createDirectory(record);
      return;
    }
    const { name } = record;
    this.withNamesLock(() => {
      const owner = this.nameOwner(name);
      if (owner !== null && this.exists(owner)) {
        throw new TockerError(`the name "${name}" is already in use by container ${owner}`);
      }
      this.createDirectory(record);
      // Replaces a stale link (its container is gone) in one step.
      const link = join(this.namesDir, `.link-${process.pid}-${record.id}`);
      try {
        writingTo(this.root, () => {
          symlinkSync(record.id, link);
          renameSync(link, join(this.namesDir, name));
        });
      } catch (error) {
        rmSync(link, { force: true });
        this.discardDirectory(this.dir(record.id));
        throw error;
      }
    });
  }

  /**
   * The one way to change a container: under its lock, `decide` gets its current record
   * (after any outbox left by someone else was flushed) and returns the change, or null
   * for none. Returns the record as it is afterwards; null if the container is gone.
   * Waits for another process that holds the container, for a while.
   */
  update(id: string, decide: (record: ContainerRecord) => Change | null): ContainerRecord | null {
    const result = this.locked(id, undefined, decide);
    if (result === 'busy') throw new TockerError(`container ${id.slice(0, 12)} is busy`);
    return result;
  }

  /** update() that does not wait: 'busy' while another process holds the container. */
  tryUpdate(
    id: string,
    decide: (record: ContainerRecord) => Change | null,
  ): ContainerRecord | null | 'busy' {
    return this.locked(id, 0, decide);
  }

  private locked(
    id: string,
    waitMs: number | undefined,
    decide: (record: ContainerRecord) => Change | null,
  ): ContainerRecord | null | 'busy' {
    const dir = this.dir(id);
    const lock =
      waitMs === undefined
        ? DirectoryLock.acquireOrFail(dir, `container ${id.slice(0, 12)}`)
        : DirectoryLock.acquire(dir, waitMs);
    if (lock === null || lock === 'busy') return lock;
    try {
      const read = this.readAt(dir, id);
      if (read === null) return null;
      if (!read.ok) throw corruptError(read.corrupt);
      const current = this.flush(dir, read.document, true);
      const change = decide(current.record);
      if (change === null) return current.record;
      return this.commit(dir, current, change);
    } finally {
      lock.release();
    }
  }

  /**
   * Removes a container whose record cannot be read (rm -f), after `kill` ended whatever
   * still runs in it. Its removal is logged with what is known: id and name.
   */
  removeCorrupt(id: string, kill: () => void): void {
    const dir = this.dir(id);
    const lock = DirectoryLock.acquireOrFail(dir, `container ${id.slice(0, 12)}`);
    if (lock === null) return;
    try {
      kill();
      const name = this.nameOf(id);
      const removed = this.moveAway(dir, id);
      if (name !== null) this.releaseName(name, id);
      const line = JSON.stringify({
        at: new Date().toISOString(),
        kind: 'removed',
        container: { id, name },
      });
      try {
        this.transitions.append([line]);
      } catch {
        this.behind = true; // nothing to keep it in: the record was unreadable
      }
      this.discardDirectory(removed);
    } finally {
      lock.release();
    }
  }

  /**
   * Appends what outboxes hold (left by processes that died, or by a full disk), and
   * finishes removals that were waiting for it. Containers another process holds are
   * left for later.
   */
  flushOutboxes(): void {
    let complete = true;
    for (const entry of readdirSync(this.containersDir)) {
      const removed = entry.startsWith(REMOVED_PREFIX);
      if (!removed && !FULL_ID.test(entry)) continue;
      const id = removed ? entry.slice(REMOVED_PREFIX.length) : entry;
      const dir = join(this.containersDir, entry);
      const peek = this.readAt(dir, id);
      if (!removed && !(peek?.ok && peek.document.outbox !== null)) continue;
      const lock = DirectoryLock.acquire(dir, 0);
      if (lock === null) continue;
      if (lock === 'busy') {
        complete = false;
        continue;
      }
      try {
        const read = this.readAt(dir, id);
        const flushed = read?.ok ? this.flush(dir, read.document, true) : null;
        if (flushed?.outbox != null) complete = false;
        else if (removed) this.discardDirectory(dir);
      } finally {
        lock.release();
      }
    }
    if (complete) this.behind = false;
  }

  /** Removes staging directories of creations whose process died half-way. */
  removeAbandonedStaging(isCreatorAlive: (pid: number) => boolean): void {
    for (const entry of readdirSync(this.containersDir)) {
      const creator = STAGING.exec(entry)?.[1];
      if (creator !== undefined && !isCreatorAlive(Number(creator))) {
        rmSync(join(this.containersDir, entry), { recursive: true, force: true });
      }
    }
  }

  private commit(dir: string, current: RecordDocument, change: Change): ContainerRecord {
    const { record } = change;
    const lines = change.transitions.map((kind) => this.transitions.line(kind, record));
    if (change.removal === 'archive-log') this.archive.keep(record.id, this.logPath(record.id));
    const outbox: Outbox | null =
      lines.length === 0
        ? current.outbox
        : {
            lines: [...(current.outbox?.lines ?? []), ...lines],
            since: current.outbox?.since ?? this.transitions.size(),
          };
    const document: RecordDocument = { format: 1, record, outbox };
    writingTo(this.root, () => this.writeDocument(dir, document));
    if (change.removal === undefined) {
      this.flush(dir, document, false);
      return record;
    }
    const away = this.moveAway(dir, record.id);
    if (record.name !== null) this.releaseName(record.name, record.id);
    if (this.flushBeforeDiscarding(away, document, current.outbox !== null)) {
      if (change.handOver?.() === true) this.known.forget(away);
      else this.discardLater(away);
    } else {
      this.freeAllButRecord(away); // the outbox waits for space; the rest frees some
    }
    return record;
  }

  /**
   * A removed container's outbox, appended. Lines only just written need no clearing:
   * the directory goes (a crash before it is gone leaves lines the next flush finds
   * already logged). true when nothing is left to append.
   */
  private flushBeforeDiscarding(
    dir: string,
    document: RecordDocument,
    inherited: boolean,
  ): boolean {
    if (inherited) return this.flush(dir, document, true).outbox === null;
    try {
      this.transitions.append(document.outbox?.lines ?? []);
      return true;
    } catch {
      this.behind = true;
      return false;
    }
  }

  /**
   * Deletes a removed container's directory, which is already out of the way, renamed: off
   * the caller's path (its files can take a millisecond or more) unless `discard` is
   * 'at-once'. settled() waits for it. An error leaves it for the next collection, which
   * retries removed directories.
   */
  private discardLater(dir: string): void {
    this.known.forget(dir);
    if (this.discard === 'at-once') {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {}
      return;
    }
    // fs.rm with a callback: node:fs/promises costs every CLI run ~1 ms to load.
    const removal = new Promise<void>((resolve) =>
      rm(dir, { recursive: true, force: true }, () => resolve()),
    ).finally(() => this.discarding.delete(removal));
    this.discarding.add(removal);
  }

  /** Resolves once the directories of removed containers are deleted (before a CLI exits). */
  async settled(): Promise<void> {
    await Promise.all(this.discarding);
  }

  /**
   * Appends the outbox and clears it. `inherited`: it was found, not just written, so
   * some of it may already be in the log. A failure leaves it for the next flush.
   */
  private flush(dir: string, document: RecordDocument, inherited: boolean): RecordDocument {
    const { outbox } = document;
    if (outbox === null) return document;
    try {
      const logged = inherited
        ? this.transitions.alreadyLogged(outbox.lines, outbox.since)
        : new Set<string>();
      this.transitions.append(outbox.lines.filter((line) => !logged.has(line)));
      const flushed: RecordDocument = { ...document, outbox: null };
      this.writeDocument(dir, flushed);
      return flushed;
    } catch {
      this.behind = true;
      return document;
    }
  }

  /** Renames the directory out of the way (no space needed); the lock moves with it. */
  private moveAway(dir: string, id: string): string {
    const away = join(this.containersDir, this.removedName(id));
    renameSync(dir, away);
    this.known.forget(dir);
    return away;
  }

  private writeDocument(dir: string, document: RecordDocument): void {
    const json = serializeDocument(document);
    writeRecordFile(dir, json);
    this.known.remember(dir, json, document);
  }

  private freeAllButRecord(dir: string): void {
    for (const entry of readdirSync(dir)) {
      if (entry !== 'state.json' && entry !== 'state.next')
        rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }

  /** Deletes a directory; an overlay mount inside it (a leftover) must not stop that. */
  private discardDirectory(dir: string): void {
    this.known.forget(dir);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Left for the next collection, which retries removed directories.
    }
  }

  private createDirectory(record: ContainerRecord): void {
    const staging = join(this.containersDir, `.new-${process.pid}-${record.id}`);
    const document: RecordDocument = { format: 1, record, outbox: null };
    try {
      writingTo(this.root, () => {
        mkdirSync(staging, { mode: 0o700 });
        for (const sub of ['upper', 'work', 'merged']) mkdirSync(join(staging, sub));
        const json = serializeDocument(document);
        createRecordFiles(staging, json);
        writeFileSync(join(staging, 'exit'), EXIT_FILE_SPACE, { mode: 0o600 });
        renameSync(staging, this.dir(record.id));
        this.known.remember(this.dir(record.id), json, document);
      });
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
  }

  private readAt(
    dir: string,
    id: string,
  ): { ok: true; document: RecordDocument } | { ok: false; corrupt: CorruptRecord } | null {
    let problem = '';
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      let text: string | null;
      try {
        text = readRecordFile(dir);
      } catch (error) {
        problem = `state.json cannot be read (${(error as Error).message})`;
        continue;
      }
      if (text === null) {
        if (!existsSync(dir)) return null;
        // Creation makes a directory whole before it appears: this one was damaged.
        problem = 'state.json is missing';
        break;
      }
      const json = text.trimEnd(); // a record file is padded (record-file.ts)
      const known = this.known.lookup(dir, json);
      if (known !== undefined) return { ok: true, document: known };
      const parsed = parseDocument(json, id);
      if (parsed.ok) {
        this.known.remember(dir, json, parsed.document);
        return { ok: true, document: parsed.document };
      }
      problem = parsed.problem;
    }
    return { ok: false, corrupt: { id, problem } };
  }

  private withNamesLock<T>(work: () => T): T {
    const lock = DirectoryLock.acquireOrFail(this.namesDir, 'the container names');
    if (lock === null) throw new Error(`${this.namesDir} is missing`);
    try {
      return work();
    } finally {
      lock.release();
    }
  }

  private releaseName(name: string, id: string): void {
    this.withNamesLock(() => {
      if (this.nameOwner(name) === id) unlinkSync(join(this.namesDir, name));
    });
  }

  /** The name whose link points at `id` (a corrupt record cannot tell its own). */
  private nameOf(id: string): string | null {
    for (const name of readdirSync(this.namesDir)) {
      if (!name.startsWith('.') && this.nameOwner(name) === id) return name;
    }
    return null;
  }

  private idsStartingWith(prefix: string): string[] {
    if (!/^[0-9a-f]{1,64}$/.test(prefix)) return [];
    return this.ids().filter((id) => id.startsWith(prefix));
  }

  private nameOwner(name: string): string | null {
    try {
      return readlinkSync(join(this.namesDir, name));
    } catch {
      return null;
    }
  }
}

function corruptError(corrupt: CorruptRecord): TockerError {
  return new TockerError(
    `container ${corrupt.id.slice(0, 12)} has a damaged record (${corrupt.problem}): rm -f removes it`,
  );
}
