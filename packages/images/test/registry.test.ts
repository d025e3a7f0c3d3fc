import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, type TestContext, test } from 'node:test';
import { scratchDir } from '../../runtime/test/scratch.js';
import { type PullEvent, pullImage } from '../src/registry.js';
import { ImageStore } from '../src/store.js';
import {
  type Descriptor,
  diffIds,
  digestOf,
  gzip,
  imageConfig,
  layerTar,
  MEDIA_TYPES,
  writeOciLayout,
} from './fixtures.js';
import {
  basicAuthorization,
  type Credentials,
  FakeRegistry,
  parseChallenge,
  type RegistryKind,
  TestRegistry,
} from './registry.js';

const work = scratchDir('registry-test');
after(() => rmSync(work, { recursive: true, force: true }));

// Larger than the chunk size below once tarred, so its upload goes in PATCH chunks.
const incompressible = Buffer.from(
  Array.from({ length: 6000 }, (_, index) => (index * 7919) % 251),
);
const layers = [
  gzip(
    layerTar([
      { path: 'bin/', type: 'directory', mode: 0o755 },
      { path: 'bin/hello', type: 'file', mode: 0o755, body: Buffer.from('#!/bin/sh\necho hi\n') },
    ]),
  ),
  layerTar([{ path: 'data/blob', type: 'file', body: incompressible }]),
  gzip(layerTar([{ path: 'etc/motd', type: 'file', body: Buffer.from('welcome\n') }])),
];
const config = imageConfig({ cmd: ['/bin/hello'] }, diffIds(layers));
const CHUNK_SIZE = 2048;

const singleLayout = join(work, 'single');
const single = writeOciLayout(singleLayout, { layers, config }, { tags: ['1.0'] });
const platforms = [
  { ...config, architecture: 'amd64' },
  { ...config, architecture: 'arm64', variant: 'v8' },
];
const ociIndexLayout = join(work, 'oci-index');
const ociIndex = writeOciLayout(
  ociIndexLayout,
  platforms.map((platform) => ({ layers, config: platform })),
);
const dockerListLayout = join(work, 'docker-list');
const dockerList = writeOciLayout(
  dockerListLayout,
  platforms.map((platform) => ({ layers, config: platform })),
  { mediaTypes: 'docker' },
);

const blobOf = (layout: string, digest: string) =>
  readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));

/** How a GET went: the challenge answered on the way, if the registry asked for one. */
interface Fetched {
  readonly response: Response;
  readonly bytes: Buffer;
  readonly challenge: string | undefined;
}

/**
 * A GET as a client does it: anonymous first; on 401, the challenge answered (Basic, or the
 * Bearer token flow: a token from the challenge's realm for its service and scope) and the GET
 * sent again.
 */
async function get(url: string, accept?: string, credentials?: Credentials): Promise<Fetched> {
  const headers: Record<string, string> = accept === undefined ? {} : { accept };
  const first = await fetch(url, { headers });
  const challenge = first.headers.get('www-authenticate') ?? undefined;
  if (first.status !== 401 || challenge === undefined)
    return { response: first, bytes: Buffer.from(await first.arrayBuffer()), challenge };
  await first.body?.cancel();
  const { scheme, parameters } = parseChallenge(challenge);
  let authorization: string;
  if (scheme === 'Basic') {
    assert.ok(credentials, `${url} asks for credentials`);
    authorization = basicAuthorization(credentials);
  } else {
    assert.equal(scheme, 'Bearer');
    const token = await fetchToken(parameters, credentials);
    assert.equal(token.status, 200, await token.clone().text());
    authorization = `Bearer ${((await token.json()) as { token: string }).token}`;
  }
  const second = await fetch(url, { headers: { ...headers, authorization } });
  return { response: second, bytes: Buffer.from(await second.arrayBuffer()), challenge };
}

