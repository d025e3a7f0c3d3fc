import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { scratchDir } from '../../runtime/test/scratch.js';
import { endOfTar, readTar, type TarEntry, type TarWriteEntry, tarEntryBytes } from '../src/tar.js';
import {
  type Descriptor,
  diffIds,
  digestOf,
  dockerArchive,
  type FixtureImage,
  gzip,
  type ImageConfig,
  imageConfig,
  type LayoutOptions,
  layerTar,
  MEDIA_TYPES,
  ociArchive,
  REF_NAME_ANNOTATION,
  sha256Hex,
  writeOciLayout,
} from './fixtures.js';

const work = scratchDir('images-tar');
after(() => rmSync(work, { recursive: true, force: true }));

type ReadEntry = Omit<TarEntry, 'body'> & { readonly body: Buffer };

async function* inChunks(bytes: Buffer, sizes: number | readonly number[]): AsyncGenerator<Buffer> {
  const cycle = typeof sizes === 'number' ? [sizes] : sizes;
  for (let offset = 0, turn = 0; offset < bytes.length; turn++) {
    const size = cycle[turn % cycle.length] ?? 1;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function readAll(bytes: Buffer, chunkSizes: number | readonly number[] = 65536) {
  const entries: ReadEntry[] = [];
  for await (const { body, ...fields } of readTar(inChunks(bytes, chunkSizes))) {
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk);
    entries.push({ ...fields, body: Buffer.concat(parts) });
  }
  return entries;
}

/** What the reader must return for an entry written with every field it cares about. */
type ExplicitEntry = TarWriteEntry & { readonly mode: number };
function asRead(entry: ExplicitEntry): ReadEntry {
  const body = entry.body ?? Buffer.alloc(0);
  return {
    path: entry.path,
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size: body.length,
    mtime: entry.mtime ?? 0,
    linkname: entry.linkname ?? '',
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
    xattrs: entry.xattrs ?? new Map(),
    body,
  };
}

const HEADER = { size: 124, checksum: 148, typeflag: 156, magic: 257 } as const;
const GNU_MAGIC = 'ustar  \0';

/** A copy of the archive with one header changed and its checksum recomputed (by tar's rule,
 * or by the historical signed one). */
function patchHeader(
  archive: Buffer,
  at: number,
  patch: (header: Buffer) => void,
  checksum: 'unsigned' | 'signed' = 'unsigned',
): Buffer {
  const copy = Buffer.from(archive);
  const header = copy.subarray(at, at + 512);
  patch(header);
  header.fill(0x20, HEADER.checksum, HEADER.checksum + 8);
  let sum = 0;
  for (const byte of header) sum += checksum === 'signed' && byte > 0x7f ? byte - 256 : byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, HEADER.checksum, 'latin1');
  return copy;
}

/** A metadata entry ('x', 'g', 'L', 'K'...) that tarEntryBytes has no reason to write. */
function rawEntry(typeflag: string, body: Buffer, magic?: string): Buffer {
  return patchHeader(tarEntryBytes({ path: '././@LongLink', type: 'file', body }), 0, (header) => {
    header.write(typeflag, HEADER.typeflag, 'latin1');
    if (magic !== undefined) header.write(magic, HEADER.magic, 'latin1');
  });
}

// A file capability as setcap writes it (VFS_CAP_REVISION_2, cap_net_bind_service).
const capability = Buffer.from('0000000200040000000000000000000000000000', 'hex');
const notUtf8 = Buffer.from([0x00, 0xff, 0xc3, 0x28, 0x80, 0x00]);
const prefixedPath = `${'d'.repeat(80)}/${'e'.repeat(90)}`; // fits ustar's prefix and name
const longPath = `${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(100)}`; // does not

const sample: ExplicitEntry[] = [
  { path: 'root/', type: 'directory', mode: 0o1777, mtime: 1_700_000_000 },
  {
    path: 'root/setuid',
    type: 'file',
    mode: 0o4755,
    uid: 1000,
    gid: 1001,
    body: Buffer.from('#!'),
  },
  { path: 'root/setgid', type: 'file', mode: 0o2711, body: Buffer.alloc(513, 1) },
  { path: prefixedPath, type: 'file', mode: 0o644, body: Buffer.from('prefixed') },
  { path: longPath, type: 'file', mode: 0o600, body: Buffer.from('long') },
  { path: 'ünïcödé/文件', type: 'file', mode: 0o644 },
  { path: 'root/long-link', type: 'symlink', mode: 0o777, linkname: `${'../'.repeat(40)}target` },
  { path: '../escape', type: 'symlink', mode: 0o777, linkname: '/etc/passwd' },
  { path: '/absolute/file', type: 'file', mode: 0o644, body: Buffer.from('absolute') },
  { path: 'root/shadow', type: 'hardlink', mode: 0o640, linkname: '/etc/shadow' },
  { path: 'dev/null', type: 'char-device', mode: 0o666, devmajor: 1, devminor: 3 },
  { path: 'dev/sda', type: 'block-device', mode: 0o660, gid: 6, devmajor: 8, devminor: 0 },
  { path: 'run/fifo', type: 'fifo', mode: 0o620 },
  {
    path: 'root/xattrs',
    type: 'file',
    mode: 0o755,
    body: Buffer.from('capable'),
    xattrs: new Map([
      ['security.capability', capability],
      ['user.binary', notUtf8],
      ['user.empty', Buffer.alloc(0)],
    ]),
  },
  {
    path: 'root/big-ids',
    type: 'file',
    mode: 0o644,
    uid: 3_000_000_000,
    gid: 2_097_152,
    mtime: -1,
  },
  { path: 'root/fraction', type: 'file', mode: 0o644, mtime: 1_700_000_000.25 },
];
const sampleArchive = layerTar(sample);

