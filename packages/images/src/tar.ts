// A streaming tar reader and a small tar writer (ustar, GNU and PAX), Node built-ins only.
//
// Layer unpacking is security-critical, so the format is parsed here rather than by a library:
// PAX record values are kept as raw bytes (a binary `security.capability` xattr survives),
// anything this reader does not understand is an error rather than a guess, and the writer
// writes paths verbatim so that tests can build hostile layers.

export type TarEntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'hardlink'
  | 'char-device'
  | 'block-device'
  | 'fifo';

export interface TarEntry {
  /** As in the archive (after a PAX 'path' or GNU long name), not normalised. */
  readonly path: string;
  readonly type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** The body's size for files, 0 otherwise. */
  readonly size: number;
  /** Seconds since the epoch; fractional when a PAX 'mtime' record says so. */
  readonly mtime: number;
  /** The target of a symlink or hardlink (after a PAX 'linkpath' or GNU long link name). */
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** From PAX 'SCHILY.xattr.NAME' (raw bytes) and 'LIBARCHIVE.xattr.NAME' (base64) records. */
  readonly xattrs: ReadonlyMap<string, Buffer>;
  /** The body (files only): must be consumed (or skipped) before the next entry is read. */
  readonly body: AsyncIterable<Buffer>;
}

export interface TarWriteEntry {
  readonly path: string;
  readonly type: TarEntryType;
  /** Default: 0o755 for directories, 0o777 for symlinks, 0o644 otherwise. */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Seconds since the epoch (default 0); a fractional value is also written as a PAX record. */
  readonly mtime?: number;
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  readonly xattrs?: ReadonlyMap<string, Buffer>;
  /** Files only. */
  readonly body?: Buffer;
}

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const EMPTY = Buffer.alloc(0);
// What a PAX header or GNU long name may hold (Go's archive/tar has the same limit): beyond
// it, a hostile archive could make the reader hold any amount of memory.
const MAX_METADATA_BYTES = 1 << 20;

const TYPEFLAGS: Readonly<Record<TarEntryType, string>> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};
// '\0' is the pre-POSIX regular file and '7' a contiguous file, which Linux stores as any other.
const FILE_TYPEFLAGS = new Set(['0', '\0', '7']);
const ENTRY_TYPES = new Map<string, TarEntryType>([
  ...Object.entries(TYPEFLAGS).map(([type, flag]) => [flag, type as TarEntryType] as const),
  ['\0', 'file'],
  ['7', 'file'],
]);
const UNSUPPORTED_TYPES: Readonly<Record<string, string>> = {
  D: 'GNU dump directory',
  M: 'GNU multi-volume continuation',
  N: 'GNU old long name',
  S: 'GNU sparse file',
  V: 'GNU volume label',
};

// Offsets and lengths of the header fields (POSIX ustar; GNU uses the prefix area otherwise).
const FIELD = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 8], // magic (6) and version (2)
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;
type FieldName = keyof typeof FIELD;

const USTAR_MAGIC = Buffer.from('ustar\u000000', 'latin1');
const GNU_MAGIC = Buffer.from('ustar  \u0000', 'latin1');

// ---------------------------------------------------------------------------------------------
// Reader

/** The archive's bytes, taken as they arrive without copying them. */
class ByteSource {
  /** Bytes of the archive consumed so far (for error messages). */
  position = 0;
  readonly #input: AsyncIterator<Uint8Array>;
  /** The unconsumed rest of the latest input chunk. */
  #pending: Buffer = EMPTY;
  #ended = false;

