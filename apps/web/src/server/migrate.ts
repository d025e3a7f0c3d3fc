import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Applies prisma/migrations/<name>/migration.sql in name order, each once, each in a
 * transaction. Prisma's own `migrate deploy` would work too, but with the JS engine it
 * needs the whole CLI at run time; these are plain SQL files in the form
 * `prisma migrate diff` writes (its schema engine is a download this host cannot make,
 * so they are written by hand to match), and better-sqlite3 runs multi-statement scripts natively.
 */
export function migrate(databaseFile: string, migrationsDir: string): string[] {
  const db = new Database(databaseFile);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(
      'CREATE TABLE IF NOT EXISTS _tocker_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)',
    );
    const done = new Set(
      db.prepare('SELECT name FROM _tocker_migrations').pluck().all() as string[],
    );
    const pending = readdirSync(migrationsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !done.has(entry.name))
      .map((entry) => entry.name)
      .sort();
    for (const name of pending) {
      const sql = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8');
      db.transaction(() => {
        db.exec(sql);
        db.prepare('INSERT INTO _tocker_migrations (name) VALUES (?)').run(name);
      })();
    }
    return pending;
  } finally {
    db.close();
  }
}
