import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Socket } from 'socket.io-client';
import { busyboxBundle } from '../../../packages/oci-runtime/test/engines/bundle.js';
import { tockerRuntime } from '../../../packages/oci-runtime/test/engines/runtimes.js';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import { Agent, call, connect, ok, removeEverything } from './helpers.js';

const scratch = scratchDir('agent-engines');
/** tocker-runtime's state root, as podman and containerd would use it. */
const engineRoot = join(scratch, 'engine-root');
const runtimeLog = join(scratch, 'runtime.log');
const podmanId = `tocker-test-${process.pid}-podman`;
const containerdId = `tocker-test-${process.pid}-containerd`;

let agent: Agent;
let client: Socket;

/**
 * tocker-runtime as an engine calls it. No pipes: the container's init inherits the
 * caller's stdio and would hold them open; what went wrong is in the --log file.
 */
function runtime(...args: string[]): void {
  const result = spawnSync(
    tockerRuntime.path,
    ['--root', engineRoot, '--log', runtimeLog, ...args],
    { stdio: 'ignore' },
  );
  if (result.status !== 0)
    throw new Error(
      `tocker-runtime ${args.join(' ')} exited ${result.status}: ${existsSync(runtimeLog) ? readFileSync(runtimeLog, 'utf8').slice(-1000) : ''}`,
    );
}

before(async () => {
  agent = await new Agent('127.0.0.1:0', ['--engine-root', engineRoot]).started();
  client = await connect(agent.url);
});

after(async () => {
  client?.close();
  await agent?.stop();
  for (const id of [podmanId, containerdId])
    if (existsSync(join(engineRoot, id))) runtime('delete', '--force', id);
  rmSync(scratch, { recursive: true, force: true });
  await removeEverything();
});

describe("the agent's read-only list of engine containers (real tocker-runtime containers)", () => {
  test('a podman and a containerd container listed with their engine and live status, never with tocker own; gone once deleted', async () => {
    assert.deepEqual(await ok(client, 'engine:list', {}), { containers: [] }, 'no root yet');

    const podmanBundle = busyboxBundle(tockerRuntime, join(scratch, 'podman', podmanId), {
      args: ['sleep', '100'],
      cgroupsPath: `/${podmanId}`,
      annotations: {
        'io.container.manager': 'libpod',
        'io.podman.annotations.autoremove': 'FALSE',
      },
    });
    // containerd's shim makes the bundle under its state directory, named by namespace and id.
    const containerdBundle = busyboxBundle(
      tockerRuntime,
      join(scratch, 'io.containerd.runtime.v2.task', 'default', containerdId),
      { args: ['sleep', '100'], cgroupsPath: `/${containerdId}` },
    );
    runtime('create', '--bundle', podmanBundle, podmanId);
    runtime('create', '--bundle', containerdBundle, containerdId);

    const { containers } = await ok(client, 'engine:list', {});
    assert.deepEqual(
      containers.map(({ id, engine, status, bundle }) => ({ id, engine, status, bundle })),
      [
        { id: containerdId, engine: 'containerd', status: 'created', bundle: containerdBundle },
        { id: podmanId, engine: 'podman', status: 'created', bundle: podmanBundle },
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

    runtime('start', podmanId);
    const started = (await ok(client, 'engine:list', {})).containers;
    assert.deepEqual(
      started.map(({ id, status }) => ({ id, status })),
      [
        { id: containerdId, status: 'created' },
        { id: podmanId, status: 'running' },
      ],
    );

    runtime('delete', '--force', podmanId);
    runtime('delete', '--force', containerdId);
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
