import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createReadStream,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { TockerError } from '@tocker/runtime';
import { O_DIRECTORY, O_PATH, O_RDONLY, openInRoot } from '@tocker/runtime/sys';
import { z } from 'zod';
import { decompress, detectCompression } from './compression.js';
import {
  type Descriptor,
  digestOf,
  hostPlatform,
  type ImageConfig,
  indexSchema,
  isIndex,
  layerMediaType,
  mediaTypes,
  parseJson,
  selectPlatform,
} from './oci.js';
import { canonicalName, canonicalNameOrNull, familiarName, parseReference } from './reference.js';
import type { ImageStore, StoredImage } from './store.js';
import { unpackLayer } from './unpack.js';

/** An image taken in, and the names it got. */
export interface LoadedImage {
  readonly image: StoredImage;
  readonly names: readonly string[];
}

/**
 * A directory an archive gave us, read without following anything out of it: archives
 * are as untrusted as layers (a `manifest.json` that is a link to /etc/shadow is only a
 * name that does not resolve).
 */
class ArchiveTree {
  private constructor(private readonly root: number) {}

  static open(dir: string): ArchiveTree {
    return new ArchiveTree(openSync(dir, O_PATH | O_DIRECTORY));
  }

  has(path: string): boolean {
    try {
      closeSync(openInRoot(this.root, path, O_PATH));
      return true;
    } catch {
      return false;
    }
  }

  read(path: string): Buffer {
    const fd = this.open(path);
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  stream(path: string): AsyncIterable<Uint8Array> {
    return createReadStream('', { fd: this.open(path), highWaterMark: 1 << 20 });
  }

  head(path: string): Buffer {
    const fd = this.open(path);
    try {
      const bytes = Buffer.alloc(4);
      return bytes.subarray(0, readSync(fd, bytes, 0, 4, 0));
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    closeSync(this.root);
  }

  private open(path: string): number {
    try {
      return openInRoot(this.root, path, O_RDONLY);
    } catch {
      throw new TockerError(`the archive has no ${path}`);
    }
  }
}

/**
 * `tocker load`: images from a `docker save` tarball, an OCI archive (a tarball of an OCI
 * layout) or an OCI layout directory, gzip- or zstd-compressed or not. A tarball is
 * unpacked into the store's work area first, with the same care as a layer.
 */
export async function loadImages(store: ImageStore, path: string): Promise<LoadedImage[]> {
  if (statSync(path).isDirectory()) return loadTree(store, path);
  return store.withWorkDir(async (dir) => {
    await unpackLayer(decompress(createReadStream(path), 'detect'), dir);
    return loadTree(store, dir);
  });
}

async function loadTree(store: ImageStore, dir: string): Promise<LoadedImage[]> {
  const tree = ArchiveTree.open(dir);
  try {
    if (tree.has('manifest.json') && !tree.has('index.json'))
      return await loadDockerArchive(store, tree);
    if (tree.has('oci-layout')) return await loadOciLayout(store, tree);
    // docker save ≥ 25 writes both: its manifest.json has the names.
    if (tree.has('manifest.json')) return await loadDockerArchive(store, tree);
    throw new TockerError(
      'not an image archive: no manifest.json (docker save) nor oci-layout (OCI)',
    );
  } finally {
    tree.close();
  }
}

const blobPath = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;

async function loadOciLayout(store: ImageStore, tree: ArchiveTree): Promise<LoadedImage[]> {
  const index = parseJson(indexSchema, tree.read('index.json'), 'index.json');
  const readBlob = (descriptor: Descriptor) => tree.stream(blobPath(descriptor.digest));
  const loaded: LoadedImage[] = [];
  for (const entry of index.manifests) {
    const descriptor = isIndex(entry.mediaType) ? platformManifest(tree, entry) : entry;
    const image = await store.addImage(
      tree.read(blobPath(descriptor.digest)),
      readBlob,
      descriptor,
    );
    const name = nameOf(entry);
    if (name !== null) store.tag(name, image.digest);
    loaded.push({ image: store.image(image.digest), names: name === null ? [] : [name] });
  }
  return loaded;
}

/** The manifest of a multi-platform image for this host (attestations skipped). */
function platformManifest(tree: ArchiveTree, entry: Descriptor): Descriptor {
  const bytes = tree.read(blobPath(entry.digest));
  if (digestOf(bytes) !== entry.digest)
    throw new TockerError(`index ${entry.digest}: its bytes are ${digestOf(bytes)}`);
  const chosen = selectPlatform(parseJson(indexSchema, bytes, `index ${entry.digest}`));
  if (chosen === null)
    throw new TockerError(`index ${entry.digest} has no image for this platform`);
  return chosen;
}

/**
 * An OCI layout names images in annotations: containerd's full name, or the OCI ref name
 * when it is a whole reference (a bare tag names no repository: the image stays unnamed).
 */
function nameOf(entry: Descriptor): string | null {
  const candidates = [
    entry.annotations?.['io.containerd.image.name'],
    entry.annotations?.['org.opencontainers.image.ref.name'],
  ];
  for (const candidate of candidates) {
    if (candidate === undefined || !/[:/]/.test(candidate)) continue;
    try {
      return canonicalName(parseReference(candidate));
    } catch {}
  }
  return null;
}

const dockerManifestSchema = z.array(
  z
    .object({
      Config: z.string(),
      RepoTags: z.array(z.string()).nullable().optional(),
      Layers: z.array(z.string()),
    })
    .passthrough(),
);

/**
 * docker save's format has no OCI manifest: one is made from its configuration and layer
 * files (their digests computed as they are taken in), as `docker load` does.
 */
async function loadDockerArchive(store: ImageStore, tree: ArchiveTree): Promise<LoadedImage[]> {
  const entries = parseJson(dockerManifestSchema, tree.read('manifest.json'), 'manifest.json');
  const loaded: LoadedImage[] = [];
  for (const entry of entries) {
    const configBytes = tree.read(entry.Config);
    const layers: Descriptor[] = [];
    const files = new Map<string, string>([[digestOf(configBytes), entry.Config]]);
    for (const file of entry.Layers) {
      const compression = detectCompression(tree.head(file));
      const { digest, size } = await store.addLayer(tree.stream(file), { compression });
      files.set(digest, file);
      layers.push({
        mediaType: layerMediaType(compression, 'docker'),
        digest,
        size,
      });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifest,
      config: {
        mediaType: mediaTypes.dockerConfig,
        digest: digestOf(configBytes),
        size: configBytes.length,
      },
      layers,
    };
    const image = await store.addImage(Buffer.from(JSON.stringify(manifest)), (descriptor) =>
      tree.stream(files.get(descriptor.digest) ?? blobPath(descriptor.digest)),
    );
    const names = (entry.RepoTags ?? []).map((tag) => canonicalName(parseReference(tag)));
    for (const name of names) store.tag(name, image.digest);
    loaded.push({ image: store.image(image.digest), names });
  }
  return loaded;
}

/** How a container of an imported image runs (`tocker import --change`'s instructions). */
export type RunConfig = NonNullable<ImageConfig['config']>;

/**
 * `tocker import`: a plain root filesystem tarball (any compression) as a one-layer image.
 */
export async function importTarball(
  store: ImageStore,
  tarball: AsyncIterable<Uint8Array>,
  name: string,
  config: RunConfig,
): Promise<StoredImage> {
  const canonical = canonicalName(parseReference(name));
  const { digest, size, layer, compression } = await store.addLayer(tarball, {
    compression: 'detect',
  });
  const created = new Date().toISOString();
  const imageConfig = Buffer.from(
    JSON.stringify({
      created,
      architecture: hostPlatform().architecture,
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, created_by: 'tocker import' }],
    }),
  );
  const configDigest = store.putBlob(imageConfig);
  const manifest = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociManifest,
    config: { mediaType: mediaTypes.ociConfig, digest: configDigest, size: imageConfig.length },
    layers: [
      {
        mediaType: layerMediaType(compression, 'oci'),
        digest,
        size,
      },
    ],
  };
  const manifestDigest = store.putBlob(Buffer.from(JSON.stringify(manifest)));
  store.tag(canonical, manifestDigest);
  return store.image(manifestDigest);
}

