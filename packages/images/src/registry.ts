import { Readable } from 'node:stream';
import { TockerError } from '@tocker/runtime';
import { type Credentials, credentialsFor } from './credentials.js';
import {
  type Descriptor,
  digestOf,
  indexSchema,
  isIndex,
  mediaTypes,
  parseJson,
  selectPlatform,
} from './oci.js';
import {
  canonicalName,
  DEFAULT_REGISTRY,
  type ImageReference,
  parseReference,
} from './reference.js';
import type { ImageStore, StoredImage } from './store.js';

/** What a pull reports as it goes: per layer, as docker pull shows it. */
export type PullEvent =
  | { readonly kind: 'resolved'; readonly digest: string; readonly layers: readonly Descriptor[] }
  | {
      readonly kind: 'layer';
      readonly digest: string;
      readonly received: number;
      readonly total: number;
    }
  | { readonly kind: 'layer-done'; readonly digest: string; readonly cached: boolean };

export interface PullOptions {
  /** Registries spoken to over plain HTTP besides loopback ones (--insecure-registry). */
  readonly insecure?: readonly string[];
  readonly onEvent?: (event: PullEvent) => void;
}

const MANIFEST_TYPES = [
  mediaTypes.ociIndex,
  mediaTypes.dockerList,
  mediaTypes.ociManifest,
  mediaTypes.dockerManifest,
].join(', ');

/** Manifests are small: anything larger is not one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const isLoopback = (host: string) => /^(localhost|127(\.\d+){3}|\[::1\])(:\d+)?$/.test(host);

/**
 * How many times one blob's download is taken up again where its connection broke off
 * before the pull gives up: a dropped connection costs the bytes in flight, not the layer.
 */
const BLOB_RESUMPTIONS = 3;

/** What went wrong in a fetch, without undici's wrapping (`TypeError: terminated`). */
const reasonOf = (error: unknown): string =>
  error instanceof Error
    ? error.cause instanceof Error
      ? error.cause.message
      : error.message
    : String(error);

/**
 * One registry repository, spoken to as the distribution spec says: every request retried
 * once with the authorization its 401 asks for (a bearer token from the realm it names,
 * anonymous or with the stored credentials, or basic credentials). Credentials go only to
 * the registry they are stored for and to the realm it names, and never into a message.
 */
class Repository {
  private authorization: string | null = null;

  constructor(
    private readonly base: string,
    readonly name: string,
    private readonly credentials: Credentials | null,
    readonly registry: string,
  ) {}

  async get(path: string, headers: Readonly<Record<string, string>> = {}): Promise<Response> {
    const url = `${this.base}/v2/${this.name}/${path}`;
    const request = () =>
      fetch(url, {
        headers: {
          ...headers,
          ...(this.authorization === null ? {} : { authorization: this.authorization }),
        },
        redirect: 'follow',
      }).catch((error: unknown) => {
        throw new TockerError(`registry ${this.registry}: ${reasonOf(error)}`);
      });
    let response = await request();
    if (response.status === 401) {
      await response.body?.cancel();
      this.authorization = await this.authorize(response.headers.get('www-authenticate') ?? '');
      response = await request();
    }
    if (response.status === 401 || response.status === 403)
      throw new TockerError(
        `registry ${this.registry} refused access to ${this.name}${this.credentials === null ? ' (tocker login?)' : ': check the credentials of tocker login'}`,
      );
    if (response.status === 404)
      throw new TockerError(
        `${this.registry}/${this.name}: ${path.startsWith('manifests/') ? `no ${path.slice('manifests/'.length)}` : 'not found'}`,
      );
    if (!response.ok)
      throw new TockerError(
        `registry ${this.registry}: ${response.status} ${response.statusText} for ${path}`,
      );
    return response;
  }

  private async authorize(challenge: string): Promise<string> {
    const [scheme = '', rest = ''] = challenge.split(/ (.*)/s);
    const parameters = Object.fromEntries(
      [...rest.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [
        key as string,
        value as string,
      ]),
    );
    const basic =
      this.credentials === null
        ? null
        : `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (scheme.toLowerCase() === 'basic') {
      if (basic === null)
        throw new TockerError(
          `registry ${this.registry} needs credentials: tocker login ${this.registry}`,
        );
      return basic;
    }
    if (scheme.toLowerCase() !== 'bearer' || parameters.realm === undefined)
      throw new TockerError(
        `registry ${this.registry}: an authorization challenge tocker does not know (${scheme})`,
      );
    const realm = new URL(parameters.realm);
    if (parameters.service !== undefined) realm.searchParams.set('service', parameters.service);
    realm.searchParams.set('scope', parameters.scope ?? `repository:${this.name}:pull`);
    const response = await fetch(realm, {
      headers: basic === null ? {} : { authorization: basic },
    }).catch((error: Error) => {
      throw new TockerError(`the token service of ${this.registry}: ${error.message}`);
    });
    if (!response.ok)
      throw new TockerError(
        `the token service of ${this.registry} refused: ${response.status}${basic === null ? '' : ' (check the credentials of tocker login)'}`,
      );
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (token === undefined)
      throw new TockerError(`the token service of ${this.registry} sent no token`);
    return `Bearer ${token}`;
  }
}

function endpointOf(reference: ImageReference, insecure: readonly string[]): string {
  if (reference.registry === DEFAULT_REGISTRY) return 'https://registry-1.docker.io';
  const plain = isLoopback(reference.registry) || insecure.includes(reference.registry);
  return `${plain ? 'http' : 'https'}://${reference.registry}`;
}

async function readManifest(response: Response, expected: string | null): Promise<Buffer> {
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_MANIFEST_BYTES) throw new TockerError('a manifest larger than 4 MiB');
  const digest = digestOf(bytes);
  if (expected !== null && digest !== expected)
    throw new TockerError(`manifest ${expected}: the bytes received are ${digest}`);
  return bytes;
}

