import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import {
  Agent,
  connect,
  handshake,
  idleConnections,
  ok,
  openDescriptors,
  removeEverything,
  token,
} from './helpers.js';

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

describe('the agent attacked from the network, without its token (a real agent on loopback)', () => {
  test('the handshake is refused before a session exists: no token, a wrong one, a browser', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-token-of-some-length' },
      { authorization: `Bearer ${token}`, origin: 'http://localhost:3000' },
    ]) {
      const { status, body } = await handshake(agent.url, headers);
      assert.equal(status, 400, JSON.stringify(headers));
      assert.doesNotMatch(body, /sid/);
    }
    const polling = await fetch(`${agent.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(polling.status, 400);
    assert.doesNotMatch(await polling.text(), /sid/);
    assert.equal((await handshake(agent.url, { authorization: `Bearer ${token}` })).status, 101);
  });

  test('3000 handshakes without the token and 400 silent connections from other addresses: the token holder keeps working, the agent keeps its descriptors', async () => {
    const baseline = openDescriptors(agent.pid);
    let peak = baseline;
    let attacking = true;
    const watch = (async () => {
      while (attacking) {
        peak = Math.max(peak, openDescriptors(agent.pid));
        await sleep(20);
      }
    })();
    // The one who has the token, on 127.0.0.1, all along.
    let served = 0;
    const legitimate = (async () => {
      while (attacking) {
        await ok(client, 'agent:info', {});
        served++;
        await sleep(10);
      }
    })();
    // Silent connections from 127.0.0.3: at most 256 are kept, the rest told 429.
    const silent = await idleConnections(agent.url, 400, '127.0.0.3');
    const refusedAtTheDoor = await Promise.all(
      silent.map(
        (socket) =>
          new Promise<boolean>((resolve) => {
            let answer = '';
            socket.on('data', (chunk: Buffer) => {
              answer += chunk.toString();
            });
            socket.once('close', () => resolve(answer.startsWith('HTTP/1.1 429')));
            setTimeout(() => resolve(false), 2000).unref();
          }),
      ),
    );
    // Handshakes without the token from 127.0.0.2, 200 at a time.
    let refused = 0;
    for (let wave = 0; wave < 15; wave++) {
      const results = await Promise.all(
        Array.from({ length: 200 }, () => handshake(agent.url, {}, '127.0.0.2')),
      );
      refused += results.filter(({ status }) => status === 400).length;
    }
    // A new client with the token gets in while the silent ones still hang on.
    const newcomer = await connect(agent.url);
    await ok(newcomer, 'agent:info', {});
    newcomer.close();
    attacking = false;
    await Promise.all([watch, legitimate]);
    for (const socket of silent) socket.destroy();

    assert.equal(refused, 3000, 'every handshake without the token refused');
    assert.equal(refusedAtTheDoor.filter(Boolean).length, 400 - 256, 'beyond 256 per address: 429');
    assert.ok(served > 20, `the token holder was served throughout (${served} requests)`);
    // Two attacking addresses, at most 256 connections each, whatever they send.
    assert.ok(
      peak < baseline + 2 * 256 + 40,
      `descriptors stay bounded: ${baseline} before, ${peak} at most`,
    );
    await sleep(200);
    assert.ok(
      openDescriptors(agent.pid) < baseline + 10,
      `and come back: ${openDescriptors(agent.pid)} after, ${baseline} before`,
    );
  });
});