describe('readTar reads what tarEntryBytes writes', () => {
  test('every entry type with its metadata: long paths and links, binary xattrs, setuid bits, devices, big numbers', async () => {
    assert.deepEqual(await readAll(sampleArchive), sample.map(asRead));
  });

  test('the writer keeps to ustar fields when they suffice: prefix split, PAX header, base-256', () => {
    const typeflagOf = (entry: ExplicitEntry) =>
      String.fromCharCode(tarEntryBytes(entry)[HEADER.typeflag] ?? 0);
    const byPath = (path: string) => sample.find((entry) => entry.path === path) as ExplicitEntry;
    assert.equal(typeflagOf(byPath(prefixedPath)), '0');
    assert.equal(typeflagOf(byPath(longPath)), 'x');
    assert.equal(typeflagOf(byPath('root/long-link')), 'x');
    assert.equal(typeflagOf(byPath('root/xattrs')), 'x');
    assert.equal(typeflagOf(byPath('root/fraction')), 'x');
    const bigIds = tarEntryBytes(byPath('root/big-ids'));
    assert.equal(String.fromCharCode(bigIds[HEADER.typeflag] ?? 0), '0');
    assert.deepEqual([bigIds[108], bigIds[116], bigIds[136]], [0x80, 0x80, 0xff]);
  });

  test('input in chunks of any size, down to one byte at a time, gives the same entries', async () => {
    const expected = sample.map(asRead);
    assert.deepEqual(await readAll(sampleArchive, 1), expected);
    assert.deepEqual(await readAll(sampleArchive, [1, 7, 511, 512, 513, 3000, 1 << 20]), expected);
  });

  test('a 3 MB body streams in the input chunks, before the rest of the archive has arrived', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 123);
    const archive = layerTar([
      { path: 'big.bin', type: 'file', body: big },
      { path: 'after', type: 'file', body: Buffer.from('after') },
    ]);
    let arrived = 0;
    async function* counted() {
      for await (const chunk of inChunks(archive, 65536)) {
        arrived += chunk.length;
        yield chunk;
      }
    }
    const hash = createHash('sha256');
    const chunkSizes: number[] = [];
    let arrivedAtFirstChunk = 0;
    const paths: string[] = [];
    for await (const entry of readTar(counted())) {
      paths.push(entry.path);
      if (entry.path !== 'big.bin') continue;
      assert.equal(entry.size, big.length);
      for await (const chunk of entry.body) {
        if (chunkSizes.length === 0) arrivedAtFirstChunk = arrived;
        chunkSizes.push(chunk.length);
        hash.update(chunk);
      }
    }
    assert.deepEqual(paths, ['big.bin', 'after']);
    assert.equal(hash.digest('hex'), sha256Hex(big));
    assert.ok(chunkSizes.length >= 48, `${chunkSizes.length} chunks`);
    assert.ok(Math.max(...chunkSizes) <= 65536);
    assert.equal(arrivedAtFirstChunk, 65536);
  });

  test('bodies left unread, or read in part, are skipped', async () => {
    const archive = layerTar([
      { path: 'unread', type: 'file', body: randomBytes(1000) },
      { path: 'partly-read', type: 'file', body: randomBytes(100_000) },
      { path: 'last', type: 'file', body: Buffer.from('last') },
    ]);
    const seen: string[] = [];
    for await (const entry of readTar(inChunks(archive, 4096))) {
      seen.push(entry.path);
      if (entry.path === 'partly-read')
        for await (const chunk of entry.body) {
          // The rest of the input's first chunk, after two headers and the first body.
          assert.equal(chunk.length, 4096 - 512 - 1024 - 512);
          break;
        }
      if (entry.path === 'last')
        for await (const chunk of entry.body) assert.equal(chunk.toString(), 'last');
    }
    assert.deepEqual(seen, ['unread', 'partly-read', 'last']);
  });

  test('a body can be read once, and not after the next entry', async () => {
    const archive = layerTar([
      { path: 'first', type: 'file', body: randomBytes(1000) },
      { path: 'second', type: 'file', body: randomBytes(10) },
    ]);
    const entries = readTar(inChunks(archive, 100));
    const first = (await entries.next()).value as TarEntry;
    await first.body[Symbol.asyncIterator]().next();
    await assert.rejects(first.body[Symbol.asyncIterator]().next(), {
      message: 'tar: the body of first can be read only once',
    });
    const second = (await entries.next()).value as TarEntry;
    assert.equal(second.path, 'second');
    await assert.rejects(first.body[Symbol.asyncIterator]().next());
    const late = readTar(inChunks(archive, 100));
    const unread = (await late.next()).value as TarEntry;
    await late.next();
    await assert.rejects(unread.body[Symbol.asyncIterator]().next(), {
      message: 'tar: the body of first was read after the next entry',
    });
  });

  test('a base-256 size field', async () => {
    const body = randomBytes(1000);
    const archive = patchHeader(layerTar([{ path: 'f', type: 'file', body }]), 0, (header) => {
      header.fill(0, HEADER.size, HEADER.size + 12);
      header[HEADER.size] = 0x80;
      header.writeUInt16BE(1000, HEADER.size + 10);
    });
    const [entry] = await readAll(archive);
    assert.equal(entry?.size, 1000);
    assert.deepEqual(entry?.body, body);
  });

  test('a global PAX header applies to the entries after it; a local one overrides it; an empty value cancels it', async () => {
    const archive = Buffer.concat([
      rawEntry(
        'g',
        Buffer.from('14 uid=424242\n20 mtime=1600000000\n35 SCHILY.xattr.user.origin=global\n'),
      ),
      tarEntryBytes({ path: 'first', type: 'file' }),
      tarEntryBytes({
        path: 'second',
        type: 'file',
        xattrs: new Map([['user.origin', Buffer.from('local')]]),
      }),
      rawEntry('g', Buffer.from('7 uid=\n')),
      tarEntryBytes({ path: 'third', type: 'file', uid: 5 }),
      endOfTar(),
    ]);
    const entries = await readAll(archive);
    assert.deepEqual(
      entries.map(({ path, uid, mtime, xattrs }) => ({
        path,
        uid,
        mtime,
        origin: xattrs.get('user.origin')?.toString(),
      })),
      [
        { path: 'first', uid: 424242, mtime: 1_600_000_000, origin: 'global' },
        { path: 'second', uid: 424242, mtime: 1_600_000_000, origin: 'local' },
        { path: 'third', uid: 5, mtime: 1_600_000_000, origin: 'global' },
      ],
    );
  });

  test('GNU long names (L) and long link names (K), built by hand, apply to the next entry only', async () => {
    const longName = `${'n'.repeat(150)}/${'m'.repeat(150)}`;
    const longTarget = 't'.repeat(200);
    const archive = Buffer.concat([
      rawEntry('L', Buffer.from(`${longName}\0`), GNU_MAGIC),
      rawEntry('K', Buffer.from(`${longTarget}\0`), GNU_MAGIC),
      patchHeader(
        tarEntryBytes({ path: longName.slice(0, 100), type: 'symlink', linkname: 'short' }),
        0,
        (header) => header.write(GNU_MAGIC, HEADER.magic, 'latin1'),
      ),
      tarEntryBytes({ path: 'next', type: 'file' }),
      endOfTar(),
    ]);
    const entries = await readAll(archive);
    assert.deepEqual(
      entries.map(({ path, type, linkname }) => ({ path, type, linkname })),
      [
        { path: longName, type: 'symlink', linkname: longTarget },
        { path: 'next', type: 'file', linkname: '' },
      ],
    );
  });

  test("libarchive's xattr records: percent-encoded names, base64 values", async () => {
    const archive = Buffer.concat([
      rawEntry('x', Buffer.from('36 LIBARCHIVE.xattr.user.a%20b=AP8A\n')),
      tarEntryBytes({ path: 'f', type: 'file' }),
      endOfTar(),
    ]);
    const [entry] = await readAll(archive);
    assert.deepEqual(entry?.xattrs, new Map([['user.a b', Buffer.from([0, 0xff, 0])]]));
  });

  test("old typeflags: '\\0' and '7' are files, a file path ending in '/' is a directory, v7 headers", async () => {
    const body = Buffer.from('body');
    const archive = Buffer.concat([
      patchHeader(tarEntryBytes({ path: 'old-dir/', type: 'file' }), 0, (header) => {
        header[HEADER.typeflag] = 0;
      }),
      patchHeader(tarEntryBytes({ path: 'contiguous', type: 'file', body }), 0, (header) =>
        header.write('7', HEADER.typeflag, 'latin1'),
      ),
      patchHeader(tarEntryBytes({ path: 'v7', type: 'file', body }), 0, (header) => {
        header[HEADER.typeflag] = 0;
        header.fill(0, HEADER.magic, HEADER.magic + 8);
      }),
      endOfTar(),
    ]);
    const entries = await readAll(archive);
    assert.deepEqual(
      entries.map(({ path, type, body }) => ({ path, type, body: body.toString() })),
      [
        { path: 'old-dir/', type: 'directory', body: '' },
        { path: 'contiguous', type: 'file', body: 'body' },
        { path: 'v7', type: 'file', body: 'body' },
      ],
    );
  });

  test('a checksum computed the historical (signed) way is accepted', async () => {
    const archive = layerTar([{ path: 'é', type: 'file' }]);
    const signed = patchHeader(archive, 0, () => {}, 'signed');
    assert.notDeepEqual(signed.subarray(0, 512), archive.subarray(0, 512));
    assert.equal((await readAll(signed))[0]?.path, 'é');
  });

  test('archives end at two zero blocks, at one, or at a block boundary; what follows is read and ignored', async () => {
    const entries = Buffer.concat(sample.slice(0, 3).map(tarEntryBytes));
    const paths = sample.slice(0, 3).map((entry) => entry.path);
    for (const ending of [Buffer.alloc(0), Buffer.alloc(512), endOfTar()])
      assert.deepEqual(
        (await readAll(Buffer.concat([entries, ending]))).map((entry) => entry.path),
        paths,
      );
    const padded = Buffer.concat([entries, endOfTar(), Buffer.alloc(9000), Buffer.from('junk')]);
    let arrived = 0;
    async function* counted() {
      for await (const chunk of inChunks(padded, 512)) {
        arrived += chunk.length;
        yield chunk;
      }
    }
    for await (const _ of readTar(counted()));
    assert.equal(arrived, padded.length);
  });

  test('stopping early closes the input', async () => {
    let closed = false;
    async function* input() {
      try {
        yield* inChunks(sampleArchive, 512);
      } finally {
        closed = true;
      }
    }
    for await (const _ of readTar(input())) break;
    assert.equal(closed, true);
  });
});

