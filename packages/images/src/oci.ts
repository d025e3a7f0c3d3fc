import { createHash } from 'node:crypto';
import { TockerError } from '@tocker/runtime';
import { z } from 'zod';

/**
 * The OCI image format (and Docker's schema2, its twin), as far as tocker reads it: what
 * is stored is exactly the bytes received (digests cover them), what is used is parsed
 * with these schemas first.
 */

export const mediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export type Compression = 'none' | 'gzip' | 'zstd';

/** How a layer blob is compressed, from its media type; null for one that is no layer. */
export function layerCompression(mediaType: string): Compression | null {
  switch (mediaType) {
    case mediaTypes.ociLayer:
    case mediaTypes.dockerLayer:
      return 'none';
    case mediaTypes.ociLayerGzip:
    case mediaTypes.dockerLayerGzip:
      return 'gzip';
    case mediaTypes.ociLayerZstd:
      return 'zstd';
    default:
      return null;
  }
}

export const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const digest = z.string().regex(DIGEST, 'a sha256 digest');

const platformSchema = z
  .object({ architecture: z.string(), os: z.string(), variant: z.string().optional() })
  .passthrough();

export const descriptorSchema = z
  .object({
    mediaType: z.string(),
    digest,
    size: z.number().int().nonnegative(),
    platform: platformSchema.optional(),
    annotations: z.record(z.string()).optional(),
  })
  .passthrough();
export type Descriptor = z.output<typeof descriptorSchema>;

export const indexSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    manifests: z.array(descriptorSchema),
  })
  .passthrough();
export type ImageIndex = z.output<typeof indexSchema>;

export const manifestSchema = z
  .object({
    schemaVersion: z.literal(2),
    mediaType: z.string().optional(),
    config: descriptorSchema,
    layers: z.array(descriptorSchema),
  })
  .passthrough();
export type ImageManifest = z.output<typeof manifestSchema>;

/** The part of an image's configuration that says how its containers run. */
export const runConfigSchema = z
  .object({
    Entrypoint: z.array(z.string()).nullable().optional(),
    Cmd: z.array(z.string()).nullable().optional(),
    Env: z.array(z.string()).nullable().optional(),
    WorkingDir: z.string().optional(),
    User: z.string().optional(),
    ExposedPorts: z.record(z.object({}).passthrough()).nullable().optional(),
    StopSignal: z.string().optional(),
    Labels: z.record(z.string()).nullable().optional(),
  })
  .passthrough();

export const imageConfigSchema = z
  .object({
    architecture: z.string(),
    os: z.string(),
    created: z.string().optional(),
    config: runConfigSchema.optional(),
    rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(digest) }).passthrough(),
  })
  .passthrough();
export type ImageConfig = z.output<typeof imageConfigSchema>;

export const isIndex = (mediaType: string | undefined) =>
  mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerList;

/** This host's platform in OCI's words. */
export function hostPlatform(): { os: string; architecture: string } {
  const architecture =
    (
      {
        x64: 'amd64',
        arm64: 'arm64',
        arm: 'arm',
        ia32: '386',
        ppc64: 'ppc64le',
        s390x: 's390x',
      } as const
    )[process.arch as 'x64'] ?? process.arch;
  return { os: 'linux', architecture };
}

/**
 * The manifest of an index for this host: same OS and architecture; attestations and
 * other entries without a real platform (`unknown/unknown`) are never images to run.
 */
export function selectPlatform(index: ImageIndex): Descriptor | null {
  const host = hostPlatform();
  return (
    index.manifests.find(
      (entry) =>
        entry.platform?.os === host.os &&
        entry.platform.architecture === host.architecture &&
        entry.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest',
    ) ?? null
  );
}

/** The media type of a layer blob so compressed, in the OCI's or docker's vocabulary. */
export function layerMediaType(compression: Compression, vocabulary: 'oci' | 'docker'): string {
  if (compression === 'zstd') return mediaTypes.ociLayerZstd;
  if (vocabulary === 'docker')
    return compression === 'gzip' ? mediaTypes.dockerLayerGzip : mediaTypes.dockerLayer;
  return compression === 'gzip' ? mediaTypes.ociLayerGzip : mediaTypes.ociLayer;
}

/** JSON from an image or an archive, checked against its schema; one clear line if not. */
export function parseJson<Schema extends z.ZodTypeAny>(
  schema: Schema,
  bytes: Buffer,
  what: string,
): z.output<Schema> {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TockerError(`the ${what} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TockerError(`the ${what} is not valid: ${issue?.path.join('.')} ${issue?.message}`);
  }
  return parsed.data;
}
