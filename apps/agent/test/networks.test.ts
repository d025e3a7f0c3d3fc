import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { primaryAddress } from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import { waitFor } from '../../../packages/runtime/test/helpers.js';
import { Agent, call, connect, ok, removeEverything, root } from './helpers.js';

let agent: Agent;
let client: Socket;

before(async () => {
  agent = await new Agent().started();
  client = await connect(agent.url);
});

after(async () => {
  client?.close();
  await agent?.stop();
  await removeEverything();
});

describe("the agent's networks API (a real agent, real bridges)", () => {
  test('create on a subnet, list with the containers on it, remove refused while one is, then removed with its bridge; prune; bad input is one line', async () => {
    const subnet = `10.${240 + (process.pid % 8)}.9.0/24`;
    const { network } = await ok(client, 'network:create', { name: 'agent-net', subnet });
    assert.equal(network.subnet, subnet);
    assert.equal(network.gateway, subnet.replace(/0\/24$/, '1'));
    assert.ok(existsSync(`/sys/class/net/${network.bridge}`));
    const { container } = await ok(client, 'container:run', {
      spec: { image: 'busybox', command: ['true'], network: 'agent-net' },
    });
    assert.equal(container.network.mode, 'bridge');
    const listed = (await ok(client, 'network:list', {})).networks.find(
      (each) => each.name === 'agent-net',
    );
    assert.deepEqual(listed?.containers, [
      {
        id: container.id,
        name: container.name,
        address: primaryAddress(container.network),
        aliases: [],
      },
    ]);
    assert.match(
      (await call(client, 'network:remove', { name: 'agent-net' })).error as string,
      /^network agent-net has container [0-9a-f]{12} on it: remove that first$/,
    );
    assert.equal(
      (await call(client, 'network:remove', { name: 'bridge' })).error,
      'the default network cannot be removed',
    );
    await ok(client, 'container:remove', { container: container.id, force: true });
    assert.deepEqual(await ok(client, 'network:remove', { name: 'agent-net' }), {});
    assert.equal(existsSync(`/sys/class/net/${network.bridge}`), false);
    await ok(client, 'network:create', { name: 'unused' });
    assert.deepEqual(await ok(client, 'network:prune', {}), { removed: ['unused'] });
    // Its last network gone, the root's table goes too: nothing would say whose it is.
    assert.doesNotMatch(
      execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }),
      new RegExp(`tocker_${createHash('sha256').update(root).digest('hex').slice(0, 12)}`),
    );
    for (const [input, error] of [
      [{ name: 'none' }, 'network none: a name tocker keeps for itself'],
      [
        { name: 'x', subnet: '10.0.0.1/24' },
        'subnet 10.0.0.1/24: has host bits set (10.0.0.0/24 is its network)',
      ],
      [
        { name: 'x', subnet: 'wide' },
        'subnet wide: an IPv4 network like 10.88.0.0/16 (a /8 to a /30)',
      ],
      [{ name: '../x' }, 'name: letters, digits, _ . - (at most 63)'],
      [
        { name: 'x', bridge: 'tk-a-long-name-0' },
        'bridge: an interface name has at most 15 characters',
      ],
    ] as const) {
      assert.equal((await call(client, 'network:create', input)).error, error);
    }
  });

  test('a SIGKILLed agent with networked containers: they serve on through it, the next agent adopts them with their address, published port, name and second network, and their removal leaves nothing', async () => {
    const frontSubnet = `10.${240 + (process.pid % 8)}.11.0/24`;
    const backSubnet = `10.${240 + (process.pid % 8)}.12.0/24`;
    await ok(client, 'network:create', { name: 'front', subnet: frontSubnet });
    const back = (await ok(client, 'network:create', { name: 'back', subnet: backSubnet })).network;
    const { container } = await ok(client, 'container:run', {
      spec: {
        image: 'busybox',
        name: 'served',
        network: 'front',
        networkAliases: ['api'],
        ports: [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80 }],
        command: [
          'sh',
          '-c',
          'mkdir /www && echo adopted > /www/index.html && httpd -f -p 80 -h /www',
        ],
      },
    });
    await ok(client, 'network:connect', { network: 'back', container: 'served', aliases: ['db'] });
    assert.equal(container.network.mode, 'bridge');
    const port = container.network.mode === 'bridge' ? container.network.ports[0]?.hostPort : 0;
    const fetchPublished = async () => (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(
      await waitFor('the server', () => fetchPublished().catch(() => undefined)),
      'adopted\n',
    );

    client.close();
    await agent.stop('SIGKILL');
    assert.equal(await fetchPublished(), 'adopted\n', 'served while no agent runs');
    agent = await new Agent().started();
    client = await connect(agent.url);
    const adopted = (await ok(client, 'container:inspect', { container: 'served' })).container;
    assert.equal(adopted.status, 'running');
    assert.equal(
      (await call(client, 'network:connect', { network: 'back', container: 'served' })).error,
      'container served is already on network back',
    );
    assert.equal(adopted.network.mode, 'bridge');
    const networks = adopted.network.mode === 'bridge' ? adopted.network.networks : [];
    assert.deepEqual(
      networks.map(({ network, aliases }) => [network, aliases]),
      [
        ['front', ['api']],
        ['back', ['db']],
      ],
    );
    assert.equal(await fetchPublished(), 'adopted\n');
    // Its names are still answered on both networks, by the servers its networks kept.
    for (const [network, name] of [
      ['front', 'api'],
      ['back', 'db'],
    ] as const) {
      const { container: asker } = await ok(client, 'container:run', {
        spec: { image: 'busybox', network, command: ['wget', '-q', '-O', '-', `http://${name}/`] },
      });
      const ended = await waitFor(`the fetch on ${network}`, async () => {
        const { container: now } = await ok(client, 'container:inspect', { container: asker.id });
        return now.status === 'exited' ? now : undefined;
      });
      assert.equal(ended.exitCode, 0, `wget http://${name}/ on ${network}`);
      assert.equal((await ok(client, 'container:logs', { container: asker.id })).logs, 'adopted\n');
      await ok(client, 'container:remove', { container: asker.id });
    }

    await ok(client, 'container:remove', { container: 'served', force: true });
    await assert.rejects(fetchPublished());
    assert.deepEqual(readdirSync(`/sys/class/net/${back.bridge}/brif`), []);
    for (const name of ['front', 'back']) {
      const listed = (await ok(client, 'network:list', {})).networks.find(
        (each) => each.name === name,
      );
      assert.deepEqual(listed?.containers, []);
      await ok(client, 'network:remove', { name });
    }
  });
});