function fetchToken(
  parameters: Readonly<Record<string, string>>,
  credentials?: Credentials,
): Promise<Response> {
  const { realm, service, scope } = parameters;
  assert.ok(realm?.startsWith('http://127.0.0.1:') === true, `a realm on loopback: ${realm}`);
  const url = new URL(realm);
  if (service !== undefined) url.searchParams.set('service', service);
  if (scope !== undefined) url.searchParams.set('scope', scope);
  return fetch(url, {
    headers: credentials === undefined ? {} : { authorization: basicAuthorization(credentials) },
  });
}

/** The registry's directories this test process has now. */
const registryDirsOf = (pid: number) =>
  readdirSync(tmpdir()).filter((entry) => entry.startsWith(`tocker-registry-${pid}-`));

/** The registry processes of test process `pid`, found as the header of registry.ts says. */
function registryProcessesOf(pid: number): string[] {
  const found = spawnSync('pgrep', ['-f', `docker-registry serve .*/tocker-registry-${pid}-`], {
    encoding: 'utf8',
  });
  return found.stdout.split('\n').filter(Boolean);
}

async function refused(url: string): Promise<boolean> {
  return fetch(url).then(
    () => false,
    () => true,
  );
}

describe('TestRegistry: distribution 2.8 on loopback', () => {
  const kinds: readonly RegistryKind[] = ['anonymous', 'basic', 'token'];
  for (const kind of kinds) {
    test(`${kind}: an image pushed in chunks reads back byte for byte, and stop() leaves nothing`, async (t) => {
      const registry = await TestRegistry.start(kind);
      t.after(() => registry.stop());
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/);
      assert.equal(registry.url, `http://${registry.host}`);

      const pushed = await registry.push('team/app', '1.0', singleLayout, {
        chunkSize: CHUNK_SIZE,
      });
      assert.deepEqual(pushed, single);
      assert.match(registry.log, /http\.request\.method=PATCH/, 'the large layer went in chunks');

      const credentials = kind === 'anonymous' ? undefined : registry.credentials;
      const manifest = await get(
        `${registry.url}/v2/team/app/manifests/1.0`,
        single.mediaType,
        credentials,
      );
      assert.equal(manifest.response.status, 200);
      assert.equal(manifest.response.headers.get('content-type'), single.mediaType);
      assert.equal(manifest.response.headers.get('docker-content-digest'), single.digest);
      assert.equal(digestOf(manifest.bytes), single.digest);
      assert.deepEqual(manifest.bytes, blobOf(singleLayout, single.digest));

      if (kind === 'anonymous') assert.equal(manifest.challenge, undefined);
      if (kind === 'basic') assert.match(manifest.challenge ?? '', /^Basic realm=/);
      if (kind === 'token') {
        const { scheme, parameters } = parseChallenge(manifest.challenge ?? '');
        assert.equal(scheme, 'Bearer');
        assert.deepEqual(parameters, {
          realm: registry.tokenRealm,
          service: 'tocker-test-registry',
          scope: 'repository:team/app:pull',
        });
      }

      const { config: configDescriptor, layers: layerDescriptors } = JSON.parse(
        manifest.bytes.toString(),
      ) as { config: Descriptor; layers: Descriptor[] };
      for (const descriptor of [configDescriptor, ...layerDescriptors]) {
        const blob = await get(
          `${registry.url}/v2/team/app/blobs/${descriptor.digest}`,
          undefined,
          credentials,
        );
        assert.equal(blob.response.status, 200);
        assert.equal(digestOf(blob.bytes), descriptor.digest);
        assert.equal(blob.bytes.length, descriptor.size);
      }

      await registry.stop();
      assert.deepEqual(registryDirsOf(process.pid), []);
      assert.deepEqual(registryProcessesOf(process.pid), []);
      assert.ok(await refused(`${registry.url}/v2/`), 'the registry no longer listens');
      if (registry.tokenRealm !== undefined)
        assert.ok(await refused(registry.tokenRealm), 'the token issuer no longer listens');
    });
  }

  test('basic: no or wrong credentials get 401 with a Basic challenge', async (t) => {
    const credentials = { username: 'alice', password: 'correct horse' };
    const registry = await TestRegistry.start('basic', { credentials });
    t.after(() => registry.stop());
    const url = `${registry.url}/v2/`;

    const anonymous = await fetch(url);
    assert.equal(anonymous.status, 401);
    assert.equal(parseChallenge(anonymous.headers.get('www-authenticate') ?? '').scheme, 'Basic');
    for (const wrong of [
      { ...credentials, password: 'wrong' },
      { ...credentials, username: 'bob' },
    ]) {
      const response = await fetch(url, { headers: { authorization: basicAuthorization(wrong) } });
      assert.equal(response.status, 401, `${wrong.username}:${wrong.password}`);
    }
    const right = await fetch(url, { headers: { authorization: basicAuthorization(credentials) } });
    assert.equal(right.status, 200);
  });

  test('token: the issuer refuses wrong credentials, and a token without them grants nothing', async (t) => {
    const registry = await TestRegistry.start('token');
    t.after(() => registry.stop());
    await registry.push('team/app', '1.0', singleLayout);
    const manifestUrl = `${registry.url}/v2/team/app/manifests/1.0`;

    const base = await fetch(`${registry.url}/v2/`);
    assert.equal(base.status, 401);
    const { scheme, parameters } = parseChallenge(base.headers.get('www-authenticate') ?? '');
    assert.equal(scheme, 'Bearer');
    const realm = registry.tokenRealm ?? assert.fail('a token registry has a realm');
    assert.deepEqual(parameters, { realm, service: 'tocker-test-registry' });

    const scoped = { ...parameters, scope: 'repository:team/app:pull' };
    const wrong = await fetchToken(scoped, { ...registry.credentials, password: 'wrong' });
    assert.equal(wrong.status, 401);

    const pullWith = (token: string) =>
      fetch(manifestUrl, {
        headers: { accept: single.mediaType, authorization: `Bearer ${token}` },
      });
    const anonymous = await fetchToken(scoped);
    assert.equal(anonymous.status, 200);
    const refusedPull = await pullWith(((await anonymous.json()) as { token: string }).token);
    assert.equal(refusedPull.status, 401);
    assert.match(refusedPull.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);

    const granted = await fetchToken(scoped, registry.credentials);
    const { token } = (await granted.json()) as { token: string };
    assert.equal((await pullWith(token)).status, 200);
    const signed = token.slice(0, token.lastIndexOf('.'));
    const forged = `${signed}.${Buffer.from('forged').toString('base64url')}`;
    assert.equal((await pullWith(forged)).status, 401, 'the registry checks the signature');

    assert.deepEqual(registry.tokenRequests.slice(-3), [
      { account: 'tocker', scopes: ['repository:team/app:pull'], granted: [] },
      { account: undefined, scopes: ['repository:team/app:pull'], granted: [] },
      {
        account: 'tocker',
        scopes: ['repository:team/app:pull'],
        granted: ['repository:team/app:pull'],
      },
    ]);
  });

  test('token with anonymous pull: pulls without credentials, pushes only with them', async (t) => {
    const registry = await TestRegistry.start('token', { anonymousPull: true });
    t.after(() => registry.stop());
    await registry.push('team/app', '1.0', singleLayout);

    const manifest = await get(`${registry.url}/v2/team/app/manifests/1.0`, single.mediaType);
    assert.equal(manifest.response.status, 200);
    assert.equal(digestOf(manifest.bytes), single.digest);

    const upload = await fetchToken({
      realm: registry.tokenRealm ?? assert.fail('a token registry has a realm'),
      service: 'tocker-test-registry',
      scope: 'repository:team/app:pull,push',
    });
    const { token } = (await upload.json()) as { token: string };
    const refusedPush = await fetch(`${registry.url}/v2/team/app/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(refusedPush.status, 401);
    assert.deepEqual(registry.tokenRequests.at(-1), {
      account: undefined,
      scopes: ['repository:team/app:pull,push'],
      granted: ['repository:team/app:pull'],
    });
  });

  test('multi-platform: an OCI index and a Docker manifest list, each child manifest and blob readable', async (t) => {
    const registry = await TestRegistry.start('token');
    t.after(() => registry.stop());
    const pushes = [
      { tag: 'oci', layout: ociIndexLayout, index: ociIndex, mediaTypes: MEDIA_TYPES.oci },
      {
        tag: 'docker',
        layout: dockerListLayout,
        index: dockerList,
        mediaTypes: MEDIA_TYPES.docker,
      },
    ];
    for (const { tag, layout, index, mediaTypes } of pushes) {
      assert.equal(index.mediaType, mediaTypes.index);
      assert.deepEqual(await registry.push('team/multi', tag, layout), index);
      const read = await get(
        `${registry.url}/v2/team/multi/manifests/${tag}`,
        index.mediaType,
        registry.credentials,
      );
      assert.equal(read.response.status, 200, tag);
      assert.equal(read.response.headers.get('content-type'), index.mediaType);
      assert.deepEqual(read.bytes, blobOf(layout, index.digest));

      const { manifests } = JSON.parse(read.bytes.toString()) as { manifests: Descriptor[] };
      // Each platform's image and its attestation manifest.
      assert.equal(manifests.length, 2 * platforms.length);
      for (const child of manifests) {
        const childRead = await get(
          `${registry.url}/v2/team/multi/manifests/${child.digest}`,
          child.mediaType,
          registry.credentials,
        );
        assert.equal(childRead.response.status, 200);
        assert.equal(childRead.response.headers.get('content-type'), child.mediaType);
        assert.equal(digestOf(childRead.bytes), child.digest);
        const { config: childConfig } = JSON.parse(childRead.bytes.toString()) as {
          config: Descriptor;
        };
        const configRead = await get(
          `${registry.url}/v2/team/multi/blobs/${childConfig.digest}`,
          undefined,
          registry.credentials,
        );
        assert.equal(digestOf(configRead.bytes), childConfig.digest);
      }
    }
  });

  test('a registry dies with its test process, even SIGKILLed', async (t) => {
    const registryModule = new URL('./registry.ts', import.meta.url).pathname;
    const testProcess = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        '--input-type=module',
        '--eval',
        `const { TestRegistry } = await import(${JSON.stringify(registryModule)});
         const registry = await TestRegistry.start('anonymous');
         console.log(registry.url);
         setInterval(() => {}, 60_000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pid = testProcess.pid ?? assert.fail('node did not start');
    t.after(() => {
      testProcess.kill('SIGKILL');
      // What the sweep before the next run would remove.
      for (const dir of registryDirsOf(pid))
        rmSync(join(tmpdir(), dir), { recursive: true, force: true });
    });
    const printed = (await Promise.race([
      once(testProcess.stdout, 'data'),
      once(testProcess, 'exit').then(([code]) => assert.fail(`the test process exited (${code})`)),
    ])) as [Buffer];
    const registryUrl = printed[0].toString().trim();
    assert.equal((await fetch(`${registryUrl}/v2/`)).status, 200);
    assert.equal(registryProcessesOf(pid).length, 1);
    assert.equal(registryDirsOf(pid).length, 1);

    testProcess.kill('SIGKILL');
    await once(testProcess, 'exit');
    const deadline = Date.now() + 5000;
    while (registryProcessesOf(pid).length > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(registryProcessesOf(pid), []);
    assert.ok(await refused(`${registryUrl}/v2/`));
  });
});

describe('FakeRegistry: given bytes, verbatim', () => {
  test('serves a blob that is not its digest, behind a Bearer challenge it answers itself', async (t) => {
    const fake = await FakeRegistry.start();
    t.after(() => fake.stop());
    assert.match(fake.host, /^127\.0\.0\.1:\d+$/);

    const claimed = digestOf(Buffer.from('what the manifest promised'));
    const served = Buffer.from('something else entirely');
    const blobPath = `/v2/team/app/blobs/${claimed}`;
    fake.serve(blobPath, {
      headers: { 'content-type': 'application/octet-stream', 'docker-content-digest': claimed },
      body: served,
    });
    fake.serve('/token', { body: JSON.stringify({ token: 'fake-token' }) });
    const challenge = `Bearer realm="${fake.url}/token",service="fake",scope="repository:team/app:pull"`;
    fake.requireAuthorization(challenge, 'Bearer fake-token');

    const blob = await get(`${fake.url}${blobPath}`);
    assert.equal(blob.challenge, challenge);
    assert.equal(blob.response.status, 200);
    assert.deepEqual(blob.bytes, served);
    assert.equal(blob.response.headers.get('docker-content-digest'), claimed);
    assert.notEqual(digestOf(blob.bytes), claimed);

    const head = await fetch(`${fake.url}${blobPath}`, {
      method: 'HEAD',
      headers: { authorization: 'Bearer fake-token' },
    });
    assert.equal(head.headers.get('content-length'), String(served.length));
    const missing = await fetch(`${fake.url}/v2/team/app/blobs/${digestOf(served)}`, {
      headers: { authorization: 'Bearer fake-token' },
    });
    assert.equal(missing.status, 404);

    assert.deepEqual(
      fake.requests.map(({ method, url, authorization }) => [method, url, authorization]),
      [
        ['GET', blobPath, undefined],
        ['GET', '/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull', undefined],
        ['GET', blobPath, 'Bearer fake-token'],
        ['HEAD', blobPath, 'Bearer fake-token'],
        ['GET', `/v2/team/app/blobs/${digestOf(served)}`, 'Bearer fake-token'],
      ],
    );
  });

  test('answers GET /v2/ as a registry and a manifest with the headers given', async (t) => {
    const fake = await FakeRegistry.start();
    t.after(() => fake.stop());
    const base = await fetch(`${fake.url}/v2/`);
    assert.equal(base.status, 200);
    assert.equal(base.headers.get('docker-distribution-api-version'), 'registry/2.0');

    const manifest = blobOf(singleLayout, single.digest);
    fake.serve('/v2/team/app/manifests/1.0', {
      headers: { 'content-type': single.mediaType, 'docker-content-digest': single.digest },
      body: manifest,
    });
    const read = await get(`${fake.url}/v2/team/app/manifests/1.0`, single.mediaType);
    assert.equal(read.response.headers.get('content-type'), single.mediaType);
    assert.deepEqual(read.bytes, manifest);
  });
});

/** A pull's progress, and a wait until a blob's download has passed some bytes on. */
class PullEvents {
  private readonly events: PullEvent[] = [];
  private waiting: { digest: string; bytes: number; resolve: () => void }[] = [];

  readonly onEvent = (event: PullEvent): void => {
    this.events.push(event);
    this.wake();
  };

  /** Once `bytes` of blob `digest` have gone to the store. */
  reached(digest: string, bytes: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push({ digest, bytes, resolve });
      this.wake();
    });
  }

  /** What each 'layer' event of blob `digest` said had been received, in order. */
  receivedOf(digest: string): number[] {
    return this.events.flatMap((event) =>
      event.kind === 'layer' && event.digest === digest ? [event.received] : [],
    );
  }

  private wake(): void {
    this.waiting = this.waiting.filter(({ digest, bytes, resolve }) => {
      if (!this.receivedOf(digest).some((received) => received >= bytes)) return true;
      resolve();
      return false;
    });
  }
}