describe('readTar refuses what it cannot read faithfully', () => {
  const two = layerTar([
    { path: 'first', type: 'file', body: Buffer.from('0123456789') },
    { path: 'big.bin', type: 'file', body: randomBytes(100_000) },
  ]);

  test('a bad header checksum, with its offset', async () => {
    const corrupt = Buffer.from(two);
    corrupt[1024] = 'x'.charCodeAt(0);
    await assert.rejects(readAll(corrupt), { message: 'tar: bad header checksum at byte 1024' });
  });

  test('an archive that ends in a header, a body (read or skipped) or its padding', async () => {
    await assert.rejects(readAll(two.subarray(0, 1024 + 100)), {
      message: 'tar: the archive ends in the middle of a header',
    });
    await assert.rejects(readAll(two.subarray(0, 50_000)), {
      message: 'tar: the archive ends in the middle of the body of big.bin',
    });
    await assert.rejects(
      (async () => {
        for await (const _ of readTar(inChunks(two.subarray(0, 50_000), 4096)));
      })(),
      { message: 'tar: the archive ends in the middle of the body of big.bin' },
    );
    await assert.rejects(readAll(two.subarray(0, 512 + 10 + 5)), {
      message: 'tar: the archive ends in the middle of the padding after first',
    });
    await assert.rejects(readAll(Buffer.concat([two.subarray(0, 1024), Buffer.alloc(700)])), {
      message: 'tar: the archive ends in the middle of the end-of-archive marker',
    });
  });

  test('unsupported entry types, named with their path', async () => {
    const typed = (typeflag: string) =>
      Buffer.concat([
        patchHeader(tarEntryBytes({ path: 'odd', type: 'file' }), 0, (header) =>
          header.write(typeflag, HEADER.typeflag, 'latin1'),
        ),
        endOfTar(),
      ]);
    await assert.rejects(readAll(typed('V')), {
      message: "tar: unsupported entry type 'V' (GNU volume label) for odd",
    });
    await assert.rejects(readAll(typed('S')), {
      message: "tar: unsupported entry type 'S' (GNU sparse file) for odd",
    });
    await assert.rejects(readAll(typed('Z')), {
      message: "tar: unsupported entry type 'Z' for odd",
    });
  });

  test('malformed or dangerous extended headers', async () => {
    const withPax = (records: string) =>
      Buffer.concat([
        rawEntry('x', Buffer.from(records)),
        tarEntryBytes({ path: 'f', type: 'file' }),
        endOfTar(),
      ]);
    await assert.rejects(readAll(withPax('99 path=x\n')), {
      message: 'tar: malformed PAX record in the header at byte 0',
    });
    await assert.rejects(readAll(withPax('9 path=xy\n')), /malformed PAX record/);
    await assert.rejects(readAll(withPax('12 path=a\0b\n')), {
      message: 'tar: invalid PAX path for the entry at byte 1024',
    });
    await assert.rejects(readAll(withPax('11 size=-1\n')), /invalid PAX size/);
    await assert.rejects(
      readAll(withPax('22 GNU.sparse.major=1\n')),
      /sparse files are not supported/,
    );
    await assert.rejects(
      readAll(Buffer.concat([rawEntry('x', Buffer.from('9 path=x\n')), endOfTar()])),
      { message: 'tar: the extended header at byte 0 has no entry' },
    );
    const huge = patchHeader(rawEntry('x', Buffer.from('9 path=x\n')), 0, (header) =>
      header.write(`${(2 << 20).toString(8).padStart(11, '0')}\0`, HEADER.size, 'latin1'),
    );
    await assert.rejects(readAll(Buffer.concat([huge, Buffer.alloc(2 << 20)])), /is too large/);
  });

  test('a zero block followed by data', async () => {
    const lone = Buffer.concat([Buffer.alloc(512), tarEntryBytes({ path: 'f', type: 'file' })]);
    await assert.rejects(readAll(lone), { message: 'tar: a lone zero block at byte 0' });
  });
});

