import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import { Agent, agentMain, connect, ok, removeEverything, ServerProcess } from './helpers.js';

let agent: Agent;
let client: Socket;

before(async () => {
  agent = await new Agent('127.0.0.1:0', ['--userns', 'auto']).started();
  client = await connect(agent.url);
});

after(async () => {
  client?.close();
  await agent?.stop();
  await removeEverything();
});

/** The first line a container prints (it ends by itself), and the view of it. */
async function firstLine(spec: Record<string, unknown>) {
  const { container } = await ok(client, 'container:run', {
    spec: { rootfs: DEFAULT_IMAGE, command: ['cat', '/proc/self/uid_map'], ...spec },
  });
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const { logs, running } = await ok(client, 'container:logs', {
      container: container.id,
      tailBytes: 4096,
    });
    if (!running) return { line: logs.trim().split(/\s+/), container };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the container did not end');
}

describe("the agent's default user namespace (--userns auto)", () => {
  test('a request that does not say gets a user namespace of its own; one that says host keeps the host ids', async () => {
    const auto = await firstLine({});
    assert.equal(auto.line[0], '0');
    assert.notEqual(auto.line[1], '0');
    assert.equal(auto.container.spec.userns, 'auto', 'the request records what it got');
    assert.equal(String(auto.container.userNamespace?.uidMappings[0]?.hostID), auto.line[1]);
    const host = await firstLine({ userns: 'host' });
    assert.deepEqual(host.line, ['0', '0', '4294967295']);
    assert.equal(host.container.userNamespace, null);
  });

  test('a default other than auto or host stops the agent at once, saying why', async () => {
    const bad = new ServerProcess('agent', [
      agentMain,
      '--listen',
      '127.0.0.1:0',
      '--userns',
      'maybe',
    ]);
    assert.equal(await bad.exited, 1);
    assert.match(bad.output, /--userns: auto or host, not "maybe"/);
  });
});