describe('pullImage: a blob download whose connection drops', () => {
  const reference = (fake: FakeRegistry) => `${fake.host}/team/app:1.0`;
  const blobPath = (digest: string) => `/v2/team/app/blobs/${digest}`;
  const { config: configDescriptor } = JSON.parse(
    blobOf(singleLayout, single.digest).toString(),
  ) as { config: Descriptor };
  // The large uncompressed layer, cut in the middle of its file's data.
  const dropped = { body: layers[1] as Buffer, digest: digestOf(layers[1] as Buffer) };
  const CUT_AT = 3000;

  /** A fake registry serving the image of `singleLayout`, and an empty store to pull into. */
  async function started(t: TestContext) {
    const fake = await FakeRegistry.start();
    t.after(() => fake.stop());
    fake.serveLayout('team/app', '1.0', singleLayout);
    return { fake, store: ImageStore.open(mkdtempSync(join(work, 'store-'))) };
  }

  for (const ranges of [true, false]) {
    const answer = ranges
      ? 'the rest (206)'
      : 'the whole blob again (200), its first bytes skipped';
    test(`resumes where it broke off: Range from the byte it had, ${answer}`, async (t) => {
      const { fake, store } = await started(t);
      const progress = new PullEvents();
      fake.serve(blobPath(dropped.digest), {
        body: dropped.body,
        ranges,
        // The cut waits until the pull has every byte sent: it resumes from CUT_AT exactly.
        interruption: {
          afterBytes: CUT_AT,
          times: 1,
          before: () => progress.reached(dropped.digest, CUT_AT),
        },
      });

      const image = await pullImage(store, reference(fake), { onEvent: progress.onEvent });

      assert.equal(image.digest, single.digest);
      assert.equal(image.id, configDescriptor.digest);
      assert.deepEqual(
        image.layers.map((layer) => layer.diffId),
        diffIds(layers),
      );
      assert.deepEqual(store.readBlob(dropped.digest), dropped.body);
      assert.deepEqual(
        readFileSync(join(image.layers[1]?.dir ?? '', 'data', 'blob')),
        incompressible,
      );
      assert.deepEqual(
        fake.requests
          .filter((request) => request.url === blobPath(dropped.digest))
          .map(({ method, range }) => [method, range]),
        [
          ['GET', undefined],
          ['GET', `bytes=${CUT_AT}-`],
        ],
      );
      for (const layer of layers) {
        const received = progress.receivedOf(digestOf(layer));
        assert.ok(
          received.every((bytes, index) => index === 0 || bytes > (received[index - 1] ?? 0)),
          `progress only goes up: ${received}`,
        );
        assert.equal(received.at(-1), layer.length);
      }
      assert.ok(progress.receivedOf(dropped.digest).includes(CUT_AT));
      assert.deepEqual(readdirSync(join(store.root, 'ingest')), []);
    });
  }

  test('a connection that drops every time: one error naming the blob and the attempts; nothing kept', async (t) => {
    const { fake, store } = await started(t);
    // Each answer cut after a tenth of the blob: four attempts cannot finish one.
    for (const layer of layers)
      fake.serve(blobPath(digestOf(layer)), {
        body: layer,
        ranges: true,
        interruption: { afterBytes: Math.floor(layer.length / 10) },
      });

    await assert.rejects(pullImage(store, reference(fake)), (error: Error) => {
      const named =
        /^blob (sha256:[0-9a-f]{64}): gave up after 4 attempts, the connection broke off each time \(the last at byte \d+ of \d+: other side closed\)$/.exec(
          error.message,
        )?.[1];
      assert.ok(named !== undefined, error.message);
      assert.ok(layers.map(digestOf).includes(named), `${named} is a layer`);
      assert.equal(
        fake.requests.filter((request) => request.url === blobPath(named)).length,
        4,
        'the first GET and 3 resumptions',
      );
      return true;
    });
    assert.deepEqual(store.list(), []);
    for (const dir of ['ingest', 'layers', 'blobs/sha256'])
      assert.deepEqual(readdirSync(join(store.root, dir)), [], dir);
  });
});
