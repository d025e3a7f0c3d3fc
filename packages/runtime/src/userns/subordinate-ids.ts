import { readFileSync } from 'node:fs';
import { TockerError } from '../errors.js';

/** The user whose /etc/subuid and /etc/subgid entries hold the ids of tocker's containers. */
export const SUBORDINATE_OWNER = 'tocker';

/** How many ids each container's user namespace maps (docker's and podman's --userns=auto size). */
export const RANGE_SIZE = 65536;

/** One entry of /etc/subuid or /etc/subgid: `count` ids from `start`. */
export interface SubordinateRange {
  readonly start: number;
  readonly count: number;
}

/**
 * The owner's first entry of a subordinate-id file (shadow-utils' format: `name:start:count`,
 * one a line, `#` comments). A missing file or entry is the administrator's to fix: set-up
 * writes one.
 */
export function subordinateRange(file: string, owner = SUBORDINATE_OWNER): SubordinateRange {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new TockerError(
      `--userns=auto: ${file} does not exist (set-up adds "${owner}:1000000:65536000")`,
    );
  }
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== owner || start === undefined || count === undefined) continue;
    const range = { start: Number(start), count: Number(count) };
    if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.count) || range.start < 1)
      throw new TockerError(`${file}: the ${owner} entry is malformed: ${line.trim()}`);
    return range;
  }
  throw new TockerError(
    `--userns=auto: ${file} has no ${owner} entry (set-up adds "${owner}:1000000:65536000")`,
  );
}
