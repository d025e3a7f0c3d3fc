import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { EngineRoot } from './engine-root.js';
import { Agent, call, connect, ok, removeEverything } from './helpers.js';

const engines = new EngineRoot();
const podmanId = `tocker-test-${process.pid}-podman`;
const containerdId = `tocker-test-${process.pid}-containerd`;

let agent: Agent;
let client: Socket;

before(async () => {
  agent = await new Agent('127.0.0.1:0', ['--engine-root', engines.root]).started();
  client = await connect(agent.url);
});

after(async () => {
  client?.close();
  await agent?.stop();
  engines.remove();
  await removeEverything();
});

describe("the agent's read-only list of engine containers (real tocker-runtime containers)", () => {
  test("a podman and a containerd container listed with their engine and live status, never with tocker's own; gone once deleted", async () => {
    assert.deepEqual(await ok(client, 'engine:list', {}), { containers: [] }, 'no root yet');

    const podman = engines.create(podmanId, 'podman');
    const containerd = engines.create(containerdId, 'containerd');

    const { containers } = await ok(client, 'engine:list', {});
    assert.deepEqual(
      containers.map(({ id, engine, status, bundle }) => ({ id, engine, status, bundle })),
      [
        { id: containerdId, engine: 'containerd', status: 'created', bundle: containerd.bundle },
        { id: podmanId, engine: 'podman', status: 'created', bundle: podman.bundle },
      ],
    );
    for (const container of containers) {
      assert.ok(
        container.pid > 0 && existsSync(`/proc/${container.pid}`),
        `${container.id}'s init`,
      );
      assert.ok(Math.abs(Date.parse(container.created) - Date.now()) < 60_000, container.created);
    }
    const own = await ok(client, 'container:list', { all: true });
    assert.equal(own.containers.length, 0, "the engines' containers are not tocker's");

    engines.call('start', podmanId);
    const started = (await ok(client, 'engine:list', {})).containers;
    assert.deepEqual(
      started.map(({ id, status }) => ({ id, status })),
      [
        { id: containerdId, status: 'created' },
        { id: podmanId, status: 'running' },
      ],
    );

    engines.call('delete', '--force', podmanId);
    engines.call('delete', '--force', containerdId);
    assert.deepEqual(await ok(client, 'engine:list', {}), { containers: [] });
  });

  test('bad input is refused in one line; without the token nothing is listed', async () => {
    const refused = await call(client, 'engine:list', { all: true });
    assert.equal(refused.ok, false, 'the payload schema is strict');
    assert.match(refused.error as string, /all/);
    // Turned away at the handshake: no session, so no request can even be sent.
    await assert.rejects(connect(agent.url, null));
    await assert.rejects(connect(agent.url, 'wrong-token-of-some-length'));
  });
});