const typeLetters: Record<TarEntry['type'], string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  hardlink: 'h',
  'char-device': 'c',
  'block-device': 'b',
  fifo: 'p',
};

function permissions(mode: number): string {
  const letters = [...'rwxrwxrwx'].map((letter, bit) => (mode & (0o400 >> bit) ? letter : '-'));
  for (const [bit, at, letter] of [
    [0o4000, 2, 's'],
    [0o2000, 5, 's'],
    [0o1000, 8, 't'],
  ] as const)
    if (mode & bit) letters[at] = letters[at] === 'x' ? letter : letter.toUpperCase();
  return letters.join('');
}

/** An entry as `tar --numeric-owner --full-time -tv` lists it (in UTC, spaces squeezed). */
function listingLine(entry: Omit<TarEntry, 'body'>): string {
  const isDevice = entry.type === 'char-device' || entry.type === 'block-device';
  const size = isDevice ? `${entry.devmajor},${entry.devminor}` : String(entry.size);
  const time = new Date(Math.floor(entry.mtime) * 1000)
    .toISOString()
    .replace('T', ' ')
    .slice(0, 19);
  const link =
    entry.type === 'symlink'
      ? ` -> ${entry.linkname}`
      : entry.type === 'hardlink'
        ? ` link to ${entry.linkname}`
        : '';
  return `${typeLetters[entry.type]}${permissions(entry.mode)} ${entry.uid}/${entry.gid} ${size} ${time} ${entry.path}${link}`;
}

