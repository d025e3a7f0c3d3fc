import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TockerError } from '../src/errors.js';
import { mapText, UserNamespaceRanges } from '../src/userns/ranges.js';

const dir = mkdtempSync(join(tmpdir(), `tocker-userns-ranges-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A subordinate-id file of its own with `entries`, and ranges leased from it. */
function ranges(name: string, uidEntries: string, gidEntries = uidEntries): UserNamespaceRanges {
  const uid = join(dir, `${name}.subuid`);
  const gid = join(dir, `${name}.subgid`);
  writeFileSync(uid, uidEntries);
  writeFileSync(gid, gidEntries);
  return new UserNamespaceRanges(join(dir, name), { uid, gid });
}

describe('user-namespace ranges: leased from /etc/subuid and /etc/subgid', () => {
  test('one range per container, the same one again for it, the first free one for the next', () => {
    const store = ranges('basic', '# comment\nalice:100000:65536\ntocker:200000:196608\n');
    const a = store.lease('a');
    assert.deepEqual(a.uidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
    assert.deepEqual(store.lease('a'), a, 'a restart keeps its range');
    assert.equal(store.lease('b').uidMappings[0]?.hostID, 265536);
    assert.equal(store.lease('c').uidMappings[0]?.hostID, 331072);
    assert.throws(() => store.lease('d'), /all 3 user-namespace ranges are leased/);
    store.release('b');
    assert.equal(store.lease('d').uidMappings[0]?.hostID, 265536, 'reused once given back');
    store.releaseUnless((id) => id === 'a');
    assert.deepEqual(store.leases(), { 0: 'a' });
    assert.equal(mapText(a.uidMappings), '0 200000 65536\n');
  });

  test('uids and gids come from their own files; the smaller decides how many there are', () => {
    const store = ranges('split', 'tocker:300000:131072\n', 'tocker:400000:65536\n');
    const a = store.lease('a');
    assert.equal(a.uidMappings[0]?.hostID, 300000);
    assert.equal(a.gidMappings[0]?.hostID, 400000);
    assert.throws(() => store.lease('b'), /all 1 user-namespace ranges/);
  });

  test('a missing entry, a malformed one or too few ids is one clear error', () => {
    assert.throws(
      () => ranges('none', 'alice:100000:65536\n').lease('a'),
      (error: Error) => {
        assert.ok(error instanceof TockerError);
        assert.match(error.message, /has no tocker entry/);
        return true;
      },
    );
    assert.throws(() => ranges('bad', 'tocker:x:65536\n').lease('a'), /malformed/);
    assert.throws(() => ranges('small', 'tocker:100000:1000\n').lease('a'), /at least 65536/);
    const missing = new UserNamespaceRanges(join(dir, 'missing'), {
      uid: join(dir, 'no-such-subuid'),
      gid: join(dir, 'no-such-subgid'),
    });
    assert.throws(() => missing.lease('a'), /does not exist/);
    missing.releaseUnless(() => false); // nothing leased: nothing to do, no error
  });
});
