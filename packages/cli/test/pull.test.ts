import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  diffIds,
  gzip,
  imageConfig,
  layerTar,
  writeOciLayout,
} from '../../images/test/fixtures.js';
import { FakeRegistry, TestRegistry } from '../../images/test/registry.js';
import { image as busyboxTree, CliRoot, lines } from './helpers.js';

const world = new CliRoot({ name: 'pull' });
const registries: { stop(): Promise<void> }[] = [];
after(async () => {
  for (const registry of registries) await registry.stop();
  await world.cleanup();
});
const credentialsDir = join(world.root, 'client-config');
const env = { ...world.env, TOCKER_CONFIG: credentialsDir };

const base = gzip(
  execFileSync('tar', ['-C', busyboxTree, '--numeric-owner', '-cf', '-', '.'], {
    maxBuffer: 64 << 20,
  }),
);
const upper = layerTar([
  { path: 'etc/.wh.motd', type: 'file' },
  { path: 'app/hello', type: 'file', mode: 0o644, body: Buffer.from('pulled!\n') },
]);

/** An OCI layout of busybox plus one layer, as a registry gets it pushed. */
function layout(name: string): string {
  const dir = join(world.root, `layout-${name}`);
  mkdirSync(dir);
  writeOciLayout(dir, {
    layers: [base, upper],
    config: imageConfig({ cmd: ['cat', '/app/hello'] }, diffIds([base, upper])),
  });
  return dir;
}

async function started<T extends { stop(): Promise<void> }>(registry: Promise<T>): Promise<T> {
  const running = await registry;
  registries.push(running);
  return running;
}

const tocker = (args: readonly string[], input?: string) => world.run(args, { env, input });

describe('pulling from registries (real ones on loopback: distribution 2.8)', () => {
  test('anonymous: pull shows each layer, stores the image under its name; run starts it; a second pull has it all', async () => {
    const registry = await started(TestRegistry.start('anonymous'));
    await registry.push('team/app', '1.0', layout('anonymous'));
    const reference = `${registry.host}/team/app:1.0`;
    const pulled = await tocker(['pull', reference]);
    assert.equal(pulled.stderr, '');
    const shown = lines(pulled.stdout);
    assert.equal(shown[0], `Pulling ${reference}`);
    assert.equal(shown.filter((line) => / Pull complete$/.test(line)).length, 2);
    assert.match(shown.at(-2) ?? '', /^Digest: sha256:[0-9a-f]{64}$/);
    assert.equal((await tocker(['run', '--rm', reference])).stdout, 'pulled!\n');
    const again = await tocker(['pull', reference]);
    assert.equal(lines(again.stdout).filter((line) => / Already exists$/.test(line)).length, 2);
  });

  test("run pulls what the store lacks; its output stays the container's", async () => {
    const registry = await started(TestRegistry.start('anonymous'));
    await registry.push('lazy/app', 'v2', layout('lazy'));
    const ran = await tocker(['run', '--rm', `${registry.host}/lazy/app:v2`]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, 'pulled!\n');
    assert.match(
      ran.stderr,
      /^Unable to find image '127\.0\.0\.1:\d+\/lazy\/app:v2' locally\nPulling /,
    );
  });

  test('basic auth: refused without login, pulled after tocker login (0600), refused after logout; the password is never shown', async () => {
    const registry = await started(TestRegistry.start('basic'));
    await registry.push('private/app', 'latest', layout('basic'));
    const reference = `${registry.host}/private/app`;
    const refused = await tocker(['pull', reference]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /needs credentials: tocker login 127\.0\.0\.1:\d+\n$/);
    const { username, password } = registry.credentials;
    const wrong = await tocker(
      ['login', '-u', username, '--password-stdin', registry.host],
      'not-it\n',
    );
    assert.equal(wrong.stdout, 'Login Succeeded\n', 'kept as given (checked when used)');
    const bad = await tocker(['pull', reference]);
    assert.match(
      bad.stderr,
      /refused access to private\/app: check the credentials of tocker login/,
    );
    assert.equal(
      (await tocker(['login', '-u', username, '--password-stdin', registry.host], `${password}\n`))
        .code,
      0,
    );
    assert.equal(statSync(join(credentialsDir, 'config.json')).mode & 0o777, 0o600);
    const pulled = await tocker(['pull', reference]);
    assert.equal(pulled.code, 0, pulled.stderr);
    for (const result of [refused, bad, pulled])
      assert.doesNotMatch(result.stdout + result.stderr, new RegExp(password));
    assert.match((await tocker(['logout', registry.host])).stdout, /^Removing login credentials/);
    assert.equal((await tocker(['logout', registry.host])).code, 125);
  });

  test('token auth: the bearer flow, with the stored credentials', async () => {
    const registry = await started(TestRegistry.start('token'));
    await registry.push('secure/app', '3', layout('token'));
    const { username, password } = registry.credentials;
    await tocker(['login', '-u', username, '--password-stdin', registry.host], password);
    const pulled = await tocker(['pull', `${registry.host}/secure/app:3`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok(registry.tokenRequests.some((request) => request.account === username));
  });

  test('a multi-platform index: the image of this host (attestations skipped); a pull by digest', async () => {
    const registry = await started(TestRegistry.start('anonymous'));
    const dir = join(world.root, 'layout-multi');
    mkdirSync(dir);
    const images = ['arm64', 'amd64'].map((architecture) => {
      const layer = layerTar([{ path: 'arch', type: 'file', body: Buffer.from(architecture) }]);
      const layers = [base, layer];
      return {
        layers,
        config: { ...imageConfig({ cmd: ['cat', '/arch'] }, diffIds(layers)), architecture },
      };
    });
    const index = writeOciLayout(dir, images, { mediaTypes: 'docker' });
    await registry.push('multi/app', 'latest', dir);
    assert.equal((await tocker(['run', '--rm', `${registry.host}/multi/app`])).stdout, 'amd64');
    const byDigest = await tocker(['pull', `${registry.host}/multi/app@${index.digest}`]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.match(byDigest.stdout, / Already exists\n/);
  });

  test('a blob that is not what its digest says: refused, nothing named or kept', async () => {
    const fake = await started(FakeRegistry.start());
    // A layer no other test pulled: the store cannot have it already.
    const layer = layerTar([{ path: 'evil', type: 'file', body: Buffer.from('harmless') }]);
    const config = Buffer.from(JSON.stringify(imageConfig({}, diffIds([layer]))));
    const digest = (bytes: Buffer) =>
      `sha256:${execFileSync('sha256sum', { input: bytes }).toString().slice(0, 64)}`;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: digest(config),
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: digest(layer),
            size: layer.length,
          },
        ],
      }),
    );
    const tampered = Buffer.from(
      layer.toString('latin1').replace('harmless', 'PWNED!!!'),
      'latin1',
    );
    fake.serve('/v2/evil/app/manifests/latest', {
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    fake.serve(`/v2/evil/app/blobs/${digest(config)}`, { body: config });
    fake.serve(`/v2/evil/app/blobs/${digest(layer)}`, { body: tampered });
    const refused = await tocker(['pull', `${fake.host}/evil/app`]);
    assert.equal(refused.code, 125);
    assert.match(
      refused.stderr,
      /^tocker: blob sha256:[0-9a-f]{64}: the bytes received are sha256:/m,
    );
    assert.deepEqual(readdirSync(join(world.root, 'store', 'ingest')), []);
    assert.equal((await tocker(['image', 'inspect', `${fake.host}/evil/app`])).code, 125);
  });
});
