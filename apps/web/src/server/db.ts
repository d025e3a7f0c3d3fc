import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '@prisma/client';
import { migrate } from './migrate.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const MIGRATIONS_DIR = join(repo, 'prisma', 'migrations');

/**
 * The dashboard's database, migrated. The path must be absolute: the adapter resolves a
 * relative one against the working directory, and creates a missing file silently. The
 * file is the owner's only (0600), wherever it is: SQLite gives its -wal and -shm files
 * the database's own mode.
 */
export function openDatabase(file: string): PrismaClient {
  const absolute = resolve(file);
  mkdirSync(dirname(absolute), { recursive: true, mode: 0o700 });
  closeSync(openSync(absolute, 'a', 0o600));
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    try {
      chmodSync(`${absolute}${suffix}`, 0o600);
    } catch {}
  }
  migrate(absolute, MIGRATIONS_DIR);
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${absolute}` }) });
}
