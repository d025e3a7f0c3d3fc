// Image archives built offline for tests, following the OCI image-spec (image layout,
// manifest, index, config), Docker's image manifest v2 schema 2 and the `docker save` format.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { prepareDefaultImage } from '../../runtime/src/image.js';
import { importDirectory } from '../src/archive.js';
import { ImageStore } from '../src/store.js';
import { endOfTar, type TarWriteEntry, tarEntryBytes } from '../src/tar.js';

export const MEDIA_TYPES = {
  oci: {
    index: 'application/vnd.oci.image.index.v1+json',
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar',
    gzipLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar',
    gzipLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

type MediaTypes = (typeof MEDIA_TYPES)[keyof typeof MEDIA_TYPES];

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageConfigOptions {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  /** Such as '80/tcp'. */
  readonly exposedPorts?: readonly string[];
  readonly stopSignal?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** An OCI image config; spread it to change the platform (`{ ...config, architecture }`). */
export interface ImageConfig extends Platform {
  readonly created: string;
  readonly config: {
    readonly Entrypoint?: readonly string[];
    readonly Cmd?: readonly string[];
    readonly Env?: readonly string[];
    readonly WorkingDir?: string;
    readonly User?: string;
    readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
    readonly StopSignal?: string;
    readonly Labels?: Readonly<Record<string, string>>;
  };
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly string[] };
}

export interface FixtureImage {
  /** Layer blobs: tars, gzip-compressed or not (told apart by the gzip magic bytes). */
  readonly layers: readonly Buffer[];
  /** Written as given: build it with imageConfig(options, diffIds(layers)), or pass other
   * diff_ids to make an image whose layers do not match its config. Its os, architecture and
   * variant are the image's platform in an index. */
  readonly config: ImageConfig;
}

export interface LayoutOptions {
  /** Each becomes an index.json entry annotated with org.opencontainers.image.ref.name. */
  readonly tags?: readonly string[];
  /** The manifest and index media types (default 'oci'). */
  readonly mediaTypes?: keyof typeof MEDIA_TYPES;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${sha256Hex(bytes)}`;
}

export function layerTar(entries: readonly TarWriteEntry[]): Buffer {
  return Buffer.concat([...entries.map(tarEntryBytes), endOfTar()]);
}

export function gzip(bytes: Buffer): Buffer {
  return gzipSync(bytes);
}

function isGzip(bytes: Buffer): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The rootfs.diff_ids of these layers: digests of their uncompressed tars. */
export function diffIds(layers: readonly Buffer[]): string[] {
  return layers.map((layer) => digestOf(isGzip(layer) ? gunzipSync(layer) : layer));
}

export function imageConfig(
  options: ImageConfigOptions,
  layerDiffIds: readonly string[],
): ImageConfig {
  const runtime = {
    Entrypoint: options.entrypoint,
    Cmd: options.cmd,
    Env: options.env,
    WorkingDir: options.workingDir,
    User: options.user,
    ExposedPorts:
      options.exposedPorts && Object.fromEntries(options.exposedPorts.map((port) => [port, {}])),
    StopSignal: options.stopSignal,
    Labels: options.labels,
  };
  return {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    // JSON leaves out what is undefined, as an image builder would.
    config: JSON.parse(JSON.stringify(runtime)),
    rootfs: { type: 'layers', diff_ids: [...layerDiffIds] },
  };
}

function writeBlob(dir: string, mediaType: string, bytes: Buffer): Descriptor {
  writeFileSync(join(dir, 'blobs', 'sha256', sha256Hex(bytes)), bytes);
  return { mediaType, digest: digestOf(bytes), size: bytes.length };
}

function writeJsonBlob(dir: string, mediaType: string, json: object): Descriptor {
  return writeBlob(dir, mediaType, Buffer.from(JSON.stringify(json)));
}

function platformOf(config: Platform): Platform {
  const { os, architecture, variant } = config;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

function writeImage(dir: string, image: FixtureImage, types: MediaTypes): Descriptor {
  return writeJsonBlob(dir, types.manifest, {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: writeJsonBlob(dir, types.config, image.config),
    layers: image.layers.map((layer) =>
      writeBlob(dir, isGzip(layer) ? types.gzipLayer : types.layer, layer),
    ),
  });
}

/** A BuildKit provenance attestation for an image: an index entry that is no platform's image. */
function writeAttestation(dir: string, image: Descriptor): Descriptor {
  const types = MEDIA_TYPES.oci;
  const statement = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: [{ name: 'image', digest: { sha256: image.digest.slice('sha256:'.length) } }],
      predicate: {},
    }),
  );
  const manifest = writeJsonBlob(dir, types.manifest, {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: writeJsonBlob(dir, types.config, {
      architecture: 'unknown',
      os: 'unknown',
      config: {},
      rootfs: { type: 'layers', diff_ids: [digestOf(statement)] },
    }),
    layers: [
      {
        ...writeBlob(dir, 'application/vnd.in-toto+json', statement),
        annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
      },
    ],
  });
  return {
    ...manifest,
    platform: { os: 'unknown', architecture: 'unknown' },
    annotations: {
      'vnd.docker.reference.digest': image.digest,
      'vnd.docker.reference.type': 'attestation-manifest',
    },
  };
}

function writeIndex(dir: string, images: readonly FixtureImage[], types: MediaTypes): Descriptor {
  const manifests = images.flatMap((image) => {
    const manifest = writeImage(dir, image, types);
    return [{ ...manifest, platform: platformOf(image.config) }, writeAttestation(dir, manifest)];
  });
  return writeJsonBlob(dir, types.index, { schemaVersion: 2, mediaType: types.index, manifests });
}

/**
 * Writes an OCI image layout into `dir`: one image, or several (one per platform, taken from
 * each config) in an image index or Docker manifest list that also holds an attestation
 * manifest per image, as BuildKit pushes them. Returns what index.json points to.
 */
export function writeOciLayout(
  dir: string,
  images: FixtureImage | readonly FixtureImage[],
  options: LayoutOptions = {},
): Descriptor {
  const types = MEDIA_TYPES[options.mediaTypes ?? 'oci'];
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const target =
    'layers' in images ? writeImage(dir, images, types) : writeIndex(dir, images, types);
  const tags = options.tags ?? [];
  const entries =
    tags.length === 0
      ? [target]
      : tags.map((tag) => ({ ...target, annotations: { [REF_NAME_ANNOTATION]: tag } }));
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.oci.index, manifests: entries }),
  );
  return target;
}

/** A tar of a directory (an OCI layout for an oci-archive), in a stable order. */
export function ociArchive(dir: string): Buffer {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((dirent): TarWriteEntry => {
      const path = relative(dir, join(dirent.parentPath, dirent.name));
      return dirent.isDirectory()
        ? { path: `${path}/`, type: 'directory' }
        : { path, type: 'file', body: readFileSync(join(dir, path)) };
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  return layerTar(entries);
}

export interface DockerArchiveImage extends FixtureImage {
  readonly repoTags: readonly string[];
}

/**
 * The classic `docker save` format: `<id>.json` (the config), `<id>/layer.tar` (each layer,
 * written as given, with its VERSION and v1 json), manifest.json and repositories.
 */
export function dockerArchive(image: DockerArchiveImage): Buffer {
  const configJson = Buffer.from(JSON.stringify(image.config));
  const configFile = `${sha256Hex(configJson)}.json`;
  // Docker derives v1 layer ids from the layers' chain; any distinct 64 hex digits will do.
  const layers = image.layers.map((tar, index) => ({
    id: sha256Hex(Buffer.concat([Buffer.from(String(index)), tar])),
    tar,
  }));
  const file = (path: string, body: Buffer | string): TarWriteEntry => ({
    path,
    type: 'file',
    body: typeof body === 'string' ? Buffer.from(body) : body,
  });
  const repositories: Record<string, Record<string, string>> = {};
  for (const repoTag of image.repoTags) {
    const colon = repoTag.lastIndexOf(':');
    const repository = repoTag.slice(0, colon);
    repositories[repository] = {
      ...repositories[repository],
      [repoTag.slice(colon + 1)]: layers.at(-1)?.id ?? '',
    };
  }
  return layerTar([
    file(configFile, configJson),
    ...layers.flatMap(({ id, tar }, index) => [
      { path: `${id}/`, type: 'directory' as const },
      file(`${id}/VERSION`, '1.0'),
      file(`${id}/json`, JSON.stringify({ id, parent: layers[index - 1]?.id })),
      file(`${id}/layer.tar`, tar),
    ]),
    file(
      'manifest.json',
      JSON.stringify([
        {
          Config: configFile,
          RepoTags: image.repoTags,
          Layers: layers.map(({ id }) => `${id}/layer.tar`),
        },
      ]),
    ),
    file('repositories', JSON.stringify(repositories)),
  ]);
}

const defaultImages = new Map<string, Promise<void>>();

/**
 * busybox:latest in the image store of the state root `root`, as set-up makes it in the
 * real one (once per root and process): what `tocker run busybox ...` runs in a test.
 */
export function defaultImageIn(root: string): Promise<void> {
  let ready = defaultImages.get(root);
  if (ready === undefined) {
    ready = importDirectory(
      ImageStore.open(join(root, 'store')),
      prepareDefaultImage(),
      'busybox:latest',
      {
        Cmd: ['sh'],
      },
    ).then(() => undefined);
    defaultImages.set(root, ready);
  }
  return ready;
}
