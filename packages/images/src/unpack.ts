import { createHash } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  openSync,
  writeSync,
} from 'node:fs';
import { TockerError } from '@tocker/runtime';
import {
  chownAt,
  ENOENT,
  errnoOf,
  linkAt,
  mkdirAt,
  mknodAt,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  openAt,
  openInRoot,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  setTimesAt,
  setXattr,
  symlinkAt,
  unlinkAt,
} from '@tocker/runtime/sys';
import { readTar, type TarEntry } from './tar.js';

/** What unpacking a layer learnt: the digest of its uncompressed tar (its diff id) and size. */
export interface UnpackedLayer {
  readonly diffId: string;
  readonly bytes: number;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';

/**
 * xattrs a layer may carry. Anything else is dropped: `trusted.overlay.*` would steer
 * overlayfs (redirects, metacopy) from inside an image, and other `trusted.*` or
 * `security.*` names are the host's business.
 */
const allowedXattr = (name: string) => name === 'security.capability' || name.startsWith('user.');

class LayerError extends TockerError {}

/**
 * The components of a path in a layer, or an error for one that would leave it. Leading
 * "/" and "./" are how tar tools write paths (both mean the layer's root); ".." anywhere
 * is refused rather than resolved, as docker does.
 */
function componentsOf(path: string, what: string): string[] {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..'))
    throw new LayerError(`${what} ${JSON.stringify(path)} leads out of the layer`);
  return parts;
}

/**
 * The directory an entry goes in, opened inside the layer; the directories the tar
 * skipped are made (0755) on the way, each looked up inside the layer too (an earlier
 * symlink in the path is followed, within the layer, as tar does).
 */
function openParent(root: number, parents: readonly string[]): number {
  const flags = O_PATH | O_DIRECTORY;
  try {
    return openInRoot(root, parents.join('/'), flags);
  } catch (error) {
    if (errnoOf(error) !== ENOENT) throw error;
  }
  let dir = openInRoot(root, '', flags);
  for (const [index, name] of parents.entries()) {
    const path = parents.slice(0, index + 1).join('/');
    let next: number;
    try {
      next = openInRoot(root, path, flags);
    } catch (error) {
      if (errnoOf(error) !== ENOENT) throw error;
      mkdirAt(dir, name, 0o755);
      next = openInRoot(root, path, flags);
    }
    closeSync(dir);
    dir = next;
  }
  return dir;
}

/** What is at `name` in `dir` now, if anything (never following it). */
function existing(dir: number, name: string): 'directory' | 'other' | null {
  let fd: number;
  try {
    fd = openAt(dir, name, O_PATH);
  } catch (error) {
    if (errnoOf(error) === ENOENT) return null;
    throw error;
  }
  try {
    return fstatSync(fd).isDirectory() ? 'directory' : 'other';
  } finally {
    closeSync(fd);
  }
}

/** A later entry replaces an earlier one of the same name, as tar extraction does. */
function makeRoom(dir: number, name: string, type: TarEntry['type']): boolean {
  const present = existing(dir, name);
  if (present === null) return true;
  if (present === 'directory' && type === 'directory') return false;
  try {
    unlinkAt(dir, name, present === 'directory');
  } catch (error) {
    throw new LayerError(
      `layer entry ${name}: cannot replace what is there (${(error as Error).message})`,
    );
  }
  return true;
}

interface DirectoryMetadata {
  readonly path: string;
  readonly entry: TarEntry;
}

/**
 * Unpacks one layer (an uncompressed tar stream) into `target`, an empty directory, as
 * overlayfs wants it: whiteouts become 0/0 character devices, opaque directories get
 * `trusted.overlay.opaque`. Every name is created relative to a directory opened inside
 * the layer, so no entry, link or earlier symlink can make it write outside `target`.
 * Hardlinks must point at something this layer already has. Directories get their mode,
 * owner and times last (their content changes their mtime; a 0500 directory could not
 * be filled). Resolves with the layer's diff id, computed on the bytes read.
 */
export async function unpackLayer(
  tar: AsyncIterable<Uint8Array>,
  target: string,
): Promise<UnpackedLayer> {
  const hash = createHash('sha256');
  let bytes = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of tar) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  }
  const source = hashed();
  // Lent without its return(): when the reader stops at the end-of-archive blocks, what
  // follows is still read (below), because the diff id covers every byte.
  const lent = { [Symbol.asyncIterator]: () => ({ next: () => source.next() }) };
  const root = openSync(target, O_PATH | O_DIRECTORY);
  const directories: DirectoryMetadata[] = [];
  try {
    for await (const entry of readTar(lent)) {
      const parts = componentsOf(entry.path, 'layer entry');
      if (parts.length === 0) {
        if (entry.type === 'directory') directories.push({ path: '', entry });
        continue;
      }
      const name = parts.at(-1) as string;
      const parent = openParent(root, parts.slice(0, -1));
      try {
        if (name === OPAQUE_WHITEOUT) {
          markOpaque(parent);
        } else if (name.startsWith(WHITEOUT_PREFIX)) {
          const hidden = name.slice(WHITEOUT_PREFIX.length);
          makeRoom(parent, hidden, 'char-device');
          mknodAt(parent, hidden, S_IFCHR, 0, 0);
        } else {
          if (makeRoom(parent, name, entry.type)) await create(root, parent, name, entry);
          if (entry.type === 'directory') directories.push({ path: parts.join('/'), entry });
        }
      } finally {
        closeSync(parent);
      }
    }
    // Deepest first: a directory's own times are set after its children's.
    for (const { path, entry } of directories.reverse()) applyDirectory(root, path, entry);
    for await (const _trailing of source);
  } finally {
    closeSync(root);
  }
  return { diffId: `sha256:${hash.digest('hex')}`, bytes };
}