function gnuTarListing(archive: string): string[] {
  const listing = execFileSync(
    'tar',
    ['--numeric-owner', '--full-time', '--absolute-names', '-tvf', archive],
    { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' }, encoding: 'utf8' },
  );
  return listing
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/ +/g, ' '));
}

describe('cross-checks with GNU tar', () => {
  const source = join(work, 'gnu-source');
  const longDirectory = `${'l'.repeat(100)}/${'o'.repeat(100)}`;
  const binaryXattr = Buffer.from([0x00, 0xff, 0x00]);
  mkdirSync(join(source, longDirectory), { recursive: true });
  mkdirSync(join(source, 'sticky'));
  chmodSync(join(source, 'sticky'), 0o1777);
  writeFileSync(join(source, 'file.txt'), 'hello\n');
  chmodSync(join(source, 'file.txt'), 0o4755);
  writeFileSync(join(source, longDirectory, `${'g'.repeat(100)}.bin`), randomBytes(200_000));
  symlinkSync('x'.repeat(150), join(source, 'dangling-long-link'));
  symlinkSync('file.txt', join(source, 'link'));
  linkSync(join(source, 'file.txt'), join(source, 'hard'));
  execFileSync('mkfifo', [join(source, 'fifo')]);
  // A binary xattr value needs setfattr and a file system with user xattrs.
  const hasXattr =
    spawnSync('setfattr', ['-n', 'user.test', '-v', '0sAP8A', join(source, 'file.txt')]).status ===
    0;
  const everything = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((path) => join(dir, path));
  // Deepest first, so that a directory's time is set after its content is.
  for (const path of [...everything(source).reverse(), source])
    lutimesSync(path, 1_700_000_000, 1_700_000_000);

  for (const format of ['pax', 'gnu'] as const)
    test(`reads what GNU tar --format=${format} writes as tar -tv lists it${format === 'pax' ? ', with a binary xattr' : ''}`, async (t) => {
      const archive = join(work, `gnu-${format}.tar`);
      const xattrs = format === 'pax' && hasXattr;
      if (format === 'pax' && !hasXattr)
        t.diagnostic('no setfattr or no user xattrs here: checked without');
      execFileSync('tar', [
        `--format=${format}`,
        ...(xattrs ? ['--xattrs'] : []),
        '-cf',
        archive,
        '-C',
        source,
        '.',
      ]);
      const entries = await readAll(readFileSync(archive));
      assert.deepEqual(entries.map(listingLine), gnuTarListing(archive));
      for (const entry of entries)
        if (entry.type === 'file')
          assert.deepEqual(entry.body, readFileSync(join(source, entry.path)));
      const file = entries.find((entry) => entry.path === './file.txt');
      assert.deepEqual(file?.xattrs.get('user.test'), xattrs ? binaryXattr : undefined);
      assert.ok(entries.some((entry) => entry.path.length > 300));
      assert.ok(entries.some((entry) => entry.linkname.length === 150));
    });

  test('GNU tar lists what tarEntryBytes writes, and extracts its modes and binary xattrs', (t) => {
    const archive = join(work, 'ours.tar');
    writeFileSync(archive, sampleArchive);
    // GNU tar lists a fractional time with its fraction.
    const listed = sample.map((entry) =>
      listingLine(asRead(entry)).replace(' 22:13:20 root/fraction', ' 22:13:20.25 root/fraction'),
    );
    assert.deepEqual(gnuTarListing(archive), listed);

    const benign = ['root/setuid', 'root/xattrs', prefixedPath, longPath];
    const target = join(work, 'extracted');
    mkdirSync(target);
    const xattrOptions = hasXattr ? ['--xattrs', '--xattrs-include=*'] : [];
    execFileSync('tar', [...xattrOptions, '-xf', archive, '-C', target, ...benign]);
    assert.equal(lstatSync(join(target, 'root/setuid')).mode & 0o7777, 0o4755);
    assert.equal(readFileSync(join(target, longPath), 'utf8'), 'long');
    assert.equal(readFileSync(join(target, prefixedPath), 'utf8'), 'prefixed');
    if (!hasXattr) return t.diagnostic('no setfattr or no user xattrs here: xattrs not checked');
    const xattr = (name: string) =>
      execFileSync('getfattr', [
        '--absolute-names',
        '--only-values',
        '-n',
        name,
        join(target, 'root/xattrs'),
      ]);
    assert.deepEqual(xattr('user.binary'), notUtf8);
    assert.deepEqual(xattr('security.capability'), capability);
  });
});

