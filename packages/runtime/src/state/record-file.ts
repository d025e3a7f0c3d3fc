import { closeSync, fstatSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { exchangePaths } from '../sys/libc.js';

/** The record everyone reads... */
export const RECORD_FILE = 'state.json';
/** ...and its twin: the previous version, overwritten in place by the next write. */
const SPARE_FILE = 'state.next';

const BLOCK = 4096;
const MIN_SLOT = 2 * BLOCK;

function slotSize(length: number): number {
  return Math.ceil(Math.max(MIN_SLOT, 2 * (length + 1)) / BLOCK) * BLOCK;
}

/** The document, padded with spaces (JSON ignores them) to exactly `size` bytes. */
function padded(json: string, size: number): Buffer {
  const bytes = Buffer.alloc(size, 0x20);
  bytes.write(json, 0, 'utf8');
  bytes[size - 1] = 0x0a;
  return bytes;
}

/**
 * A container's record is replaced without ever needing a free block, so that a full
 * disk cannot stop tocker from recording an exit. Both files are allocated at their full
 * size when the container is created; a write overwrites the spare in place and then
 * swaps the two names atomically (renameat2 RENAME_EXCHANGE). Readers only ever open
 * state.json, which is never written in place; a crash mid-write damages only the spare.
 * Filesystems without RENAME_EXCHANGE fall back to a temporary file and rename.
 */
export function createRecordFiles(dir: string, json: string): void {
  writeSlot(join(dir, RECORD_FILE), json);
  writeSlot(join(dir, SPARE_FILE), json);
}

export function writeRecordFile(dir: string, json: string): void {
  const spare = join(dir, SPARE_FILE);
  const current = join(dir, RECORD_FILE);
  writeSlot(spare, json);
  if (!exchangePaths(spare, current)) renameSync(spare, current); // the next write allocates a spare
}

/** Overwrites the file in place; only a missing or outgrown file makes it allocate. */
function writeSlot(path: string, json: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    fd = openSync(path, 'wx', 0o600);
  }
  try {
    const size = fstatSync(fd).size;
    const length = Buffer.byteLength(json);
    writeSync(fd, padded(json, length < size ? size : slotSize(length)), 0, undefined, 0);
  } finally {
    closeSync(fd);
  }
}

/** The current document's text; null when the directory has no record (yet, or any more). */
export function readRecordFile(dir: string): string | null {
  try {
    return readFileSync(join(dir, RECORD_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}