function markOpaque(dir: number): void {
  const fd = openAt(dir, '.', O_RDONLY | O_DIRECTORY);
  try {
    setXattr(fd, 'trusted.overlay.opaque', Buffer.from('y'));
  } finally {
    closeSync(fd);
  }
}

async function create(root: number, parent: number, name: string, entry: TarEntry): Promise<void> {
  switch (entry.type) {
    case 'file':
      return writeFile(parent, name, entry);
    case 'directory':
      mkdirAt(parent, name, 0o700);
      return;
    case 'symlink':
      // Its target is only text here; whatever reads it later resolves it in its own root.
      symlinkAt(entry.linkname, parent, name);
      break;
    case 'hardlink':
      linkInside(root, parent, name, entry.linkname);
      return;
    case 'char-device':
    case 'block-device':
      mknodAt(
        parent,
        name,
        (entry.type === 'char-device' ? S_IFCHR : S_IFBLK) | (entry.mode & 0o7777),
        entry.devmajor,
        entry.devminor,
      );
      break;
    case 'fifo':
      mknodAt(parent, name, S_IFIFO | (entry.mode & 0o7777), 0, 0);
      break;
  }
  chownAt(parent, name, entry.uid, entry.gid);
  setTimesAt(parent, name, entry.mtime);
}

async function writeFile(parent: number, name: string, entry: TarEntry): Promise<void> {
  const fd = openAt(parent, name, O_WRONLY | O_CREAT | O_EXCL, 0o600);
  try {
    for await (const chunk of entry.body) {
      for (let offset = 0; offset < chunk.length; )
        offset += writeSync(fd, chunk, offset, chunk.length - offset);
    }
    applyMetadata(fd, entry);
  } finally {
    closeSync(fd);
  }
}

/**
 * Owner, then mode (a chown clears setuid bits), then xattrs (a chown also clears
 * security.capability), then times.
 */
function applyMetadata(fd: number, entry: TarEntry): void {
  fchownSync(fd, entry.uid, entry.gid);
  fchmodSync(fd, entry.mode & 0o7777);
  for (const [xattr, value] of entry.xattrs) if (allowedXattr(xattr)) setXattr(fd, xattr, value);
  futimesSync(fd, entry.mtime, entry.mtime);
}

function linkInside(root: number, parent: number, name: string, linkname: string): void {
  const parts = componentsOf(linkname, `hardlink ${name} to`);
  const source = parts.at(-1);
  if (source === undefined) throw new LayerError(`hardlink ${name} to the layer's root`);
  let sourceDir: number;
  try {
    sourceDir = openInRoot(root, parts.slice(0, -1).join('/'), O_PATH | O_DIRECTORY);
  } catch {
    throw new LayerError(`hardlink ${name} to ${linkname}: not in this layer`);
  }
  try {
    linkAt(sourceDir, source, parent, name);
  } catch (error) {
    throw new LayerError(
      errnoOf(error) === ENOENT
        ? `hardlink ${name} to ${linkname}: not in this layer`
        : `hardlink ${name} to ${linkname}: ${(error as Error).message}`,
    );
  } finally {
    closeSync(sourceDir);
  }
}

function applyDirectory(root: number, path: string, entry: TarEntry): void {
  const fd = openInRoot(root, path, O_RDONLY | O_DIRECTORY);
  try {
    applyMetadata(fd, entry);
  } finally {
    closeSync(fd);
  }
}
