import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetworkSummary } from '@tocker/protocol';
import { CliRoot, waitFor } from './helpers.js';
import { attackImage } from './probe/image.js';

const world = new CliRoot({ name: 'netattack' });
const image = attackImage(join(world.root, 'attack-image'));
after(() => world.cleanup());

/**
 * Runs the attacker in a fresh container on `network`; what it printed. No flags: NET_RAW
 * (its packet socket) is one of docker's default capabilities, so any container has it.
 */
async function attack(args: string[], network = 'bridge'): Promise<string> {
  const result = await world.run([
    'run',
    '--rm',
    '--network',
    network,
    '--rootfs',
    image,
    '/attack',
    ...args,
  ]);
  assert.equal(result.stderr, '', args.join(' '));
  return result.stdout.trim();
}

/** The gateway of `network`: the host's own address on the bridge this root made. */
async function gateway(network: string): Promise<{ address: string; subnet: string }> {
  // The default network (and its bridge) comes with the first container that joins it.
  const joined = await world.run(['run', '--rm', '--network', network, '--rootfs', image, 'true']);
  assert.equal(joined.code, 0, joined.stderr);
  const shown = await world.run(['network', 'inspect', network]);
  assert.equal(shown.code, 0, shown.stderr);
  const [shownNetwork] = JSON.parse(shown.stdout) as NetworkSummary[];
  assert.ok(shownNetwork);
  return { address: shownNetwork.gateway, subnet: shownNetwork.subnet };
}

interface Datagram {
  readonly text: string;
  readonly from: string;
}

/** A UDP socket of the test on `address`, a port of its choosing, keeping what it receives. */
async function udpListener(
  address: string,
): Promise<{ socket: Socket; port: number; got: Datagram[] }> {
  const socket = createSocket('udp4');
  const got: Datagram[] = [];
  socket.on('message', (message, from) =>
    got.push({ text: message.toString(), from: from.address }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, resolve);
  });
  return { socket, port: socket.address().port, got };
}

async function tcpListener(address: string): Promise<{ server: Server; port: number }> {
  const server = createServer((connection) => connection.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** The control's sender must be the container itself, not something NATed on the way. */
function inSubnet(address: string, subnet: string): boolean {
  const [base = '', prefix = '32'] = subnet.split('/');
  const number = (text: string) =>
    text.split('.').reduce((value, byte) => value * 256 + Number(byte), 0);
  const size = 2 ** (32 - Number(prefix));
  return Math.floor(number(address) / size) === Math.floor(number(base) / size);
}

describe("CVE-2020-8558: a container's hand-made frames for 127.0.0.1, sent to its gateway's MAC, never reach the host's loopback (route_localnet is on for published ports)", () => {
  // A user network too: each bridge of the root needs its own rule.
  for (const network of ['bridge', 'attacked']) {
    test(`UDP on network ${network}: the datagram for a listener on the host's 127.0.0.1 never arrives; the same probe aimed at the gateway's address does (the control: the frames are right)`, async () => {
      if (network !== 'bridge') {
        const created = await world.run(['network', 'create', network]);
        assert.equal(created.code, 0, created.stderr);
      }
      const { address, subnet } = await gateway(network);
      const loopback = await udpListener('127.0.0.1');
      const control = await udpListener(address);
      try {
        const tag = randomBytes(6).toString('hex');
        // The attack first: its frames are on their way (or dropped) before the control's are
        // sent, so the control's arrival bounds how long the attack's could still take.
        assert.equal(
          await attack(['raw-udp', '127.0.0.1', String(loopback.port), `loopback-${tag}`], network),
          'sent 5',
        );
        assert.equal(
          await attack(['raw-udp', address, String(control.port), `control-${tag}`], network),
          'sent 5',
        );
        const arrived = await waitFor('the control datagram', () => control.got[0]);
        assert.equal(arrived.text, `control-${tag}`);
        assert.ok(inSubnet(arrived.from, subnet), `from the container's address: ${arrived.from}`);
        await sleep(1000);
        assert.deepEqual(loopback.got, [], "a frame for 127.0.0.1 reached the host's loopback");
        // The loopback listener itself hears what does reach it.
        const self = createSocket('udp4');
        self.send(`self-${tag}`, loopback.port, '127.0.0.1', () => self.close());
        assert.equal(
          (await waitFor('our own datagram', () => loopback.got[0])).text,
          `self-${tag}`,
        );
      } finally {
        loopback.socket.close();
        control.socket.close();
      }
    });
  }

  test("TCP: a SYN for a listener on the host's 127.0.0.1 gets no SYN-ACK; one for a listener on the gateway's address does (the control)", async () => {
    const { address } = await gateway('bridge');
    const loopback = await tcpListener('127.0.0.1');
    const control = await tcpListener(address);
    try {
      assert.equal(
        await attack(['raw-syn', address, String(control.port)]),
        'sent 3, syn-ack',
        'the control',
      );
      assert.equal(
        await attack(['raw-syn', '127.0.0.1', String(loopback.port)]),
        'sent 3, no answer',
      );
    } finally {
      loopback.server.close();
      control.server.close();
    }
  });
});
