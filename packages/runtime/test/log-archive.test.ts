import assert from 'node:assert/strict';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogArchive } from '../src/state/logs.js';
import { scratchDir } from './scratch.js';

const dir = scratchDir('archive');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A container's log as the shim leaves it, written `hoursAgo`. */
function containerLog(id: string, text: string, hoursAgo = 0): string {
  const log = join(dir, 'containers', id, 'container.log');
  mkdirSync(join(dir, 'containers', id), { recursive: true });
  writeFileSync(log, text);
  const at = Date.now() / 1000 - hoursAgo * 3600;
  utimesSync(log, at, at);
  return log;
}

test('a log that fits is archived as the same file, dated at its removal; one that does not, as a copy of its tail', () => {
  const archive = new LogArchive(join(dir, 'fits'), { maxBytes: 8, maxFiles: 10 });
  const whole = containerLog('a'.repeat(64), 'short\n', 5);
  archive.keep('a'.repeat(64), whole);
  const kept = statSync(archive.path('a'.repeat(64)));
  assert.equal(kept.ino, statSync(whole).ino, 'a second name, no copy');
  assert.ok(Date.now() - kept.mtimeMs < 60_000, 'dated now, not when it was written');
  const long = containerLog('b'.repeat(64), '0123456789abcdef');
  archive.keep('b'.repeat(64), long);
  assert.notEqual(statSync(archive.path('b'.repeat(64))).ino, statSync(long).ino);
  assert.equal(readFileSync(archive.path('b'.repeat(64)), 'utf8'), '89abcdef');
});

test('once over its bound, the archive goes down to nine tenths of it, the oldest first', () => {
  const archive = new LogArchive(join(dir, 'bounded'), { maxFiles: 10 });
  const ids = Array.from({ length: 11 }, (_, n) => n.toString(16).repeat(64));
  // Removed in this order, an hour apart: the first is the oldest.
  ids.forEach((id, n) => {
    archive.keep(id, containerLog(id, `log ${n}\n`));
    const at = Date.now() / 1000 - (11 - n) * 3600;
    utimesSync(archive.path(id), at, at);
  });
  assert.deepEqual(
    readdirSync(join(dir, 'bounded')).sort(),
    ids
      .slice(2)
      .map((id) => `${id}.log`)
      .sort(),
    'the two oldest went',
  );
});
