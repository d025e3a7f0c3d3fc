// Registries on loopback for the tests of pulling images (Docker Registry HTTP API v2, the OCI
// distribution spec): Debian's docker-registry (distribution 2.8) without auth, with htpasswd
// basic auth or with token auth (its token issuer served by the test process), a minimal client
// that pushes an OCI layout to it, and a fake registry serving given bytes verbatim, for what a
// real registry refuses to store (a blob that is not what its digest says).
//
// Nothing is left behind by a test that fails or is killed:
// - the registry is started through `setpriv --pdeathsig KILL`, so the kernel kills it when its
//   test process dies, SIGKILLed included (the token issuer and the fake registry are servers in
//   the test process itself);
// - its directory (config, storage, keys) is a scratchDir, tocker-registry-PID-XXXXXX, which the
//   sweep before each test run removes once the test process PID is gone.
// Should a registry outlive its test anyway, `pgrep -af 'docker-registry serve'` lists it, with
// its config's path: a registry of test process PID runs $TMPDIR/tocker-registry-PID-*/config.yml.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  createPrivateKey,
  createSign,
  type KeyObject,
  randomUUID,
  X509Certificate,
} from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { scratchDir } from '../../runtime/test/scratch.js';
import type { Descriptor } from './fixtures.js';

const LOOPBACK = '127.0.0.1';
/** What the registry calls itself: its basic auth realm, its token auth service. */
const SERVICE = 'tocker-test-registry';
/** The issuer of tokens the registry trusts. */
const TOKEN_ISSUER = 'tocker-test-token-issuer';
const TOKEN_LIFETIME_SECONDS = 300;
const STARTUP_TIMEOUT_MS = 10_000;
/** The tail of the registry's log kept for error messages. */
const LOG_TAIL_CHARS = 16_384;

export type RegistryKind = 'anonymous' | 'basic' | 'token';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface RegistryOptions {
  /** The one account of a 'basic' or 'token' registry (default tocker / tocker-secret). */
  readonly credentials?: Credentials;
  /** Whether the token issuer grants pull to callers without credentials (default false). */
  readonly anonymousPull?: boolean;
}

export interface PushOptions {
  /** Upload blobs larger than this in PATCH chunks of this size, as docker does (default:
   * each blob in one PUT). */
  readonly chunkSize?: number;
}

/** A request the token issuer answered (with a token or with 401). */
export interface TokenRequest {
  /** Who authenticated; undefined for an anonymous request. */
  readonly account: string | undefined;
  readonly scopes: readonly string[];
  /** The access the token grants, such as 'repository:team/app:pull'; empty when refused. */
  readonly granted: readonly string[];
}

export interface Challenge {
  readonly scheme: string;
  readonly parameters: Readonly<Record<string, string>>;
}

/**
 * A WWW-Authenticate header such as `Bearer realm="http://…/token",service="registry",
 * scope="repository:team/app:pull,push"`: one challenge, its parameters quoted or not.
 */
