import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { DirectoryLock, type ImageRoot, TockerError, tockerRoot } from '@tocker/runtime';
import { z } from 'zod';
import { decompress } from './compression.js';
import {
  type Compression,
  type Descriptor,
  DIGEST,
  digestOf,
  type ImageConfig,
  type ImageManifest,
  imageConfigSchema,
  layerCompression,
  manifestSchema,
  parseJson,
} from './oci.js';
import { canonicalName, familiarName, parseReference } from './reference.js';
import { unpackLayer } from './unpack.js';

/** One unpacked layer, shared by every image that has it. */
export interface StoredLayer {
  readonly diffId: string;
  /** The layer's files, as overlayfs takes them as a lower directory. */
  readonly dir: string;
  /** Size of its uncompressed tar. */
  readonly bytes: number;
}

/** An image in the store: its manifest, its configuration and its layers (lowest first). */
export interface StoredImage {
  /** The digest of its configuration, as docker's image id. */
  readonly id: string;
  /** The digest of its manifest: what a registry names it by. */
  readonly digest: string;
  /** The names that point at it (canonical: docker.io/library/busybox:latest). */
  readonly names: readonly string[];
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly layers: readonly StoredLayer[];
  readonly bytes: number;
}

/** What taking an image in reports: its layers once known, then each layer when it is in. */
export interface ImageProgress {
  readonly resolved?: (layers: readonly Descriptor[]) => void;
  readonly layerDone?: (layer: Descriptor, cached: boolean) => void;
}

/** How many layers are taken in at once. */
const PARALLEL_LAYERS = 3;

/** Where a layer's blob comes from while an image is taken in (a file, an archive, a registry). */
export type BlobReader = (descriptor: Descriptor) => AsyncIterable<Uint8Array>;

const layerRecordSchema = z.object({ diffId: z.string().regex(DIGEST), bytes: z.number() });
const referencesSchema = z.record(z.string().regex(DIGEST));

const hexOf = (digest: string) => digest.slice('sha256:'.length);

class IntegrityError extends TockerError {}

/**
 * tocker's image store, under TOCKER_ROOT/store:
 *   blobs/sha256/<hex>     manifests, configurations and layer blobs, exactly as received
 *   layers/<hex>/root/     each layer unpacked once (by diff id), with layer.json beside it
 *   references.json        name → manifest digest
 *   ingest/                work in progress; a failed or killed ingest leaves only this
 * Everything is written in ingest/ first and renamed into place when complete and
 * verified: a reader never sees half a blob or half a layer, and a failure stores
 * nothing. Names change under the store's lock, so concurrent commands do not lose one.
 */
export class ImageStore {
  private constructor(readonly root: string) {}