/**
 * `tocker pull`: the image's manifest (this platform's, from an index), its configuration
 * and the layers the store does not have, each verified as the store takes it in
 * (ImageStore.addImage), then its name. Nothing is named or kept from a failed pull.
 */
export async function pullImage(
  store: ImageStore,
  text: string,
  options: PullOptions = {},
): Promise<StoredImage> {
  const reference = parseReference(text);
  const repository = new Repository(
    endpointOf(reference, options.insecure ?? []),
    reference.repository,
    credentialsFor(reference.registry),
    reference.registry,
  );
  const wanted = reference.digest ?? reference.tag ?? 'latest';
  let bytes = await readManifest(
    await repository.get(`manifests/${wanted}`, { accept: MANIFEST_TYPES }),
    reference.digest,
  );
  let descriptor: Descriptor | undefined;
  const top = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
  if (isIndex(top.mediaType) || (top.mediaType === undefined && Array.isArray(top.manifests))) {
    const chosen = selectPlatform(parseJson(indexSchema, bytes, 'image index'));
    if (chosen === null) throw new TockerError(`${text} has no image for this platform`);
    descriptor = chosen;
    bytes = await readManifest(
      await repository.get(`manifests/${chosen.digest}`, { accept: MANIFEST_TYPES }),
      chosen.digest,
    );
  }
  const readBlob = (blob: Descriptor): AsyncIterable<Uint8Array> =>
    downloading(repository, blob, options.onEvent);
  const image = await store.addImage(bytes, readBlob, descriptor, {
    resolved: (layers) => options.onEvent?.({ kind: 'resolved', digest: digestOf(bytes), layers }),
    layerDone: (layer, cached) =>
      options.onEvent?.({ kind: 'layer-done', digest: layer.digest, cached }),
  });
  if (reference.digest === null) store.tag(canonicalName(reference), image.digest);
  return store.image(image.digest);
}

/**
 * A blob's bytes as they arrive, with progress. When the connection breaks off while the
 * body is read, the blob is asked for again from the first byte not yet passed on, up to
 * BLOB_RESUMPTIONS times: the consumer sees one unbroken sequence of bytes, which the store
 * verifies whole against the blob's digest.
 */
async function* downloading(
  repository: Repository,
  blob: Descriptor,
  onEvent: PullOptions['onEvent'],
): AsyncGenerator<Uint8Array> {
  let received = 0;
  for (let attempt = 1; ; attempt++) {
    const answer = await requestBlob(repository, blob, received);
    const chunks: AsyncIterator<Uint8Array> = Readable.fromWeb(answer.body)[Symbol.asyncIterator]();
    let skip = answer.skip;
    try {
      for (;;) {
        // Only a failure to read the body is resumable: one of the request (refused,
        // not found) or of the consumer is not a dropped connection.
        let next: IteratorResult<Uint8Array>;
        try {
          next = await chunks.next();
        } catch (error) {
          if (attempt > BLOB_RESUMPTIONS)
            throw new TockerError(
              `blob ${blob.digest}: gave up after ${attempt} attempts, the connection broke off each time (the last at byte ${received} of ${blob.size}: ${reasonOf(error)})`,
            );
          break;
        }
        if (next.done) return;
        const skipped = Math.min(skip, next.value.length);
        skip -= skipped;
        const fresh = next.value.subarray(skipped);
        if (fresh.length === 0) continue;
        received += fresh.length;
        onEvent?.({ kind: 'layer', digest: blob.digest, received, total: blob.size });
        yield fresh;
      }
    } finally {
      // The connection of an answer not read to its end (a consumer that stopped) is closed.
      await chunks.return?.();
    }
  }
}

/**
 * GET of a blob from byte `from` on: the body, and how many bytes at its start the caller
 * already has. No If-Range: a blob is named by its digest, so its bytes cannot have changed
 * between two requests (and the store checks the digest of the whole). A registry that
 * ignores Range answers 200 with the whole blob, whose first `from` bytes are skipped.
 */
async function requestBlob(
  repository: Repository,
  blob: Descriptor,
  from: number,
): Promise<{ body: ReadableStream<Uint8Array>; skip: number }> {
  const response = await repository.get(
    `blobs/${blob.digest}`,
    from === 0 ? {} : { range: `bytes=${from}-` },
  );
  if (response.body === null) throw new TockerError(`blob ${blob.digest}: an empty answer`);
  const body = response.body;
  if (response.status !== 206) return { body, skip: from };
  const range = response.headers.get('content-range');
  if (range?.match(/^bytes (\d+)-\d+\/(?:\d+|\*)$/)?.[1] !== String(from)) {
    await body.cancel();
    throw new TockerError(
      `blob ${blob.digest}: asked for its bytes from ${from} on, the registry sent ${range ?? '206 without Content-Range'}`,
    );
  }
  return { body, skip: 0 };
}