// ---------------------------------------------------------------------------------------------
// Image fixtures

function blob(dir: string, descriptor: Descriptor): Buffer {
  const bytes = readFileSync(
    join(dir, 'blobs', 'sha256', descriptor.digest.slice('sha256:'.length)),
  );
  assert.equal(bytes.length, descriptor.size, `the size of ${descriptor.digest}`);
  assert.equal(digestOf(bytes), descriptor.digest, 'a blob is named after its digest');
  return bytes;
}

function jsonBlob<T>(dir: string, descriptor: Descriptor): T {
  return JSON.parse(blob(dir, descriptor).toString());
}

interface Manifest {
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

interface Index {
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

/** Checks, by hand, an image of a layout: its blobs and its config's diff_ids. */
function checkImage(
  dir: string,
  descriptor: Descriptor,
): { manifest: Manifest; config: ImageConfig } {
  const manifest = jsonBlob<Manifest>(dir, descriptor);
  assert.equal(manifest.mediaType, descriptor.mediaType);
  const config = jsonBlob<ImageConfig>(dir, manifest.config);
  const layers = manifest.layers.map((layer) => blob(dir, layer));
  assert.deepEqual(config.rootfs.diff_ids, diffIds(layers), 'diff_ids are the uncompressed layers');
  return { manifest, config };
}

function checkLayout(dir: string): Index {
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')), {
    imageLayoutVersion: '1.0.0',
  });
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
}

const rootfs = layerTar([
  { path: 'etc/', type: 'directory', mode: 0o755 },
  { path: 'etc/hello', type: 'file', mode: 0o644, body: Buffer.from('hello\n') },
]);
const tools = layerTar([
  { path: 'bin/', type: 'directory', mode: 0o755 },
  { path: 'bin/tool', type: 'file', mode: 0o4755, body: Buffer.from('#!/bin/sh\n') },
]);
const amd64: FixtureImage = {
  layers: [gzip(rootfs), tools],
  config: imageConfig(
    {
      entrypoint: ['/bin/tool'],
      cmd: ['--help'],
      env: ['PATH=/bin'],
      workingDir: '/srv',
      user: '1000:1000',
      exposedPorts: ['8080/tcp'],
      stopSignal: 'SIGQUIT',
      labels: { 'org.example': 'yes' },
    },
    diffIds([gzip(rootfs), tools]),
  ),
};
const armLayers = [gzip(layerTar([{ path: 'arch', type: 'file', body: Buffer.from('arm64\n') }]))];
const arm64: FixtureImage = {
  layers: armLayers,
  config: { ...imageConfig({}, diffIds(armLayers)), architecture: 'arm64', variant: 'v8' },
};

