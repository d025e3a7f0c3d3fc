import { TockerError } from '../errors.js';

/** ENOSPC, or EDQUOT under a quota: the state root cannot take another block. */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function stateRootFull(root: string): TockerError {
  return new TockerError(`TOCKER_ROOT is full (${root}): free some space and try again`);
}

/** Runs `write`, turning a full disk into the one error a user should see for it. */
export function writingTo<T>(root: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (isOutOfSpace(error)) throw stateRootFull(root);
    throw error;
  }
}