export function parseChallenge(header: string): Challenge {
  const scheme = /^\s*(\S+)/.exec(header)?.[1] ?? '';
  const parameters: Record<string, string> = {};
  const parameter = /([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (const match of header.slice(header.indexOf(scheme) + scheme.length).matchAll(parameter)) {
    const [, name, quoted, bare] = match;
    if (name !== undefined) parameters[name] = quoted?.replace(/\\(.)/g, '$1') ?? bare ?? '';
  }
  return { scheme, parameters };
}

export function basicAuthorization({ username, password }: Credentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  const encoded = /^Basic\s+(\S+)$/i.exec(header ?? '')?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString();
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameCredentials(a: Credentials | undefined, b: Credentials): boolean {
  return a?.username === b.username && a.password === b.password;
}

async function listenOnLoopback(server: Server): Promise<string> {
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  return `${LOOPBACK}:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  // Clients' idle keep-alive connections would hold close() up.
  server.closeAllConnections();
  await closed;
}

function replyJson(response: ServerResponse, status: number, json: object, headers = {}): void {
  const body = JSON.stringify(json);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** A scope such as `repository:team/app:pull,push`: the actions after the last ':'. */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const typeEnd = scope.indexOf(':');
  const actionsStart = scope.lastIndexOf(':');
  if (typeEnd <= 0 || actionsStart === typeEnd) return undefined;
  return {
    type: scope.slice(0, typeEnd),
    name: scope.slice(typeEnd + 1, actionsStart),
    actions: scope
      .slice(actionsStart + 1)
      .split(',')
      .filter((action) => action !== ''),
  };
}

function encodeJwtPart(json: object): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/**
 * The docker token flow's issuer (docs/spec/auth/token.md of distribution): GET
 * /token?service=…&scope=… with optional basic credentials answers an RS256 JWT whose x5c
 * header carries the certificate the registry trusts (distribution 2.8 finds the key by x5c, or
 * by a kid in libtrust's fingerprint format, which x5c spares us).
 */
class TokenIssuer {
  readonly requests: TokenRequest[] = [];

  private constructor(
    readonly server: Server,
    /** http://127.0.0.1:PORT/token */
    readonly realm: string,
    /** The PEM of the certificate, for the registry's rootcertbundle. */
    readonly certificatePath: string,
    private readonly signingKey: KeyObject,
    private readonly certificate: X509Certificate,
    private readonly account: Credentials,
    private readonly anonymousPull: boolean,
  ) {}

  /** Signs with a new key whose self-signed certificate it writes into `dir`. */
  static async start(
    dir: string,
    account: Credentials,
    anonymousPull: boolean,
  ): Promise<TokenIssuer> {
    const keyPath = join(dir, 'token-key.pem');
    const certificatePath = join(dir, 'token-cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${TOKEN_ISSUER}`,
        '-keyout',
        keyPath,
        '-out',
        certificatePath,
      ],
      { stdio: 'pipe' },
    );
    const server = createServer();
    const issuer = new TokenIssuer(
      server,
      `http://${await listenOnLoopback(server)}/token`,
      certificatePath,
      createPrivateKey(readFileSync(keyPath)),
      new X509Certificate(readFileSync(certificatePath)),
      account,
      anonymousPull,
    );
    server.on('request', (request, response) => issuer.answer(request, response));
    return issuer;
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', `http://${LOOPBACK}`);
    if (request.method !== 'GET' || url.pathname !== '/token') {
      replyJson(response, 404, { errors: [{ code: 'NOT_FOUND', message: 'not a token route' }] });
      return;
    }
    if (url.searchParams.get('service') !== SERVICE) {
      replyJson(response, 400, {
        errors: [{ code: 'INVALID_REQUEST', message: `service must be ${SERVICE}` }],
      });
      return;
    }
    // Clients send one scope parameter per scope; OAuth2 puts several in one, spaced.
    const scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' '));
    const authorization = request.headers.authorization;
    const presented = parseBasicAuthorization(authorization);
    if (authorization !== undefined && !sameCredentials(presented, this.account)) {
      this.requests.push({ account: presented?.username, scopes, granted: [] });
      replyJson(
        response,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'wrong credentials' }] },
        { 'www-authenticate': `Basic realm="${TOKEN_ISSUER}"` },
      );
      return;
    }
    const account = presented?.username;
    const access = scopes.flatMap((scope) => {
      const parsed = parseScope(scope);
      if (parsed === undefined) return [];
      const actions = parsed.actions.filter(
        (action) => account !== undefined || (this.anonymousPull && action === 'pull'),
      );
      return actions.length === 0 ? [] : [{ ...parsed, actions }];
    });
    this.requests.push({
      account,
      scopes,
      granted: access.map(({ type, name, actions }) => `${type}:${name}:${actions.join(',')}`),
    });
    const now = Math.floor(Date.now() / 1000);
    const token = this.sign({
      iss: TOKEN_ISSUER,
      sub: account ?? '',
      aud: SERVICE,
      exp: now + TOKEN_LIFETIME_SECONDS,
      nbf: now,
      iat: now,
      jti: randomUUID(),
      access,
    });
    replyJson(response, 200, {
      token,
      access_token: token,
      expires_in: TOKEN_LIFETIME_SECONDS,
      issued_at: new Date(now * 1000).toISOString(),
    });
  }

  private sign(claims: object): string {
    const header = { typ: 'JWT', alg: 'RS256', x5c: [this.certificate.raw.toString('base64')] };
    const signingInput = `${encodeJwtPart(header)}.${encodeJwtPart(claims)}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(this.signingKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}

interface ClientRequest {
  readonly method: 'HEAD' | 'POST' | 'PATCH' | 'PUT';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

/**
 * Talks to a registry as a client would: answers its 401 challenges (Basic, or the Bearer token
 * flow with the challenge's realm, service and scope) and retries once with what it got.
 */
class RegistryClient {
  private authorization: string | undefined;

  constructor(
    private readonly base: string,
    private readonly credentials: Credentials | undefined,
  ) {}

  async request(target: string, init: ClientRequest): Promise<Response> {
    const send = () =>
      // (As RequestInit: a Buffer is a body to Node's fetch, but not to the DOM's types,
      // which the e2e tests that start a FakeRegistry are compiled with.)
      fetch(new URL(target, this.base), {
        ...init,
        redirect: 'manual',
        headers: {
          ...init.headers,
          ...(this.authorization === undefined ? {} : { authorization: this.authorization }),
        },
      } as RequestInit);
    const response = await send();
    const challenge = response.headers.get('www-authenticate');
    if (response.status !== 401 || challenge === null) return response;
    await response.body?.cancel();
    this.authorization = await this.answer(parseChallenge(challenge));
    return send();
  }

  private async answer({ scheme, parameters }: Challenge): Promise<string> {
    if (scheme.toLowerCase() === 'basic') {
      if (this.credentials === undefined) throw new Error('the registry asks for credentials');
      return basicAuthorization(this.credentials);
    }
    const { realm, service, scope } = parameters;
    if (scheme.toLowerCase() !== 'bearer' || realm === undefined)
      throw new Error(`unexpected challenge ${scheme} ${JSON.stringify(parameters)}`);
    const tokenUrl = new URL(realm);
    if (service !== undefined) tokenUrl.searchParams.set('service', service);
    if (scope !== undefined) tokenUrl.searchParams.set('scope', scope);
    const response = await fetch(tokenUrl, {
      headers:
        this.credentials === undefined
          ? {}
          : { authorization: basicAuthorization(this.credentials) },
    });
    if (!response.ok) throw new Error(`token request: ${response.status} ${await response.text()}`);
    const { token, access_token } = (await response.json()) as {
      token?: string;
      access_token?: string;
    };
    return `Bearer ${token ?? access_token}`;
  }
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status !== status)
    throw new Error(`${what}: ${response.status} instead of ${status}: ${await response.text()}`);
}

function locationOf(response: Response, base: string): string {
  const location = response.headers.get('location');
  if (location === null) throw new Error(`no Location in the answer to ${response.url}`);
  return new URL(location, base).href;
}

interface ManifestJson {
  readonly manifests?: readonly Descriptor[];
  readonly config?: Descriptor;
  readonly layers?: readonly Descriptor[];
}

/** Pushes what an OCI image layout directory holds, blobs first, then manifests bottom up. */
class LayoutPusher {
  constructor(
    private readonly client: RegistryClient,
    private readonly base: string,
    private readonly repository: string,
    private readonly layout: string,
    private readonly options: PushOptions,
  ) {}

  private blob(digest: string): Buffer {
    const [algorithm, hex] = digest.split(':');
    if (algorithm === undefined || hex === undefined) throw new Error(`not a digest: ${digest}`);
    return readFileSync(join(this.layout, 'blobs', algorithm, hex));
  }

  async pushManifest(descriptor: Descriptor, reference: string): Promise<void> {
    const bytes = this.blob(descriptor.digest);
    const manifest = JSON.parse(bytes.toString()) as ManifestJson;
    for (const child of manifest.manifests ?? []) await this.pushManifest(child, child.digest);
    for (const blob of [manifest.config ?? [], manifest.layers ?? []].flat())
      await this.pushBlob(blob.digest);
    const response = await this.client.request(`/v2/${this.repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': descriptor.mediaType },
      body: bytes,
    });
    await expectStatus(response, 201, `PUT manifest ${reference}`);
    const stored = response.headers.get('docker-content-digest');
    if (stored !== descriptor.digest)
      throw new Error(`the registry stored manifest ${reference} as ${stored}`);
  }

  private async pushBlob(digest: string): Promise<void> {
    const blobPath = `/v2/${this.repository}/blobs/${digest}`;
    const existing = await this.client.request(blobPath, { method: 'HEAD' });
    if (existing.status === 200) return;
    const bytes = this.blob(digest);
    const started = await this.client.request(`/v2/${this.repository}/blobs/uploads/`, {
      method: 'POST',
    });
    await expectStatus(started, 202, `POST upload of ${digest}`);
    let location = locationOf(started, this.base);
    const chunkSize = this.options.chunkSize ?? bytes.length;
    let offset = 0;
    // Chunked when the blob is larger than a chunk; the last part goes with the closing PUT.
    while (bytes.length - offset > chunkSize) {
      const chunk = bytes.subarray(offset, offset + chunkSize);
      const patched = await this.client.request(location, {
        method: 'PATCH',
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
      });
      await expectStatus(patched, 202, `PATCH ${digest} at ${offset}`);
      location = locationOf(patched, this.base);
      offset += chunk.length;
    }
    const closing = new URL(location);
    closing.searchParams.set('digest', digest);
    const finished = await this.client.request(closing.href, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes.subarray(offset),
    });
    await expectStatus(finished, 201, `PUT upload of ${digest}`);
  }
}

