import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import type { StateStore } from '../../state/store.js';
import { parseIpv4 } from '../cidr.js';
import type { Network, NetworkStore } from '../networks.js';
import {
  type Question,
  RCODE_NOERROR,
  RCODE_REFUSED,
  RCODE_SERVFAIL,
  readQuestion,
  TYPE_A,
  TYPE_ANY,
  writeAnswer,
} from './wire.js';

/** How long a container's answer may be kept: containers come and go. */
const TTL_SECONDS = 5;
/** How long the names read from the state root are used before being read again. */
const NAMES_FRESH_MS = 200;
/** How long one upstream resolver gets before the next is asked. */
const UPSTREAM_TIMEOUT_MS = 2000;
const NAMESERVER = /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/;

/**
 * The names of one network as its containers see them, and the way to everything else:
 * a running container on the network answers to its name, its aliases there and its
 * short id; any other name is asked of the host's resolvers (the nameservers of
 * `upstreams`, a resolv.conf, read again when it changes). Asked only from the network's
 * own subnet: the gateway addresses of every network are the host's, so a container of
 * another network could reach this one's, and must not learn its names.
 */
export class NetworkResolver {
  private names = new Map<string, string[]>();
  private namesReadAt = 0;
  private upstreamList: { mtimeMs: number; servers: string[] } = { mtimeMs: -1, servers: [] };

  constructor(
    private readonly network: Network,
    private readonly networks: NetworkStore,
    private readonly containers: StateStore,
    private readonly upstreams: string,
  ) {}

  /** The answer to `query` from `source` (an IPv4 address), over UDP or TCP. */
  async answer(query: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    const question = readQuestion(query);
    if (question === null) return null;
    const from = parseIpv4(source);
    if (from === null || !this.network.subnet.contains(from))
      return writeAnswer(query, question, [], RCODE_REFUSED, 0);
    const local = this.lookUp(question.name);
    if (local !== null) return this.local(query, question, local);
    return (
      (await this.forward(query, transport)) ?? writeAnswer(query, question, [], RCODE_SERVFAIL, 0)
    );
  }

  private local(query: Buffer, question: Question, addresses: string[]): Buffer {
    // A name of the network's has no other type of record: no data, but no error either.
    const asked = question.type === TYPE_A || question.type === TYPE_ANY;
    return writeAnswer(query, question, asked ? addresses : [], RCODE_NOERROR, TTL_SECONDS);
  }

  /** A container's addresses for `name`; null when no container of the network has it. */
  private lookUp(name: string): string[] | null {
    if (Date.now() - this.namesReadAt > NAMES_FRESH_MS) {
      this.names = this.readNames();
      this.namesReadAt = Date.now();
    }
    return this.names.get(name) ?? null;
  }

  private readNames(): Map<string, string[]> {
    const names = new Map<string, string[]>();
    const add = (name: string, address: string) =>
      names.set(name.toLowerCase(), [...(names.get(name.toLowerCase()) ?? []), address]);
    for (const [address, id] of Object.entries(this.networks.leases(this.network))) {
      const record = this.containers.read(id);
      if (record === null || record.status !== 'running' || record.network.mode !== 'bridge')
        continue;
      const attachment = record.network.networks.find(
        (candidate) => candidate.network === this.network.name,
      );
      if (attachment === undefined) continue;
      for (const name of [record.name, ...attachment.aliases, id.slice(0, 12)])
        if (name !== null) add(name, address);
    }
    return names;
  }

  /** The host's resolvers, but never one of tocker's own (a loop). */
  private servers(): string[] {
    try {
      const { mtimeMs } = statSync(this.upstreams);
      if (mtimeMs !== this.upstreamList.mtimeMs)
        this.upstreamList = {
          mtimeMs,
          servers: readFileSync(this.upstreams, 'utf8')
            .split('\n')
            .flatMap((line) => NAMESERVER.exec(line)?.[1] ?? [])
            .filter((server) => server !== this.network.subnet.gatewayText),
        };
    } catch {
      this.upstreamList = { mtimeMs: -1, servers: [] };
    }
    return this.upstreamList.servers;
  }

  /** The upstreams' answer, each asked in turn; null when none answered. */
  private async forward(query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | null> {
    for (const server of this.servers()) {
      const answer = await (transport === 'udp' ? askUdp : askTcp)(server, query).catch(() => null);
      if (answer !== null) return answer;
    }
    return null;
  }
}

/** One query to `server` over UDP, from a socket of its own (its answer cannot be mixed up). */
function askUdp(server: string, query: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket: UdpSocket = createSocket('udp4');
    const done = (answer: Buffer | null) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(null), UPSTREAM_TIMEOUT_MS);
    socket.on('error', () => done(null));
    socket.on('message', (answer) => {
      if (answer.length >= 2 && answer.readUInt16BE(0) === query.readUInt16BE(0)) done(answer);
    });
    socket.send(query, 53, server);
  });
}

/** One query to `server` over TCP (a length before each message). */
function askTcp(server: string, query: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: server, port: 53 });
    const chunks: Buffer[] = [];
    const done = (answer: Buffer | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(null), UPSTREAM_TIMEOUT_MS);
    socket.on('error', () => done(null));
    socket.on('connect', () => socket.write(framed(query)));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0))
        done(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
  });
}

/** A message as TCP carries it: its length first. */
export function framed(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}
