/**
 * A user network's DNS server: `node main.js ROOT NETWORK`, started by the first container
 * to join the network (see daemon.ts) and detached from it. It answers on the network's
 * gateway address, port 53 (UDP and TCP), and ends by itself once its network is gone
 * (removed, or its whole state root deleted).
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { StateStore } from '../../state/store.js';
import { NetworkStore } from '../networks.js';
import { announceResolver, upstreamsFile } from './daemon.js';
import { framed, NetworkResolver } from './resolver.js';

/** How often it looks whether its network is still there. */
const WATCH_MS = 1000;

const [root, name] = process.argv.slice(2);
if (root === undefined || name === undefined) {
  process.stderr.write('usage: main.js STATE_ROOT NETWORK\n');
  process.exit(2);
}
const networks = new NetworkStore(join(root, 'networks'), root);
const network = networks.get(name);
if (network === null) {
  process.stderr.write(`no network ${name}\n`);
  process.exit(1);
}
const resolver = new NetworkResolver(network, networks, new StateStore(root), upstreamsFile());
const address = network.subnet.gatewayText;

/** What went wrong while answering: written down, never a reason to stop answering. */
function note(error: Error): void {
  process.stderr.write(`DNS of network ${name}: ${error.message}\n`);
}

/** A container's query is untrusted input: whatever it makes fail stays with that query. */
function answer(query: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
  return resolver.answer(query, source, transport).catch((error: Error) => {
    note(error);
    return null;
  });
}

const udp = createSocket('udp4');
udp.on('message', (query, peer) => {
  void answer(query, peer.address, 'udp').then((reply) => {
    if (reply !== null) udp.send(reply, peer.port, peer.address);
  });
});

const tcp = createServer((socket) => {
  let received = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.setTimeout(10_000, () => socket.destroy());
  socket.on('data', (chunk) => {
    received = Buffer.concat([received, chunk]);
    while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
      const query = received.subarray(2, 2 + received.readUInt16BE(0));
      received = received.subarray(2 + query.length);
      void answer(query, socket.remoteAddress ?? '', 'tcp').then((reply) => {
        if (reply !== null && !socket.destroyed) socket.write(framed(reply));
      });
    }
  });
});

// A network's containers share one server: none of them may take all its descriptors.
tcp.maxConnections = 64;

function fail(error: Error): never {
  process.stderr.write(`DNS of network ${name} on ${address}: ${error.message}\n`);
  process.exit(1);
}
udp.on('error', fail);
tcp.on('error', fail);
udp.bind(53, address, () =>
  tcp.listen(53, address, () => {
    // Bound: from now on an error is one query's or one connection's.
    udp.off('error', fail).on('error', note);
    tcp.off('error', fail).on('error', note);
    announceResolver(networks.dir, network);
  }),
);

setInterval(() => {
  let current: string | undefined;
  try {
    current = networks.get(name)?.id;
  } catch {
    return; // a damaged record is not a reason to stop answering
  }
  if (current !== network.id) process.exit(0);
}, WATCH_MS);