  static open(root = join(tockerRoot(), 'store')): ImageStore {
    for (const dir of ['blobs/sha256', 'layers', 'ingest'])
      mkdirSync(join(root, dir), { recursive: true, mode: 0o700 });
    const store = new ImageStore(root);
    store.sweepIngest();
    return store;
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  readBlob(digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(digest));
    } catch {
      throw new TockerError(`blob ${digest} is not in the store`);
    }
  }

  /** Stores `bytes` as a blob; with `expected`, only if that is their digest. */
  putBlob(bytes: Buffer, expected?: Descriptor): string {
    const digest = digestOf(bytes);
    if (expected !== undefined) verify(expected, digest, bytes.length);
    if (!this.hasBlob(digest)) {
      const staging = this.ingestPath();
      writeFileSync(staging, bytes, { mode: 0o600 });
      renameSync(staging, this.blobPath(digest));
    }
    return digest;
  }

  private layerHome(diffId: string): string {
    return join(this.root, 'layers', hexOf(diffId));
  }

  layer(diffId: string): StoredLayer | null {
    const home = this.layerHome(diffId);
    try {
      const record = layerRecordSchema.parse(
        JSON.parse(readFileSync(join(home, 'layer.json'), 'utf8')),
      );
      return { diffId: record.diffId, bytes: record.bytes, dir: join(home, 'root') };
    } catch {
      return null;
    }
  }

  /**
   * Takes in one layer blob: stores it (checked against `descriptor`'s digest and size
   * when known) and unpacks it (checked against `diffId` when known), in one pass over
   * the bytes. Returns the blob's descriptor and the layer.
   */
  async addLayer(
    blob: AsyncIterable<Uint8Array>,
    expected: { descriptor?: Descriptor; diffId?: string; compression: Compression | 'detect' },
  ): Promise<{ digest: string; size: number; layer: StoredLayer; compression: Compression }> {
    const work = this.ingestPath();
    mkdirSync(join(work, 'root'), { recursive: true, mode: 0o755 });
    const blobFile = join(work, 'blob');
    const copy = copyWhileReading(blob, blobFile);
    try {
      let compression: Compression = 'none';
      const uncompressed = decompress(copy.chunks, expected.compression, (detected) => {
        compression = detected;
      });
      const unpacked = await unpackLayer(uncompressed, join(work, 'root'));
      const { digest, size } = copy.result();
      if (expected.descriptor !== undefined) verify(expected.descriptor, digest, size);
      if (expected.diffId !== undefined && unpacked.diffId !== expected.diffId)
        throw new IntegrityError(
          `layer ${digest}: its content is ${unpacked.diffId}, the image says ${expected.diffId}`,
        );
      writeFileSync(
        join(work, 'layer.json'),
        JSON.stringify({ diffId: unpacked.diffId, bytes: unpacked.bytes }),
      );
      if (!this.hasBlob(digest)) renameSync(blobFile, this.blobPath(digest));
      if (this.layer(unpacked.diffId) === null) {
        rmSync(this.layerHome(unpacked.diffId), { recursive: true, force: true });
        rmSync(blobFile, { force: true });
        renameSync(work, this.layerHome(unpacked.diffId));
      }
      return { digest, size, layer: this.layer(unpacked.diffId) as StoredLayer, compression };
    } finally {
      // A refused layer leaves its copy half-read: closed here, not when collected.
      await copy.chunks.return(undefined);
      rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * Takes in an image from its manifest: the configuration and every layer it does not
   * have yet, each checked. Nothing is named: the caller names what it got.
   */
  async addImage(
    manifestBytes: Buffer,
    readBlob: BlobReader,
    expected?: Descriptor,
    progress: ImageProgress = {},
  ): Promise<StoredImage> {
    const manifest = parseJson(manifestSchema, manifestBytes, 'manifest');
    progress.resolved?.(manifest.layers);
    const configBytes = await buffer(readBlob(manifest.config));
    const config = parseJson(imageConfigSchema, configBytes, 'image configuration');
    verify(manifest.config, digestOf(configBytes), configBytes.length);
    if (config.rootfs.diff_ids.length !== manifest.layers.length)
      throw new IntegrityError(
        `the manifest has ${manifest.layers.length} layers, its configuration ${config.rootfs.diff_ids.length}`,
      );
    // A few layers at once: downloads overlap, and one unpacks while another arrives. The
    // first failure stops the other layers (at their next chunk) and is thrown once they
    // have cleaned up: nothing of a failed image goes on being written after it is reported.
    const pending = [...manifest.layers.entries()];
    const failure = new AbortController();
    const worker = async () => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        const [index, descriptor] = next;
        const diffId = config.rootfs.diff_ids[index] as string;
        const cached = this.layer(diffId) !== null && this.hasBlob(descriptor.digest);
        if (!cached) {
          const compression = layerCompressionOf(descriptor);
          const blob = untilAborted(readBlob(descriptor), failure.signal);
          await this.addLayer(blob, { descriptor, diffId, compression });
        }
        progress.layerDone?.(descriptor, cached);
      }
    };
    const stopAll = (error: unknown) => {
      if (!failure.signal.aborted) failure.abort(error);
      pending.length = 0;
    };
    await Promise.all(Array.from({ length: PARALLEL_LAYERS }, () => worker().catch(stopAll)));
    failure.signal.throwIfAborted();
    this.putBlob(configBytes, manifest.config);
    const digest = this.putBlob(manifestBytes, expected);
    return this.image(digest);
  }

  /** The image whose manifest is `digest`. */
  image(digest: string, references: Record<string, string> = this.references()): StoredImage {
    const manifest = parseJson(manifestSchema, this.readBlob(digest), 'manifest');
    const config = parseJson(
      imageConfigSchema,
      this.readBlob(manifest.config.digest),
      'image configuration',
    );
    const layers = config.rootfs.diff_ids.map((diffId) => {
      const layer = this.layer(diffId);
      if (layer === null) throw new TockerError(`image ${digest}: layer ${diffId} is missing`);
      return layer;
    });
    const names = Object.entries(references)
      .filter(([, target]) => target === digest)
      .map(([name]) => name);
    return {
      id: manifest.config.digest,
      digest,
      names,
      manifest,
      config,
      layers,
      bytes: layers.reduce((sum, layer) => sum + layer.bytes, 0),
    };
  }

  references(): Record<string, string> {
    try {
      return referencesSchema.parse(JSON.parse(readFileSync(this.referencesFile(), 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new TockerError(`${this.referencesFile()} is damaged: ${(error as Error).message}`);
    }
  }

  /** Every image with a name, and the unnamed ones no name points at any more are not listed. */
  list(): StoredImage[] {
    const references = this.references();
    return [...new Set(Object.values(references))].map((digest) => this.image(digest, references));
  }

  /**
   * The image a user means: a name (`busybox`, `busybox:1.36`, a digest reference), or an
   * id or manifest digest (whole, or a prefix of at least 4 hex digits).
   */
  resolve(text: string): StoredImage {
    const found = this.find(text);
    if (found === null) throw new TockerError(`no image ${text}`);
    return found;
  }

  /** resolve(), or null when the store has no such image (a malformed reference throws). */
  find(text: string): StoredImage | null {
    const bare = text.replace(/^sha256:/, '');
    if (/^[0-9a-f]{4,64}$/.test(bare)) {
      const matches = this.list().filter(
        (image) => hexOf(image.id).startsWith(bare) || hexOf(image.digest).startsWith(bare),
      );
      if (matches.length === 1) return matches[0] as StoredImage;
      if (matches.length > 1) throw new TockerError(`image id ${text} is ambiguous`);
    }
    const reference = parseReference(text);
    if (reference.digest !== null && this.hasBlob(reference.digest))
      return this.image(reference.digest);
    const references = this.references();
    const digest = references[canonicalName(reference)];
    return digest === undefined ? null : this.image(digest, references);
  }

  /**
   * An image as a container's root: its layers and how it runs, for Runtime.configure
   * (`image`: what `reference` was already resolved to).
   */
  rootOf(reference: string, image: StoredImage = this.resolve(reference)): ImageRoot {
    return {
      reference,
      digest: image.digest,
      layers: image.layers.map((layer) => layer.dir),
      config: image.config.config ?? {},
    };
  }

  /** Points `name` at the manifest `digest` (a name points at one image at a time). */
  tag(name: string, digest: string): void {
    const canonical = canonicalName(parseReference(name));
    this.changeReferences((references) => {
      references[canonical] = digest;
    });
  }

  /** Removes names; returns the images that no name points at any more. */
  untag(names: readonly string[]): string[] {
    let orphans: string[] = [];
    this.changeReferences((references) => {
      const digests = new Set(names.map((name) => references[name]).filter(Boolean) as string[]);
      for (const name of names) delete references[name];
      const named = new Set(Object.values(references));
      orphans = [...digests].filter((digest) => !named.has(digest));
    });
    return orphans;
  }

  /**
   * Removes what no named image needs: manifests and configurations of unnamed images,
   * then layer blobs and layers no remaining image has, except the layers containers run
   * on (`inUse`: their directories).
   */
  collect(inUse: ReadonlySet<string> = new Set()): { blobs: number; layers: number } {
    const lock = this.lock();
    try {
      const keepBlobs = new Set<string>();
      const keepLayers = new Set<string>();
      const references = this.references();
      for (const digest of new Set(Object.values(references))) {
        const image = this.image(digest, references);
        keepBlobs.add(image.digest);
        keepBlobs.add(image.id);
        for (const layer of image.manifest.layers) keepBlobs.add(layer.digest);
        for (const layer of image.layers) keepLayers.add(layer.diffId);
      }
      let blobs = 0;
      for (const hex of readdirSync(join(this.root, 'blobs', 'sha256'))) {
        if (keepBlobs.has(`sha256:${hex}`)) continue;
        rmSync(join(this.root, 'blobs', 'sha256', hex), { force: true });
        blobs++;
      }
      let layers = 0;
      for (const hex of readdirSync(join(this.root, 'layers'))) {
        if (keepLayers.has(`sha256:${hex}`) || inUse.has(join(this.root, 'layers', hex, 'root')))
          continue;
        // Renamed away first: a half-deleted layer is never found as a layer.
        const doomed = this.ingestPath();
        renameSync(join(this.root, 'layers', hex), doomed);
        rmSync(doomed, { recursive: true, force: true });
        layers++;
      }
      return { blobs, layers };
    } finally {
      lock.release();
    }
  }

  /** Display names: `busybox:latest` rather than docker.io/library/busybox:latest. */
  static familiar(name: string): string {
    return familiarName(name);
  }

  private referencesFile(): string {
    return join(this.root, 'references.json');
  }

  private changeReferences(change: (references: Record<string, string>) => void): void {
    const lock = this.lock();
    try {
      const references = this.references();
      change(references);
      const staging = this.ingestPath();
      const fd = openSync(staging, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify(references, null, 2));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(staging, this.referencesFile());
    } finally {
      lock.release();
    }
  }

  private lock(): DirectoryLock {
    const lock = DirectoryLock.acquire(this.root);
    if (lock === null || lock === 'busy')
      throw new TockerError(`the image store ${this.root} is ${lock === null ? 'gone' : 'busy'}`);
    return lock;
  }

  /** A directory of the store's own to work in, removed afterwards whatever happens. */
  async withWorkDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
    const dir = this.ingestPath();
    mkdirSync(dir, { mode: 0o700 });
    try {
      return await work(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A fresh name in ingest/, after this process: the sweep knows whose it is. */
  private ingestPath(): string {
    return join(this.root, 'ingest', `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** What killed processes left in ingest/. */
  private sweepIngest(): void {
    for (const entry of readdirSync(join(this.root, 'ingest'))) {
      const pid = Number(entry.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) continue;
      rmSync(join(this.root, 'ingest', entry), { recursive: true, force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function verify(expected: Descriptor, digest: string, size: number): void {
  if (digest !== expected.digest)
    throw new IntegrityError(`blob ${expected.digest}: the bytes received are ${digest}`);
  if (size !== expected.size)
    throw new IntegrityError(
      `blob ${expected.digest}: ${size} bytes received, ${expected.size} announced`,
    );
}

function layerCompressionOf(descriptor: Descriptor): Compression {
  const compression = layerCompression(descriptor.mediaType);
  if (compression === null)
    throw new TockerError(
      `layer ${descriptor.digest}: media type ${descriptor.mediaType} is not a layer tocker can read`,
    );
  return compression;
}

/** `source`, ended by `signal`'s reason at its first chunk after `signal` is aborted. */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const chunk of source) {
    signal.throwIfAborted();
    yield chunk;
  }
}

/**
 * Passes `source` through while writing it to `file` and hashing it: the stored blob and
 * its digest come from the very bytes that were unpacked.
 */
function copyWhileReading(
  source: AsyncIterable<Uint8Array>,
  file: string,
): { chunks: AsyncGenerator<Uint8Array>; result: () => { digest: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  let finished = false;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const fd = openSync(file, 'w', 0o600);
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        for (let offset = 0; offset < chunk.length; )
          offset += writeSync(fd, chunk, offset, chunk.length - offset);
        yield chunk;
      }
      finished = true;
    } finally {
      closeSync(fd);
    }
  }
  return {
    chunks: chunks(),
    result: () => {
      if (!finished) throw new TockerError('a layer blob was not read to its end');
      return { digest: `sha256:${hash.digest('hex')}`, size };
    },
  };
}
