import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { TockerError } from '../errors.js';

/** Reading and writing the small text files of cgroupfs, and parsing their formats. */

export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** "EINVAL: invalid argument" out of Node's "EINVAL: invalid argument, write". */
export function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split(', ')[0] ?? message;
}

/** A write the kernel refused; `code` lets callers turn a known errno into a better message. */
export class CgroupWriteError extends TockerError {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    value: string,
    err: unknown,
  ) {
    super(`cannot write "${value}" to ${path}: ${describeError(err)}`);
  }
}

/** The file's text, or null when it does not exist (its controller is not there). */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * One write(2) per value: the kernel parses each write on its own. The flag creates the
 * file when missing, which only matters on a plain directory tree standing in for
 * cgroupfs (cgroupfs itself never lets a file be created).
 */
export function writeCgroupFile(path: string, value: string | number): void {
  const text = String(value);
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw new CgroupWriteError(path, errnoCode(err), text, err);
  }
}

/**
 * Writes each value with a write() of its own on one open file: the kernel takes one
 * entry per write (v1 device rules), and one open instead of one per entry.
 */
export function writeCgroupEntries(path: string, values: readonly string[]): void {
  let fd: number | undefined;
  let text = '';
  try {
    fd = openSync(path, 'w');
    for (text of values) writeSync(fd, text);
  } catch (err) {
    throw new CgroupWriteError(path, errnoCode(err), text, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function parseInteger(text: string, path: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new TockerError(`unexpected content in ${path}: "${text.trim()}"`);
  }
  return value;
}

export function readNumber(path: string): number | null {
  const text = readText(path);
  return text === null ? null : parseInteger(text, path);
}

/**
 * "max" (v2, and v1 pids.max) means unlimited; so does v1's page-rounded 2^63
 * (9223372036854771712), which no real limit comes near.
 */
export function parseLimit(text: string, path: string): number | null {
  if (text.trim() === 'max') return null;
  const value = parseInteger(text, path);
  return value > Number.MAX_SAFE_INTEGER ? null : value;
}

export function readLimit(path: string): number | null {
  const text = readText(path);
  return text === null ? null : parseLimit(text, path);
}

/** The value of one key in a flat-keyed file such as cpu.stat or memory.events. */
export function readKeyedNumber(path: string, key: string): number | null {
  const text = readText(path);
  if (text === null) return null;
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === key && value !== undefined) return parseInteger(value, path);
  }
  return null;
}

/** Space-separated names, as in cgroup.controllers and cgroup.subtree_control. */
export function readWords(path: string): string[] {
  return (readText(path) ?? '').split(/\s+/).filter((word) => word !== '');
}

/** cgroup.procs; a cgroup that is gone holds no processes. */
export function readPids(path: string): number[] {
  return readWords(path).map((word) => parseInteger(word, path));
}