  constructor(input: AsyncIterable<Uint8Array>) {
    this.#input = input[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least one) of what has arrived, or an empty buffer at the end. */
  async take(max: number): Promise<Buffer> {
    while (this.#pending.length === 0) {
      if (this.#ended) return EMPTY;
      const next = await this.#input.next();
      if (next.done) this.#ended = true;
      else
        this.#pending = Buffer.isBuffer(next.value)
          ? next.value
          : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
    const taken = this.#pending.length <= max ? this.#pending : this.#pending.subarray(0, max);
    this.#pending = this.#pending.subarray(taken.length);
    this.position += taken.length;
    return taken;
  }

  /** Exactly `length` bytes, or fewer if the input ends first. */
  async read(length: number): Promise<Buffer> {
    const first = await this.take(length);
    if (first.length === length || first.length === 0) return first;
    const parts = [first];
    let total = first.length;
    while (total < length) {
      const part = await this.take(length - total);
      if (part.length === 0) break;
      parts.push(part);
      total += part.length;
    }
    return Buffer.concat(parts, total);
  }

  /** Discards up to `length` bytes; returns how many there were. */
  async skip(length: number): Promise<number> {
    let skipped = 0;
    while (skipped < length) {
      const part = await this.take(length - skipped);
      if (part.length === 0) break;
      skipped += part.length;
    }
    return skipped;
  }

  async close(): Promise<void> {
    await this.#input.return?.();
  }
}

function truncated(what: string): Error {
  return new Error(`tar: the archive ends in the middle of ${what}`);
}

/** A file's body, streamed from the archive while the reader waits for the consumer. */
class EntryBody implements AsyncIterable<Buffer> {
  readonly #source: ByteSource;
  readonly #path: string;
  #remaining: number;
  #started = false;
  #passed = false;

  constructor(source: ByteSource, size: number, path: string) {
    this.#source = source;
    this.#remaining = size;
    this.#path = path;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.#started) throw new Error(`tar: the body of ${this.#path} can be read only once`);
    this.#started = true;
    while (this.#remaining > 0) {
      if (this.#passed)
        throw new Error(`tar: the body of ${this.#path} was read after the next entry`);
      const chunk = await this.#source.take(this.#remaining);
      if (chunk.length === 0) throw truncated(`the body of ${this.#path}`);
      this.#remaining -= chunk.length;
      yield chunk;
    }
  }

  /** The reader moves on to the next entry: returns how much the consumer left unread. */
  pass(): number {
    this.#passed = true;
    return this.#remaining;
  }
}

interface Header {
  readonly typeflag: string;
  readonly path: string;
  readonly linkname: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly devmajor: number;
  readonly devminor: number;
}

/** What PAX records and GNU long names say about the next entry. */
interface Overrides {
  path?: string;
  linkname?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  readonly xattrs: Map<string, Buffer>;
}

function fieldBytes(block: Buffer, field: FieldName): Buffer {
  const [offset, length] = FIELD[field];
  return block.subarray(offset, offset + length);
}

/** A NUL-terminated string (paths are UTF-8 in practice, and PAX says so). */
function cString(bytes: Buffer): string {
  const nul = bytes.indexOf(0);
  return bytes.toString('utf8', 0, nul === -1 ? bytes.length : nul);
}

function headerError(field: string, at: number): Error {
  return new Error(`tar: the ${field} field of the header at byte ${at} is not a valid number`);
}

/** Octal digits padded with spaces or NULs, or GNU base-256 (two's complement, big-endian). */
function headerNumber(block: Buffer, field: FieldName, at: number): number {
  const bytes = fieldBytes(block, field);
  const first = bytes[0] ?? 0;
  if (first & 0x80) {
    const invert = first & 0x40 ? 0xff : 0;
    let value = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = ((bytes[i] ?? 0) ^ invert) & (i === 0 ? 0x7f : 0xff);
      if (value > (Number.MAX_SAFE_INTEGER - byte) / 256) throw headerError(field, at);
      value = value * 256 + byte;
    }
    return invert ? -value - 1 : value;
  }
  let start = 0;
  let end = bytes.length;
  while (start < end && (bytes[start] === 0x20 || bytes[start] === 0)) start++;
  while (end > start && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0)) end--;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (bytes[i] ?? 0) - 0x30;
    if (digit < 0 || digit > 7) throw headerError(field, at);
    value = value * 8 + digit;
  }
  return value;
}

function unsignedHeaderNumber(block: Buffer, field: FieldName, at: number): number {
  const value = headerNumber(block, field, at);
  if (value < 0) throw headerError(field, at);
  return value;
}

/** The sum of the header's bytes with the checksum field as spaces: unsigned, and signed as
 * some historical tars computed it. */
function checksums(block: Buffer): { unsigned: number; signed: number } {
  const [offset, length] = FIELD.checksum;
  let unsigned = 0;
  let highBytes = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= offset && i < offset + length ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    if (byte & 0x80) highBytes++;
  }
  return { unsigned, signed: unsigned - 256 * highBytes };
}