function layout(name: string, images: FixtureImage | FixtureImage[], options: LayoutOptions) {
  const dir = join(work, name);
  return { dir, target: writeOciLayout(dir, images, options) };
}

describe('image fixtures', () => {
  const oci = layout('oci', amd64, { tags: ['latest', 'v1'] });
  const docker = layout('docker', amd64, { tags: ['latest'], mediaTypes: 'docker' });
  const multi = layout('multi', [amd64, arm64], { tags: ['latest'] });
  const multiDocker = layout('multi-docker', [amd64, arm64], { mediaTypes: 'docker' });
  const wrongDiffIds = layout(
    'wrong-diff-ids',
    { layers: amd64.layers, config: imageConfig({}, diffIds([tools, rootfs])) },
    { tags: ['latest'] },
  );

  test('an OCI image layout: tags in index.json, blobs and diff_ids (checked by hand), the config', () => {
    const index = checkLayout(oci.dir);
    assert.deepEqual(index.manifests, [
      { ...oci.target, annotations: { [REF_NAME_ANNOTATION]: 'latest' } },
      { ...oci.target, annotations: { [REF_NAME_ANNOTATION]: 'v1' } },
    ]);
    const { manifest, config } = checkImage(oci.dir, oci.target);
    assert.equal(manifest.mediaType, MEDIA_TYPES.oci.manifest);
    assert.equal(manifest.config.mediaType, MEDIA_TYPES.oci.config);
    assert.deepEqual(
      manifest.layers.map((layer) => layer.mediaType),
      [MEDIA_TYPES.oci.gzipLayer, MEDIA_TYPES.oci.layer],
    );
    assert.deepEqual(config.rootfs.diff_ids, [digestOf(rootfs), digestOf(tools)]);
    assert.deepEqual(
      { os: config.os, architecture: config.architecture, ...config.config },
      {
        os: 'linux',
        architecture: 'amd64',
        Entrypoint: ['/bin/tool'],
        Cmd: ['--help'],
        Env: ['PATH=/bin'],
        WorkingDir: '/srv',
        User: '1000:1000',
        ExposedPorts: { '8080/tcp': {} },
        StopSignal: 'SIGQUIT',
        Labels: { 'org.example': 'yes' },
      },
    );
  });

  test('a Docker schema 2 image in a layout (checked by hand)', () => {
    assert.equal(checkLayout(docker.dir).manifests[0]?.digest, docker.target.digest);
    const { manifest } = checkImage(docker.dir, docker.target);
    assert.equal(manifest.mediaType, MEDIA_TYPES.docker.manifest);
    assert.equal(manifest.config.mediaType, MEDIA_TYPES.docker.config);
    assert.deepEqual(
      manifest.layers.map((layer) => layer.mediaType),
      [MEDIA_TYPES.docker.gzipLayer, MEDIA_TYPES.docker.layer],
    );
  });

  for (const { flavour, written } of [
    { flavour: 'oci', written: multi },
    { flavour: 'docker', written: multiDocker },
  ] as const)
    test(`a multi-platform ${flavour} index: amd64, arm64/v8 and their attestation manifests (checked by hand)`, () => {
      assert.equal(checkLayout(written.dir).manifests[0]?.digest, written.target.digest);
      const index = jsonBlob<Index>(written.dir, written.target);
      assert.equal(index.mediaType, MEDIA_TYPES[flavour].index);
      const images = index.manifests.filter((entry) => entry.platform?.os !== 'unknown');
      assert.deepEqual(
        images.map((entry) => entry.platform),
        [
          { os: 'linux', architecture: 'amd64' },
          { os: 'linux', architecture: 'arm64', variant: 'v8' },
        ],
      );
      const configs = images.map((entry) => checkImage(written.dir, entry).config);
      assert.deepEqual(
        configs.map((config) => config.architecture),
        ['amd64', 'arm64'],
      );
      const attestations = index.manifests.filter((entry) => entry.platform?.os === 'unknown');
      assert.deepEqual(
        attestations.map((entry) => entry.annotations),
        images.map((entry) => ({
          'vnd.docker.reference.digest': entry.digest,
          'vnd.docker.reference.type': 'attestation-manifest',
        })),
      );
      for (const attestation of attestations) checkImage(written.dir, attestation);
    });

  test('a config with wrong diff_ids is written as asked (and the check by hand sees it)', () => {
    assert.throws(
      () => checkImage(wrongDiffIds.dir, wrongDiffIds.target),
      /^AssertionError.*: diff_ids are the uncompressed layers/,
    );
  });

  test('skopeo inspects the layouts and copies them, verifying every blob', () => {
    const inspect = (...args: string[]) =>
      JSON.parse(execFileSync('skopeo', ['inspect', ...args], { encoding: 'utf8' }));
    const amd64Digests = jsonBlob<Manifest>(oci.dir, oci.target).layers.map(
      (layer) => layer.digest,
    );
    const inspected = inspect(`oci:${oci.dir}:v1`);
    assert.deepEqual(
      {
        digest: inspected.Digest,
        architecture: inspected.Architecture,
        layers: inspected.Layers,
        env: inspected.Env,
      },
      {
        digest: oci.target.digest,
        architecture: 'amd64',
        layers: amd64Digests,
        env: ['PATH=/bin'],
      },
    );
    const platform = (architecture: string) => [
      '--override-os',
      'linux',
      '--override-arch',
      architecture,
    ];
    assert.deepEqual(inspect(...platform('amd64'), `oci:${multi.dir}:latest`).Layers, amd64Digests);
    assert.equal(inspect(...platform('arm64'), `oci:${multi.dir}:latest`).Architecture, 'arm64');
    // skopeo 1.9 looks tags up only among OCI media types: these are read untagged.
    assert.equal(inspect(`oci:${docker.dir}`).Digest, docker.target.digest);
    assert.equal(inspect(...platform('arm64'), `oci:${multiDocker.dir}`).Architecture, 'arm64');
    for (const [name, written] of [
      ['oci', oci],
      ['multi', multi],
    ] as const)
      execFileSync('skopeo', [
        '--insecure-policy',
        'copy',
        '--all',
        `oci:${written.dir}:latest`,
        `oci:${join(work, `copy-${name}`)}:latest`,
      ]);
  });

  test('umoci unpacks the OCI layout (it checks digests and diff_ids) and refuses wrong diff_ids', () => {
    const bundle = join(work, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${oci.dir}:latest`, bundle]);
    assert.equal(readFileSync(join(bundle, 'rootfs/etc/hello'), 'utf8'), 'hello\n');
    assert.equal(lstatSync(join(bundle, 'rootfs/bin/tool')).mode & 0o7777, 0o4755);
    const refused = spawnSync(
      'umoci',
      ['unpack', '--image', `${wrongDiffIds.dir}:latest`, join(work, 'refused')],
      { encoding: 'utf8' },
    );
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /diffid mismatch/);
  });

  test('ociArchive: a tar of the layout whose blobs match their names', async (_t) => {
    const archive = ociArchive(multi.dir);
    const entries = await readAll(archive);
    const files = entries.filter((entry) => entry.type === 'file');
    assert.deepEqual(
      files.map((entry) => entry.path).sort(),
      readdirSync(multi.dir, { recursive: true, encoding: 'utf8' })
        .filter((path) => !lstatSync(join(multi.dir, path)).isDirectory())
        .sort(),
    );
    for (const entry of files)
      if (entry.path.startsWith('blobs/sha256/'))
        assert.equal(`blobs/sha256/${sha256Hex(entry.body)}`, entry.path);
    const path = join(work, 'oci-archive.tar');
    writeFileSync(path, archive);
    assert.ok(execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).includes('index.json\n'));
    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${path}:latest`], {
        encoding: 'utf8',
      }),
    );
    assert.equal(inspected.mediaType, MEDIA_TYPES.oci.index);
  });

  test('dockerArchive: the classic docker save format, its layer.tar digests are the diff_ids', async (_t) => {
    const layers = [rootfs, tools];
    const config = imageConfig({ cmd: ['sh'] }, diffIds(layers));
    const archive = dockerArchive({
      layers,
      config,
      repoTags: ['example.com/app:1.0', 'example.com/app:latest'],
    });
    const files = new Map((await readAll(archive)).map((entry) => [entry.path, entry.body]));
    const [manifest, ...others] = JSON.parse(files.get('manifest.json')?.toString() ?? '[]');
    assert.equal(others.length, 0);
    assert.deepEqual(manifest.RepoTags, ['example.com/app:1.0', 'example.com/app:latest']);
    const configBytes = files.get(manifest.Config) as Buffer;
    assert.equal(`${sha256Hex(configBytes)}.json`, manifest.Config);
    assert.deepEqual(JSON.parse(configBytes.toString()), config);
    assert.deepEqual(
      manifest.Layers.map((path: string) => digestOf(files.get(path) as Buffer)),
      config.rootfs.diff_ids,
    );
    const top = (manifest.Layers.at(-1) as string).split('/')[0];
    assert.deepEqual(JSON.parse(files.get('repositories')?.toString() ?? ''), {
      'example.com/app': { '1.0': top, latest: top },
    });
    const path = join(work, 'docker-archive.tar');
    writeFileSync(path, archive);
    assert.ok(execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).includes('manifest.json\n'));
    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', `docker-archive:${path}`], { encoding: 'utf8' }),
    );
    assert.deepEqual(inspected.Layers, config.rootfs.diff_ids);
    // Copying verifies each layer.tar against the digest the manifest gives it: its diff_id.
    execFileSync('skopeo', [
      '--insecure-policy',
      'copy',
      `docker-archive:${path}`,
      `oci:${join(work, 'copy-docker')}:latest`,
    ]);
  });
});