/** What the index.json of an OCI image layout points to: one image or index (under any tags). */
function layoutTarget(layout: string): Descriptor {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: readonly Descriptor[];
  };
  const targets = new Set(index.manifests.map((entry) => entry.digest));
  const target = index.manifests[0];
  if (target === undefined || targets.size !== 1)
    throw new Error(`${layout}/index.json points to ${targets.size} images, not one`);
  return target;
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // Unreferenced (see started), the child's exit would not keep the process up to see it.
  child.ref();
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/**
 * Debian's docker-registry (distribution 2.8) on a free loopback port, in its own directory.
 * Its GET of a manifest heeds Accept as 2.8 does: an OCI manifest or index is 404 unless Accept
 * names its media type, and a Docker manifest list asked for without its media type comes back
 * as its linux/amd64 image's manifest (400 with no Accept at all).
 */
export class TestRegistry {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  private logTail = '';

  private constructor(
    /** 127.0.0.1:PORT, as an image reference names the registry. */
    readonly host: string,
    readonly kind: RegistryKind,
    /** The account of a 'basic' or 'token' registry. */
    readonly credentials: Credentials,
    private readonly dir: string,
    private readonly child: ChildProcess,
    private readonly tokenIssuer: TokenIssuer | undefined,
  ) {
    this.url = `http://${host}`;
  }