function parseHeader(block: Buffer, at: number): Header {
  const stored = headerNumber(block, 'checksum', at);
  const { unsigned, signed } = checksums(block);
  if (stored !== unsigned && stored !== signed)
    throw new Error(`tar: bad header checksum at byte ${at}`);
  const magic = fieldBytes(block, 'magic');
  const ustar = magic.equals(USTAR_MAGIC);
  // Old (v7) headers have no device numbers; GNU headers keep other fields in the prefix area.
  const hasDevices = ustar || magic.equals(GNU_MAGIC);
  const name = cString(fieldBytes(block, 'name'));
  const prefix = ustar ? cString(fieldBytes(block, 'prefix')) : '';
  return {
    typeflag: String.fromCharCode(block[FIELD.typeflag[0]] ?? 0),
    path: prefix === '' ? name : `${prefix}/${name}`,
    linkname: cString(fieldBytes(block, 'linkname')),
    mode: headerNumber(block, 'mode', at) & 0o7777,
    uid: unsignedHeaderNumber(block, 'uid', at),
    gid: unsignedHeaderNumber(block, 'gid', at),
    size: unsignedHeaderNumber(block, 'size', at),
    mtime: headerNumber(block, 'mtime', at),
    devmajor: hasDevices ? unsignedHeaderNumber(block, 'devmajor', at) : 0,
    devminor: hasDevices ? unsignedHeaderNumber(block, 'devminor', at) : 0,
  };
}

function describeTypeflag(typeflag: string): string {
  const code = typeflag.charCodeAt(0);
  const shown = code > 0x20 && code < 0x7f ? typeflag : `\\x${code.toString(16).padStart(2, '0')}`;
  const known = UNSUPPORTED_TYPES[typeflag];
  return known === undefined ? `'${shown}'` : `'${shown}' (${known})`;
}

/** `LENGTH KEY=VALUE\n` records; values are bytes (an xattr value is binary). */
function parsePaxRecords(data: Buffer, at: number): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  const malformed = () => new Error(`tar: malformed PAX record in the header at byte ${at}`);
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const digits = space === -1 ? '' : data.toString('latin1', offset, space);
    if (!/^[1-9][0-9]*$/.test(digits)) throw malformed();
    const end = offset + Number(digits);
    const equals = data.indexOf(0x3d, space + 1);
    if (end > data.length || data[end - 1] !== 0x0a || equals === -1 || equals >= end)
      throw malformed();
    records.set(data.toString('utf8', space + 1, equals), data.subarray(equals + 1, end - 1));
    offset = end;
  }
  return records;
}

/** libarchive percent-encodes the names of the xattrs it stores. */
function percentDecode(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  const decoded = Buffer.alloc(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes[i] === 0x25 ? bytes.toString('latin1', i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      decoded[length++] = Number.parseInt(hex, 16);
      i += 2;
    } else decoded[length++] = bytes[i] ?? 0;
  }
  return decoded.toString('utf8', 0, length);
}

function applyPaxRecords(records: ReadonlyMap<string, Buffer>, into: Overrides, at: number) {
  const bad = (key: string) => new Error(`tar: invalid PAX ${key} for the entry at byte ${at}`);
  const text = (key: string, value: Buffer) => {
    if (value.includes(0)) throw bad(key);
    return value.toString('utf8');
  };
  const integer = (key: string, value: Buffer) => {
    const digits = value.toString('latin1');
    if (!/^[0-9]+$/.test(digits) || !Number.isSafeInteger(Number(digits))) throw bad(key);
    return Number(digits);
  };
  for (const [key, value] of records) {
    if (key.startsWith('SCHILY.xattr.'))
      into.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(value));
    else if (key.startsWith('LIBARCHIVE.xattr.'))
      into.xattrs.set(
        percentDecode(key.slice('LIBARCHIVE.xattr.'.length)),
        Buffer.from(value.toString('latin1'), 'base64'),
      );
    else if (key.startsWith('GNU.sparse.'))
      throw new Error(
        `tar: sparse files are not supported (PAX ${key} for the entry at byte ${at})`,
      );
    // An empty value cancels the keyword (a global value, or the header's field).
    else if (value.length === 0) continue;
    else if (key === 'path') into.path = text(key, value);
    else if (key === 'linkpath') into.linkname = text(key, value);
    else if (key === 'size') into.size = integer(key, value);
    else if (key === 'uid') into.uid = integer(key, value);
    else if (key === 'gid') into.gid = integer(key, value);
    else if (key === 'mtime') {
      const mtime = value.toString('latin1');
      if (!/^-?[0-9]+(\.[0-9]+)?$/.test(mtime)) throw bad(key);
      into.mtime = Number(mtime);
    }
  }
}

