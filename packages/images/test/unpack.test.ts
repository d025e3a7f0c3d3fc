import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { scratchDir } from '../../runtime/test/scratch.js';
import { endOfTar, type TarWriteEntry, tarEntryBytes } from '../src/tar.js';
import { unpackLayer } from '../src/unpack.js';

const work = scratchDir('unpack');
after(() => rmSync(work, { recursive: true, force: true }));

let layers = 0;
function layerOf(entries: TarWriteEntry[], trailer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([...entries.map(tarEntryBytes), endOfTar(), trailer]);
}

async function* inChunks(bytes: Buffer, size = 4096): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size)
    yield bytes.subarray(offset, offset + size);
}

async function unpack(entries: TarWriteEntry[]): Promise<string> {
  const target = join(work, `layer-${++layers}`);
  mkdirSync(target);
  await unpackLayer(inChunks(layerOf(entries)), target);
  return target;
}

const xattrHex = (path: string, name: string) =>
  execFileSync('getfattr', ['--absolute-names', '-e', 'hex', '-n', name, path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();

describe('unpacking a layer (real files, as root)', () => {
  test('files, modes, owners, links, devices, fifos, xattrs and times come out as the tar says', async () => {
    // A file capability as setcap writes it (VFS_CAP_REVISION_2, cap_net_bind_service).
    const capability = Buffer.from('0000000200040000000000000000000000000000', 'hex');
    const root = await unpack([
      { path: 'bin/', type: 'directory', mode: 0o755 },
      {
        path: 'bin/tool',
        type: 'file',
        mode: 0o4755,
        uid: 1000,
        gid: 1001,
        mtime: 1_700_000_000,
        body: Buffer.from('tool\n'),
        xattrs: new Map([
          ['security.capability', capability],
          ['user.note', Buffer.from([0, 0xff, 0x80])],
          ['trusted.overlay.redirect', Buffer.from('/etc')],
        ]),
      },
      { path: 'bin/same', type: 'hardlink', linkname: 'bin/tool' },
      { path: 'etc/passwd-link', type: 'symlink', linkname: '/etc/passwd', uid: 7, gid: 7 },
      { path: 'dev/null', type: 'char-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { path: 'run/pipe', type: 'fifo', mode: 0o600 },
      { path: 'private/', type: 'directory', mode: 0o500, mtime: 1_600_000_000 },
      { path: 'private/inside', type: 'file', mode: 0o400, body: Buffer.from('x') },
    ]);
    const tool = statSync(join(root, 'bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755, 'setuid kept (set after the owner)');
    assert.deepEqual([tool.uid, tool.gid, tool.mtimeMs / 1000], [1000, 1001, 1_700_000_000]);
    assert.equal(readFileSync(join(root, 'bin/tool'), 'utf8'), 'tool\n');
    assert.equal(statSync(join(root, 'bin/same')).ino, tool.ino, 'a hardlink is the same inode');
    assert.match(
      xattrHex(join(root, 'bin/tool'), 'security.capability'),
      /0x0000000200040000000000000000000000000000/,
    );
    assert.match(xattrHex(join(root, 'bin/tool'), 'user.note'), /0x00ff80/);
    assert.throws(
      () => xattrHex(join(root, 'bin/tool'), 'trusted.overlay.redirect'),
      'overlay xattrs are not taken from a layer',
    );
    assert.equal(readlinkSync(join(root, 'etc/passwd-link')), '/etc/passwd');
    assert.equal(lstatSync(join(root, 'etc/passwd-link')).uid, 7, "the link's own owner");
    const devNull = statSync(join(root, 'dev/null'));
    assert.ok(devNull.isCharacterDevice());
    assert.equal(devNull.rdev, (1 << 8) | 3);
    assert.ok(statSync(join(root, 'run/pipe')).isFIFO());
    const privateDir = statSync(join(root, 'private'));
    assert.equal(
      privateDir.mode & 0o7777,
      0o500,
      'a 0500 directory, filled before its mode was set',
    );
    assert.equal(privateDir.mtimeMs / 1000, 1_600_000_000, "its time set after its content's");
    assert.equal(statSync(join(root, 'bin')).mode & 0o7777, 0o755);
    assert.equal(statSync(join(root, 'etc')).mode & 0o7777, 0o755, 'a directory the tar skipped');
  });

  test("whiteouts become overlayfs's: a 0/0 character device, and an opaque directory's xattr", async () => {
    const root = await unpack([
      { path: 'etc/.wh.motd', type: 'file', body: Buffer.alloc(0) },
      { path: 'var/cache/.wh..wh..opq', type: 'file', body: Buffer.alloc(0) },
      { path: 'var/cache/fresh', type: 'file', body: Buffer.from('new') },
    ]);
    const whiteout = statSync(join(root, 'etc/motd'));
    assert.ok(whiteout.isCharacterDevice());
    assert.equal(whiteout.rdev, 0);
    assert.equal(existsSync(join(root, 'etc/.wh.motd')), false);
    assert.match(xattrHex(join(root, 'var/cache'), 'trusted.overlay.opaque'), /0x79/);
    assert.equal(existsSync(join(root, 'var/cache/.wh..wh..opq')), false);
    assert.equal(readFileSync(join(root, 'var/cache/fresh'), 'utf8'), 'new');
  });

  test('the diff id is the digest of every byte of the tar, padding after the end included', async () => {
    const bytes = layerOf(
      [{ path: 'a', type: 'file', body: Buffer.from('a') }],
      Buffer.alloc(10240),
    );
    const target = join(work, 'digest');
    mkdirSync(target);
    const unpacked = await unpackLayer(inChunks(bytes, 1000), target);
    assert.equal(unpacked.diffId, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    assert.equal(unpacked.bytes, bytes.length);
  });
});

describe('hostile layers write nothing outside their directory', () => {
  const outside = join(work, 'outside');
  mkdirSync(outside, { recursive: true });

  test('a path with .. is refused', async () => {
    await assert.rejects(
      unpack([
        { path: `../../${outside.split('/').pop()}/escape`, type: 'file', body: Buffer.from('x') },
      ]),
      /leads out of the layer/,
    );
    await assert.rejects(
      unpack([{ path: 'a/../../escape', type: 'file', body: Buffer.from('x') }]),
      /leads out of the layer/,
    );
    assert.equal(existsSync(join(work, 'escape')), false);
  });

  test('absolute paths and symlinks (absolute or relative) resolve inside the layer, never on the host', async () => {
    const root = await unpack([
      { path: `${outside}/absolute`, type: 'file', body: Buffer.from('abs') },
      { path: 'to-host', type: 'symlink', linkname: outside },
      { path: 'to-host/through-absolute-link', type: 'file', body: Buffer.from('x') },
      { path: 'up', type: 'symlink', linkname: '../../../../../../../../..' },
      { path: `up${outside}/through-relative-link`, type: 'file', body: Buffer.from('x') },
      { path: 'dir-link', type: 'symlink', linkname: '/' },
      { path: 'dir-link/etc/hostname', type: 'file', body: Buffer.from('mine') },
    ]);
    assert.deepEqual(
      execFileSync('ls', ['-A', outside]).toString(),
      '',
      'nothing reached the host directory',
    );
    assert.equal(readFileSync(join(root, outside, 'absolute'), 'utf8'), 'abs');
    assert.ok(existsSync(join(root, outside, 'through-absolute-link')));
    assert.ok(existsSync(join(root, outside, 'through-relative-link')));
    assert.equal(readFileSync(join(root, 'etc/hostname'), 'utf8'), 'mine');
    assert.notEqual(readFileSync('/etc/hostname', 'utf8'), 'mine');
  });

  test("a hardlink to the host's /etc/shadow is refused; one through a symlink stays inside", async () => {
    await assert.rejects(
      unpack([{ path: 'shadow', type: 'hardlink', linkname: '/etc/shadow' }]),
      /hardlink shadow to \/etc\/shadow: not in this layer/,
    );
    await assert.rejects(
      unpack([
        { path: 'etc', type: 'symlink', linkname: '/etc' },
        { path: 'shadow', type: 'hardlink', linkname: 'etc/shadow' },
      ]),
      /not in this layer/,
    );
    const root = await unpack([
      { path: 'etc/shadow', type: 'file', mode: 0o640, body: Buffer.from('layer-shadow') },
      { path: 'copy', type: 'hardlink', linkname: '/etc/shadow' },
    ]);
    assert.equal(readFileSync(join(root, 'copy'), 'utf8'), 'layer-shadow');
    assert.notEqual(statSync(join(root, 'copy')).ino, statSync('/etc/shadow').ino);
  });
});