/**
 * A directory tree as a one-layer image (set-up's busybox, a test's image): GNU tar reads
 * it as it is on disk (numeric owners, xattrs), tocker takes the tar in as `import` does.
 */
export async function importDirectory(
  store: ImageStore,
  dir: string,
  name: string,
  config: RunConfig,
): Promise<StoredImage> {
  const tar = spawn('tar', ['-C', dir, '--numeric-owner', '--xattrs', '-cf', '-', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  tar.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => tar.once('close', resolve));
  const image = await importTarball(store, tar.stdout, name, config);
  if ((await exited) !== 0) throw new TockerError(`tar of ${dir} failed: ${stderr.trim()}`);
  return image;
}

/**
 * `tocker save`: images as an OCI archive that `tocker load`, `docker load` (its
 * manifest.json) and skopeo (`oci-archive:`) read: the store's blobs as they are, linked
 * into a work directory of the store and written by GNU tar, so nothing is held in memory.
 */
export async function saveImages(
  store: ImageStore,
  references: readonly string[],
  file: string,
): Promise<void> {
  const images = references.map((reference) => ({ reference, image: store.resolve(reference) }));
  await store.withWorkDir(async (dir) => {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    const link = (digest: string) => {
      const target = join(dir, blobPath(digest));
      if (!existsSync(target)) linkSync(store.blobPath(digest), target);
    };
    for (const { image } of images) {
      link(image.digest);
      link(image.id);
      for (const layer of image.manifest.layers) link(layer.digest);
    }
    const named = images.map(({ reference, image }) => {
      const name =
        image.names.find((candidate) => candidate === canonicalNameOrNull(reference)) ??
        image.names[0];
      return { image, name };
    });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.ociIndex,
        manifests: named.map(({ image, name }) => ({
          mediaType: image.manifest.mediaType ?? mediaTypes.ociManifest,
          digest: image.digest,
          size: store.readBlob(image.digest).length,
          ...(name === undefined
            ? {}
            : {
                annotations: {
                  'io.containerd.image.name': name,
                  'org.opencontainers.image.ref.name': name.slice(name.lastIndexOf(':') + 1),
                },
              }),
        })),
      }),
    );
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify(
        named.map(({ image, name }) => ({
          Config: blobPath(image.id),
          RepoTags: name === undefined ? [] : [familiarName(name)],
          Layers: image.manifest.layers.map((layer) => blobPath(layer.digest)),
        })),
      ),
    );
    const tar = spawn(
      'tar',
      [
        '-C',
        dir,
        '--numeric-owner',
        '-cf',
        file,
        'oci-layout',
        'index.json',
        'manifest.json',
        'blobs',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    tar.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(tar, 'close')) as [number | null];
    if (code !== 0) throw new TockerError(`writing ${file}: ${stderr.trim()}`);
  });
}