function entryFrom(
  header: Header,
  overrides: Overrides,
  source: ByteSource,
): { entry: TarEntry; body: EntryBody; archivedBytes: number } {
  const path = overrides.path ?? header.path;
  const isFileTypeflag = FILE_TYPEFLAGS.has(header.typeflag);
  const type =
    isFileTypeflag && path.endsWith('/') ? 'directory' : ENTRY_TYPES.get(header.typeflag);
  if (type === undefined)
    throw new Error(`tar: unsupported entry type ${describeTypeflag(header.typeflag)} for ${path}`);
  // Only file typeflags are followed by data: like Go's archive/tar, a directory's or a
  // link's size field is ignored (some tars fill it in).
  const archivedBytes = isFileTypeflag ? (overrides.size ?? header.size) : 0;
  const size = type === 'file' ? archivedBytes : 0;
  const body = new EntryBody(source, size, path);
  const entry: TarEntry = {
    path,
    type,
    mode: header.mode,
    uid: overrides.uid ?? header.uid,
    gid: overrides.gid ?? header.gid,
    size,
    mtime: overrides.mtime ?? header.mtime,
    linkname: overrides.linkname ?? header.linkname,
    devmajor: header.devmajor,
    devminor: header.devminor,
    xattrs: overrides.xattrs,
    body,
  };
  return { entry, body, archivedBytes };
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * Reads a tar archive (ustar, GNU or PAX) as it arrives, one entry at a time. Bodies are
 * handed over in the input's own chunks (views, not copies: the producer must not reuse its
 * buffers). The input is read to its very end, past the end-of-archive marker, so that a
 * digest computed upstream sees every byte; stopping early closes it.
 */
