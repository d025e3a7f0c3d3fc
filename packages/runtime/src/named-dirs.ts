import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomHex } from './sys/builtins.js';

/**
 * Stores kept as one directory per name (volumes, networks): entries are made beside (a
 * dot-name) and renamed in, and renamed away before they are deleted, so a name never
 * stands for half an entry. Dot-names are those in-between states.
 */

/** The names in `dir`, the in-between dot-names aside. */
export function namesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((entry) => !entry.startsWith('.')) : [];
}

/** Deletes `dir/name`, renamed away first. */
export function discardNamed(dir: string, name: string): void {
  const doomed = join(dir, `.removed-${process.pid}-${randomHex(6)}`);
  renameSync(join(dir, name), doomed);
  rmSync(doomed, { recursive: true, force: true });
}
