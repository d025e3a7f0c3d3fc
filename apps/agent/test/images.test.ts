import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PullState } from '@tocker/protocol';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import {
  diffIds,
  gzip,
  imageConfig,
  layerTar,
  writeOciLayout,
} from '../../../packages/images/test/fixtures.js';
import { FakeRegistry } from '../../../packages/images/test/registry.js';
import { Agent, call, connect, ok, removeEverything, root } from './helpers.js';

let agent: Agent;
let client: Socket;
let registry: FakeRegistry;
/** Every pull state the agent pushed, in order. */
const pushed: PullState[] = [];

before(async () => {
  agent = await new Agent().started();
  client = await connect(agent.url);
  client.on('image:pull', (state: PullState) => pushed.push(state));
  registry = await FakeRegistry.start();
  const base = gzip(
    execFileSync('tar', ['-C', DEFAULT_IMAGE, '--numeric-owner', '-cf', '-', '.'], {
      maxBuffer: 64 << 20,
    }),
  );
  const upper = layerTar([
    { path: 'app/hello', type: 'file', mode: 0o644, body: Buffer.from('pulled by the agent\n') },
  ]);
  const layout = join(root, 'layout');
  mkdirSync(layout, { recursive: true });
  writeOciLayout(layout, {
    layers: [base, upper],
    config: imageConfig({ cmd: ['cat', '/app/hello'] }, diffIds([base, upper])),
  });
  registry.serveLayout('team/app', '1.0', layout);
});

after(async () => {
  client?.close();
  await registry?.stop();
  await agent?.stop();
  await removeEverything();
});

/** The end of a pull, as pushed. */
async function ended(pull: string): Promise<PullState> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const end = pushed.find((state) => state.pull === pull && state.status !== 'pulling');
    if (end !== undefined) return end;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pull ${pull} did not end`);
}

async function exitOf(id: string): Promise<number | null> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { container } = await ok(client, 'container:inspect', { container: id });
    if (container.status === 'exited') return container.exitCode;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`container ${id} did not end`);
}

/** A loopback port nothing listens on (any more). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const ingestOf = () => readdirSync(join(root, 'store', 'ingest'));

describe("the agent's images and volumes API (a real agent, a registry on loopback)", () => {
  test('image:pull answers at once and pushes per-layer progress to its end; a second request joins the same pull; image:list and run use the result', async () => {
    const reference = `${registry.host}/team/app:1.0`;
    const [{ pull }, { pull: joined }] = await Promise.all([
      ok(client, 'image:pull', { reference }),
      ok(client, 'image:pull', { reference: `${reference}` }),
    ]);
    assert.equal(pull.status, 'pulling');
    assert.equal(joined.pull, pull.pull, 'the same image pulled once');
    const end = await ended(pull.pull);
    assert.equal(end.status, 'done', end.error ?? '');
    assert.deepEqual(
      end.layers.map((layer) => layer.status),
      ['done', 'done'],
    );
    for (const layer of end.layers) assert.equal(layer.receivedBytes, layer.totalBytes);
    const seen = pushed.filter((state) => state.pull === pull.pull);
    assert.ok(
      seen.some((state) => state.layers.some((layer) => layer.status === 'downloading')),
      'progress while it went',
    );
    assert.deepEqual(end.image?.names, [reference]);
    const { images, pulls } = await ok(client, 'image:list', {});
    assert.deepEqual(pulls, [], 'nothing in progress any more');
    const listed = images.find((image) => image.digest === end.image?.digest);
    assert.equal(listed?.layers, 2);
    assert.deepEqual(listed?.config.cmd, ['cat', '/app/hello']);
    assert.deepEqual(listed?.usedBy, []);

    const { container } = await ok(client, 'container:run', {
      spec: { image: reference, autoRemove: false },
    });
    assert.equal(await exitOf(container.id), 0);
    assert.equal(
      (await ok(client, 'container:logs', { container: container.id })).logs,
      'pulled by the agent\n',
    );
    const { image } = await ok(client, 'image:inspect', { image: reference });
    assert.deepEqual(image.usedBy, [{ id: container.id, name: container.name }]);

    assert.match(
      (await call(client, 'image:remove', { image: reference })).error as string,
      /^image .* is used by container .*: remove it first, or use -f$/,
    );
    assert.deepEqual(await ok(client, 'image:remove', { image: reference, force: true }), {
      untagged: [reference],
      deleted: [end.image?.digest],
    });
    // Forced away from its name, the image's layers stay under the container that runs on them.
    assert.equal(
      (await ok(client, 'container:run', { spec: { image: reference } }).catch((e) => e)).message,
      `no image ${reference}`,
    );
    const layersBefore = readdirSync(join(root, 'store', 'layers')).length;
    await ok(client, 'image:prune', {});
    assert.equal(readdirSync(join(root, 'store', 'layers')).length, layersBefore);
    await ok(client, 'container:remove', { container: container.id });
    const pruned = await ok(client, 'image:prune', {});
    assert.ok(pruned.layers >= 1, `its own layer goes with the container: ${pruned.layers}`);
  });

  test('bad pulls: a malformed reference is refused in the reply; an unreachable registry fails in a pushed state, leaving nothing', async () => {
    const malformed = await call(client, 'image:pull', { reference: 'UPPER/Case' });
    assert.equal(malformed.ok, false);
    assert.doesNotMatch(malformed.error as string, /\n/);
    const closed = await closedPort();
    const { pull } = await ok(client, 'image:pull', {
      reference: `127.0.0.1:${closed}/none/here:1`,
    });
    const end = await ended(pull.pull);
    assert.equal(end.status, 'failed');
    assert.equal(
      end.error,
      `registry 127.0.0.1:${closed}: connect ECONNREFUSED 127.0.0.1:${closed}`,
    );
    assert.equal(end.image, null);
    assert.deepEqual(ingestOf(), []);
    assert.equal(
      (await call(client, 'image:inspect', { image: 'absent:9' })).error,
      'no image absent:9',
    );
  });

  test('volumes: create (again: the same one), list with their users, remove refused while mounted, prune only what nobody mounts', async () => {
    const { volume } = await ok(client, 'volume:create', { name: 'kept' });
    assert.equal(volume.name, 'kept');
    assert.ok(existsSync(volume.path));
    assert.deepEqual((await ok(client, 'volume:create', { name: 'kept' })).volume, volume);
    await ok(client, 'volume:create', { name: 'unused' });
    const { container } = await ok(client, 'container:run', {
      spec: {
        image: 'busybox',
        command: ['true'],
        mounts: [{ type: 'volume', source: 'kept', target: '/data' }],
      },
    });
    assert.equal(await exitOf(container.id), 0);
    const { volumes } = await ok(client, 'volume:list', {});
    assert.deepEqual(volumes.find((listed) => listed.name === 'kept')?.usedBy, [
      { id: container.id, name: container.name },
    ]);
    assert.match(
      (await call(client, 'volume:remove', { name: 'kept' })).error as string,
      /^volume kept is in use by container .*: remove it first$/,
    );
    assert.deepEqual(await ok(client, 'volume:prune', {}), { removed: ['unused'] });
    await ok(client, 'container:remove', { container: container.id });
    assert.deepEqual(await ok(client, 'volume:remove', { name: 'kept' }), {});
    assert.deepEqual((await ok(client, 'volume:list', {})).volumes, []);
    assert.match(
      (await call(client, 'volume:create', { name: '../escape' })).error as string,
      /volume: a name of letters/,
    );
    assert.equal((await call(client, 'volume:remove', { name: 'gone' })).error, 'no volume gone');
  });
});
