import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from '@prisma/client';
import { migrate } from './migrate.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const MIGRATIONS_DIR = join(repo, 'prisma', 'migrations');

/**
 * The dashboard's database, migrated. The path must be absolute: the adapter resolves a
 * relative one against the working directory, and creates a missing file silently.
 */
export function openDatabase(file: string): PrismaClient {
  const absolute = resolve(file);
  mkdirSync(dirname(absolute), { recursive: true, mode: 0o700 });
  migrate(absolute, MIGRATIONS_DIR);
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${absolute}` }) });
}
