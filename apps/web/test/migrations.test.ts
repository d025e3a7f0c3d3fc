import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import { MIGRATIONS_DIR } from '../src/server/db.js';
import { migrate } from '../src/server/migrate.js';

const dir = scratchDir('web-migrations');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A database migrated up to (not including) `until`, as an older dashboard left it. */
function databaseBefore(until: string): string {
  const older = join(dir, `migrations-before-${until}`);
  mkdirSync(older);
  for (const name of readdirSync(MIGRATIONS_DIR).filter((entry) => entry < until))
    cpSync(join(MIGRATIONS_DIR, name), join(older, name), { recursive: true });
  const file = join(dir, `${until}.db`);
  migrate(file, older);
  return file;
}

test('agents that an older dashboard registered under one name get names of their own, and names are unique from then on', () => {
  const file = databaseBefore('20261130010000_unique_agent_names');
  const db = new Database(file);
  try {
    const add = db.prepare('INSERT INTO Agent (name, url, token) VALUES (?, ?, ?)');
    add.run('local', 'http://127.0.0.1:7070', 'sealed');
    add.run('local', 'http://127.0.0.1:7171', 'sealed');
    add.run('lab', 'http://10.0.0.5:7070', 'sealed');
    db.close();
    assert.equal(migrate(file, MIGRATIONS_DIR)[0], '20261130010000_unique_agent_names');
    const reopened = new Database(file);
    try {
      assert.deepEqual(reopened.prepare('SELECT name, url FROM Agent ORDER BY id').all(), [
        { name: 'local', url: 'http://127.0.0.1:7070' },
        { name: 'local-2', url: 'http://127.0.0.1:7171' },
        { name: 'lab', url: 'http://10.0.0.5:7070' },
      ]);
      assert.throws(
        () =>
          reopened
            .prepare('INSERT INTO Agent (name, url, token) VALUES (?, ?, ?)')
            .run('lab', 'http://10.0.0.6:7070', 'sealed'),
        /UNIQUE constraint failed: Agent.name/,
      );
    } finally {
      reopened.close();
    }
  } finally {
    if (db.open) db.close();
  }
});