  /** Where a 'token' registry sends clients for tokens (its challenges' realm). */
  get tokenRealm(): string | undefined {
    return this.tokenIssuer?.realm;
  }

  /** What the token issuer of a 'token' registry was asked, in order. */
  get tokenRequests(): readonly TokenRequest[] {
    return this.tokenIssuer?.requests ?? [];
  }

  /** The last lines the registry logged, for error messages. */
  get log(): string {
    return this.logTail;
  }

  static async start(kind: RegistryKind, options: RegistryOptions = {}): Promise<TestRegistry> {
    const credentials = options.credentials ?? { username: 'tocker', password: 'tocker-secret' };
    const dir = scratchDir('registry');
    let tokenIssuer: TokenIssuer | undefined;
    let child: ChildProcess | undefined;
    try {
      let auth: object | undefined;
      if (kind === 'basic') {
        const path = join(dir, 'htpasswd');
        writeFileSync(
          path,
          execFileSync('htpasswd', ['-Bbn', credentials.username, credentials.password]),
        );
        auth = { htpasswd: { realm: SERVICE, path } };
      } else if (kind === 'token') {
        tokenIssuer = await TokenIssuer.start(dir, credentials, options.anonymousPull ?? false);
        auth = {
          token: {
            realm: tokenIssuer.realm,
            service: SERVICE,
            issuer: TOKEN_ISSUER,
            rootcertbundle: tokenIssuer.certificatePath,
          },
        };
      }
      // JSON is YAML, and spares quoting what goes in.
      const configPath = join(dir, 'config.yml');
      writeFileSync(
        configPath,
        JSON.stringify({
          version: '0.1',
          // Info level: the line that tells the port; no access log, a line per request.
          log: { level: 'info', accesslog: { disabled: true } },
          storage: {
            filesystem: { rootdirectory: join(dir, 'storage') },
            delete: { enabled: true },
          },
          // Port 0: the kernel picks a free one, which the registry logs.
          http: { addr: `${LOOPBACK}:0`, secret: randomUUID() },
          ...(auth === undefined ? {} : { auth }),
        }),
      );
      child = spawn(
        'setpriv',
        ['--pdeathsig', 'KILL', '--', 'docker-registry', 'serve', configPath],
        {
          cwd: dir,
          // Not the caller's environment: REGISTRY_* variables would override the config.
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      const registry = await TestRegistry.started(child, kind, credentials, dir, tokenIssuer);
      await registry.ready();
      return registry;
    } catch (error) {
      if (child !== undefined) await killed(child);
      if (tokenIssuer !== undefined) await closeServer(tokenIssuer.server);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The registry once it logs the address it listens on. */
  private static started(
    child: ChildProcess,
    kind: RegistryKind,
    credentials: Credentials,
    dir: string,
    tokenIssuer: TokenIssuer | undefined,
  ): Promise<TestRegistry> {
    let registry: TestRegistry | undefined;
    let logTail = '';
    return new Promise<TestRegistry>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`docker-registry did not start in time:\n${logTail}`)),
        STARTUP_TIMEOUT_MS,
      );
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`cannot run setpriv (util-linux): ${error}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `docker-registry exited (${code ?? signal}); is Debian's docker-registry installed?\n${logTail}`,
          ),
        );
      });
      // The log goes on being read, or the registry would block on a full pipe.
      child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        logTail = (logTail + text).slice(-LOG_TAIL_CHARS);
        if (registry !== undefined) {
          registry.logTail = logTail;
          return;
        }
        const host = /listening on (127\.0\.0\.1:\d+)/.exec(logTail)?.[1];
        if (host === undefined) return;
        clearTimeout(timer);
        registry = new TestRegistry(host, kind, credentials, dir, child, tokenIssuer);
        registry.logTail = logTail;
        resolve(registry);
      });
      // A test that forgets stop() does not hang on the registry: it dies with the process.
      child.unref();
      (child.stderr as Socket | null)?.unref();
    });
  }

  /** Until GET /v2/ answers as a registry does: 200, or 401 asking for credentials. */
  private async ready(): Promise<void> {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      const status = await fetch(`${this.url}/v2/`)
        .then(async (response) => {
          await response.body?.cancel();
          return response.status;
        })
        .catch(() => undefined);
      if (status === 200 || status === 401) return;
      if (Date.now() > deadline)
        throw new Error(`${this.url}/v2/ answers ${status ?? 'nothing'}:\n${this.logTail}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Pushes the image of an OCI image layout (its index.json's one target: an image, or an index
   * whose child manifests go first) as `repository:tag`, through the HTTP API with this
   * registry's auth. Returns the descriptor of what the tag now names.
   */
  async push(
    repository: string,
    tag: string,
    layout: string,
    options: PushOptions = {},
  ): Promise<Descriptor> {
    const target = layoutTarget(layout);
    const client = new RegistryClient(
      this.url,
      this.kind === 'anonymous' ? undefined : this.credentials,
    );
    const pusher = new LayoutPusher(client, this.url, repository, layout, options);
    try {
      await pusher.pushManifest(target, tag);
    } catch (error) {
      throw new Error(`push to ${this.host}/${repository}:${tag}: ${error}\n${this.logTail}`);
    }
    return { mediaType: target.mediaType, digest: target.digest, size: target.size };
  }

  /** Kills the registry, closes the token issuer and removes the registry's directory. */
  async stop(): Promise<void> {
    await killed(this.child);
    if (this.tokenIssuer !== undefined) await closeServer(this.tokenIssuer.server);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A GET whose connection is destroyed part way through the body, as a dropped download. */
export interface Interruption {
  /** The bytes of the body sent before the cut (of the part asked for, in a 206). */
  readonly afterBytes: number;
  /** How many GETs are cut, the first ones (default: every one). */
  readonly times?: number;
  /**
   * Awaited between sending those bytes and the cut. A client loses what it had received but
   * not yet read when its connection dies: a test that needs the client to have read every
   * byte sent (to know where it resumes) waits for that here.
   */
  readonly before?: () => Promise<void>;
}

export interface FakeResponse {
  /** Default 200. */
  readonly status?: number;
  /** Sent as given; Content-Length is the body's. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
  /**
   * Whether `Range: bytes=N-` is honoured as registries do: 206, the body from byte N and its
   * Content-Range (default: ignored, the whole body).
   */
  readonly ranges?: boolean;
  readonly interruption?: Interruption;
}

export interface FakeRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly authorization: string | undefined;
  readonly range: string | undefined;
}

/**
 * A registry that is only an HTTP server serving given bytes by path, verbatim, for what a real
 * registry would refuse to hold: a blob that is not what its digest says, a lying
 * Docker-Content-Digest, a manifest that points nowhere; or would not do on demand: a
 * connection dropped in the middle of a blob, Range ignored. GET /v2/ answers 200 unless served
 * otherwise; other paths not served answer 404.
 */
export class FakeRegistry {
  /** Every request, in order, as a test may want to check what a client asked for. */
  readonly requests: FakeRequest[] = [];
  readonly url: string;
  private readonly routes = new Map<string, FakeResponse>([
    ['/v2/', { headers: { 'docker-distribution-api-version': 'registry/2.0' }, body: '{}' }],
  ]);
  private guard: { challenge: string; authorization: string } | undefined;
  /** The GETs of each path cut so far, for Interruption.times. */
  private readonly cuts = new Map<string, number>();

  private constructor(
    /** 127.0.0.1:PORT */
    readonly host: string,
    private readonly server: Server,
  ) {
    this.url = `http://${host}`;
  }

  static async start(): Promise<FakeRegistry> {
    const server = createServer();
    const fake = new FakeRegistry(await listenOnLoopback(server), server);
    server.on('request', (request, response) => fake.answer(request, response));
    return fake;
  }

  /** What GET and HEAD of `path` (the query aside) answer from now on. */
  serve(path: string, response: FakeResponse): void {
    this.routes.set(path, response);
    this.cuts.delete(path);
  }

  /**
   * Serves the image of an OCI image layout (its index.json's target, an image manifest) as
   * `repository:tag`: the manifest under the tag, and every blob of the layout.
   */
  serveLayout(repository: string, tag: string, layout: string): void {
    const blobs = join(layout, 'blobs', 'sha256');
    for (const hex of readdirSync(blobs))
      this.serve(`/v2/${repository}/blobs/sha256:${hex}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: readFileSync(join(blobs, hex)),
      });
    const manifest = layoutTarget(layout);
    this.serve(`/v2/${repository}/manifests/${tag}`, {
      headers: { 'content-type': manifest.mediaType, 'docker-content-digest': manifest.digest },
      body: readFileSync(join(blobs, manifest.digest.slice('sha256:'.length))),
    });
  }

  /**
   * From now on, paths under /v2/ answer 401 with this WWW-Authenticate challenge to requests
   * whose Authorization header is not `authorization` (a Bearer challenge's realm can be a path
   * of this fake served with a token).
   */
  requireAuthorization(challenge: string, authorization: string): void {
    this.guard = { challenge, authorization };
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '/';
    const { authorization, range } = request.headers;
    this.requests.push({ method: request.method ?? '', url, authorization, range });
    const path = new URL(url, this.url).pathname;
    if (
      this.guard !== undefined &&
      path.startsWith('/v2/') &&
      authorization !== this.guard.authorization
    ) {
      replyJson(
        response,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        { 'www-authenticate': this.guard.challenge },
      );
      return;
    }
    const served = this.routes.get(path);
    if (served === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) {
      replyJson(response, 404, { errors: [{ code: 'NOT_FOUND', message: `${path} not served` }] });
      return;
    }
    const whole = Buffer.from(served.body ?? '');
    // Only the open-ended ranges a resuming client asks for, and only within the body.
    const from = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? Number.NaN);
    const partial = served.ranges === true && from < whole.length;
    const body = partial ? whole.subarray(from) : whole;
    response.writeHead(partial ? 206 : (served.status ?? 200), {
      ...served.headers,
      ...(partial ? { 'content-range': `bytes ${from}-${whole.length - 1}/${whole.length}` } : {}),
      'content-length': body.length,
    });
    if (request.method === 'HEAD') response.end();
    else if (served.interruption !== undefined && this.countCut(path, served.interruption))
      void this.cut(response, body, served.interruption);
    else response.end(body);
  }

  /** Whether this GET of `path` is one to cut, counted if it is. */
  private countCut(path: string, interruption: Interruption): boolean {
    const cut = this.cuts.get(path) ?? 0;
    if (cut >= (interruption.times ?? Number.POSITIVE_INFINITY)) return false;
    this.cuts.set(path, cut + 1);
    return true;
  }

  private async cut(response: ServerResponse, body: Buffer, interruption: Interruption) {
    // Written through to the socket first: destroying it drops what Node still holds.
    await new Promise<void>((resolve) =>
      response.write(body.subarray(0, interruption.afterBytes), () => resolve()),
    );
    await interruption.before?.();
    response.socket?.destroy();
  }
}