export async function* readTar(input: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const source = new ByteSource(input);
  try {
    const globalRecords = new Map<string, Buffer>();
    let localRecords = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    let metadataAt: number | undefined;
    for (;;) {
      const at = source.position;
      const block = await source.read(BLOCK);
      if (block.length > 0 && block.length < BLOCK) throw truncated('a header');
      if (block.length === 0 || block.equals(ZERO_BLOCK)) {
        if (metadataAt !== undefined)
          throw new Error(`tar: the extended header at byte ${metadataAt} has no entry`);
        // Like GNU and Go tar, accept an archive that ends at a block boundary without its
        // end-of-archive marker, or with only one of its two zero blocks.
        if (block.length === 0) return;
        const second = await source.read(BLOCK);
        if (second.length > 0 && second.length < BLOCK)
          throw truncated('the end-of-archive marker');
        if (second.length === BLOCK && !second.equals(ZERO_BLOCK))
          throw new Error(`tar: a lone zero block at byte ${at}`);
        await source.skip(Number.POSITIVE_INFINITY);
        return;
      }
      const header = parseHeader(block, at);
      if ('xgLK'.includes(header.typeflag)) {
        if (header.size > MAX_METADATA_BYTES)
          throw new Error(`tar: the extended header at byte ${at} is too large (${header.size})`);
        const data = await source.read(header.size);
        const pad = padding(header.size);
        if (data.length < header.size || (await source.skip(pad)) < pad)
          throw truncated(`the extended header at byte ${at}`);
        if (header.typeflag === 'g') {
          for (const [key, value] of parsePaxRecords(data, at)) globalRecords.set(key, value);
          let globalBytes = 0;
          for (const [key, value] of globalRecords) globalBytes += key.length + value.length;
          if (globalBytes > MAX_METADATA_BYTES)
            throw new Error(`tar: the global headers up to byte ${at} are too large`);
          continue;
        }
        metadataAt ??= at;
        if (header.typeflag === 'x') localRecords = parsePaxRecords(data, at);
        else if (header.typeflag === 'L') longName = cString(data);
        else longLink = cString(data);
        continue;
      }
      const overrides: Overrides = { path: longName, linkname: longLink, xattrs: new Map() };
      applyPaxRecords(globalRecords, overrides, at);
      applyPaxRecords(localRecords, overrides, at);
      const { entry, body, archivedBytes } = entryFrom(header, overrides, source);
      localRecords = new Map();
      longName = undefined;
      longLink = undefined;
      metadataAt = undefined;

      yield entry;

      const unread = body.pass() + archivedBytes - entry.size;
      if ((await source.skip(unread)) < unread) throw truncated(`the body of ${entry.path}`);
      const pad = padding(archivedBytes);
      if ((await source.skip(pad)) < pad) throw truncated(`the padding after ${entry.path}`);
    }
  } finally {
    await source.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

function writeNumber(block: Buffer, field: FieldName, value: number) {
  const [offset, length] = FIELD[field];
  if (!Number.isSafeInteger(value)) throw new Error(`tar: the ${field} ${value} is not an integer`);
  if (value >= 0 && value < 8 ** (length - 1)) {
    block.write(value.toString(8).padStart(length - 1, '0'), offset, 'latin1');
    return;
  }
  // GNU base-256: a marker bit then the two's complement, wide enough for any safe integer.
  let rest = value;
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = ((rest % 256) + 256) % 256;
    rest = Math.floor(rest / 256);
  }
  block[offset] = value < 0 ? 0xff : 0x80;
}

function writeBytes(block: Buffer, field: FieldName, bytes: Buffer) {
  const [offset, length] = FIELD[field];
  bytes.copy(block, offset, 0, Math.min(bytes.length, length));
}

/** The ustar name and prefix of a path, if it fits them (the reader joins them with '/'). */
function ustarName(path: Buffer): { name: Buffer; prefix: Buffer } | undefined {
  const [, nameLength] = FIELD.name;
  const [, prefixLength] = FIELD.prefix;
  if (path.length <= nameLength) return { name: path, prefix: EMPTY };
  const slash = path.indexOf(0x2f, Math.max(1, path.length - nameLength - 1));
  if (slash === -1 || slash > prefixLength || slash === path.length - 1) return undefined;
  return { name: path.subarray(slash + 1), prefix: path.subarray(0, slash) };
}

interface HeaderFields {
  readonly typeflag: string;
  readonly name: Buffer;
  readonly prefix: Buffer;
  readonly linkname: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly devmajor: number;
  readonly devminor: number;
}

function headerBlock(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeBytes(block, 'name', fields.name);
  writeBytes(block, 'prefix', fields.prefix);
  writeBytes(block, 'linkname', fields.linkname);
  writeBytes(block, 'magic', USTAR_MAGIC);
  block.write(fields.typeflag, FIELD.typeflag[0], 'latin1');
  writeNumber(block, 'mode', fields.mode);
  writeNumber(block, 'uid', fields.uid);
  writeNumber(block, 'gid', fields.gid);
  writeNumber(block, 'size', fields.size);
  writeNumber(block, 'mtime', fields.mtime);
  writeNumber(block, 'devmajor', fields.devmajor);
  writeNumber(block, 'devminor', fields.devminor);
  const checksum = `${checksums(block).unsigned.toString(8).padStart(6, '0')}\0 `;
  block.write(checksum, FIELD.checksum[0], 'latin1');
  return block;
}

function paxRecord(key: string, value: Buffer): Buffer {
  // The length counts itself: one more digit may be needed once it is included.
  const rest = Buffer.byteLength(` ${key}=\n`) + value.length;
  let length = rest + String(rest).length;
  if (String(length).length > String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

function withPadding(data: Buffer): Buffer[] {
  return [data, Buffer.alloc(padding(data.length))];
}

const DEFAULT_MODES: Partial<Record<TarEntryType, number>> = { directory: 0o755, symlink: 0o777 };

/** One entry (preceded by a PAX header when ustar cannot hold it), paths written verbatim. */
export function tarEntryBytes(entry: TarWriteEntry): Buffer {
  const body = entry.body ?? EMPTY;
  if (body.length > 0 && entry.type !== 'file')
    throw new Error(`tar: a ${entry.type} has no body (${entry.path})`);
  const path = Buffer.from(entry.path);
  const linkname = Buffer.from(entry.linkname ?? '');
  const mtime = entry.mtime ?? 0;
  const records: Buffer[] = [];
  const ustar = ustarName(path);
  if (ustar === undefined) records.push(paxRecord('path', path));
  if (linkname.length > FIELD.linkname[1]) records.push(paxRecord('linkpath', linkname));
  if (!Number.isInteger(mtime)) records.push(paxRecord('mtime', Buffer.from(String(mtime))));
  for (const [name, value] of entry.xattrs ?? [])
    records.push(paxRecord(`SCHILY.xattr.${name}`, value));
  const fields: HeaderFields = {
    typeflag: TYPEFLAGS[entry.type],
    name: ustar?.name ?? path,
    prefix: ustar?.prefix ?? EMPTY,
    linkname,
    mode: (entry.mode ?? DEFAULT_MODES[entry.type] ?? 0o644) & 0o7777,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size: body.length,
    mtime: Math.floor(mtime),
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  };
  const parts = [headerBlock(fields), ...withPadding(body)];
  if (records.length === 0) return Buffer.concat(parts);
  const pax = Buffer.concat(records);
  const paxHeader = headerBlock({
    ...fields,
    typeflag: 'x',
    name: Buffer.from('PaxHeader'),
    prefix: EMPTY,
    linkname: EMPTY,
    mode: 0o644,
    size: pax.length,
  });
  return Buffer.concat([paxHeader, ...withPadding(pax), ...parts]);
}

/** The end-of-archive marker: two zero blocks. */
export function endOfTar(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
