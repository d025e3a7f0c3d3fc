import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createConnection, type Socket as NetSocket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  callAgent,
  type Replies,
  type Reply,
  type RequestInput,
  type RequestName,
} from '@tocker/protocol';
import { Runtime } from '@tocker/runtime';
import { io, type Socket } from 'socket.io-client';
import { defaultImageIn } from '../../../packages/images/test/fixtures.js';
import {
  removeStateRoot,
  scratchDir,
  withoutHostResolvers,
} from '../../../packages/runtime/test/scratch.js';

export const agentMain = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
export const tockerBin = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'packages',
  'cli',
  'bin',
  'tocker.cjs',
);
export const root = scratchDir('agent-test');
/** The host's resolv.conf as this root's agents take it: empty, or a test's own resolver. */
export const resolvConf = withoutHostResolvers(root);
export const cgroupParent = `tocker-agent-test-${process.pid}`;
export const token = randomBytes(24).toString('base64url');
process.env.TOCKER_CGROUP_PARENT = cgroupParent;

const START_TIMEOUT_MS = 30_000;

/** Where each thread of a process waits in the kernel (its wchan), for a report of a hang. */
function waitChannels(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => {
        const read = (file: string) =>
          readFileSync(`/proc/${pid}/task/${tid}/${file}`, 'utf8').trim();
        return `${read('comm')}:${read('wchan')}`;
      })
      .join(' ');
  } catch {
    return 'gone';
  }
}

/**
 * A real server process (agent or dashboard) of this test's state root: ready once it
 * prints "listening on URL".
 */
export class ServerProcess {
  url = '';
  /** Everything it printed (stdout and stderr), for tests of what it logs. */
  output = '';
  private readonly process: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    args: readonly string[],
    env: Record<string, string> = {},
  ) {
    // Killed with this test process, however it ends (a runner's timeout, SIGKILL).
    this.process = spawn('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, ...args], {
      env: { ...process.env, TOCKER_ROOT: root, TOCKER_CGROUP_PARENT: cgroupParent, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      process.stderr.write(chunk);
    });
    this.exited = new Promise((resolve) => this.process.on('exit', resolve));
  }

  async started(): Promise<this> {
    this.url = await new Promise<string>((resolve, reject) => {
      // A start that hangs fails here, saying where each of its threads waits.
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name} did not start in ${START_TIMEOUT_MS / 1000} s (${waitChannels(this.pid)}): ${this.output}`,
            ),
          ),
        START_TIMEOUT_MS,
      );
      // The line may have come already (while the caller awaited something else): then no
      // more output comes to wake a listener, and the start looked hung forever.
      const check = () => {
        const match = /listening on (\S+)/.exec(this.output);
        if (match?.[1]) {
          clearTimeout(timer);
          this.process.stdout?.off('data', check);
          resolve(match[1]);
        }
      };
      this.process.stdout?.on('data', check);
      check();
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}): ${this.output}`));
      });
    });
    return this;
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.process.kill(signal);
    return this.exited;
  }
}

/** A real agent process on a random loopback port. */
export class Agent extends ServerProcess {
  /** `listen`: a random loopback port unless a fixed one is needed (to come back on it). */
  constructor(listen = '127.0.0.1:0', options: readonly string[] = []) {
    super('agent', [agentMain, '--listen', listen, ...options], { TOCKER_TOKEN: token });
  }

  /** Ready, with busybox:latest in the store of its root (and the CLI's, which is the same). */
  override async started(): Promise<this> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`busybox:latest was not in ${root}/store after ${START_TIMEOUT_MS / 1000} s`),
          ),
        START_TIMEOUT_MS,
      );
    });
    await Promise.race([defaultImageIn(root), stuck]).finally(() => clearTimeout(timer));
    return super.started();
  }
}

/**
 * A socket.io client of the agent: with our token in its handshake, as real clients
 * (connectAgent) send it, or with `given` (null: none) and extra headers, as an attacker may.
 */
export function connect(
  url: string,
  given: string | null = token,
  headers: Record<string, string> = {},
): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { ...(given === null ? {} : { authorization: `Bearer ${given}` }), ...headers },
  });
  return new Promise((resolve, reject) => {
    socket.on('connect', () => resolve(socket));
    socket.on('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/** A request as an attacker or a careless client may send it: any name, any payload; the raw reply. */
export async function call(socket: Socket, name: string, payload: unknown): Promise<RawReply> {
  return (await socket.timeout(30_000).emitWithAck(name, payload)) as RawReply;
}

type RawReply = Reply<Record<string, unknown>>;

/** A request as clients make it: typed by the protocol, its reply unwrapped. */
export function ok<Name extends RequestName>(
  socket: Socket,
  name: Name,
  input: RequestInput<Name>,
): Promise<Replies[Name]> {
  return callAgent(socket, name, input);
}

/** Resident memory of a process, in bytes. */
export function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/**
 * Removes every container of this test's root (killing what runs), then the root itself
 * (`dispose`: when the test made it something else, e.g. a mount).
 */
export async function removeEverything(dispose?: () => void): Promise<void> {
  const runtime = Runtime.open({ root, cgroupParent });
  for (const record of runtime.list()) await runtime.remove(record.id, { force: true });
  removeStateRoot(root, dispose);
}

/** How many descriptors a process holds. */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * One socket.io websocket handshake as a raw HTTP upgrade, from `localAddress` (any
 * 127.x address: an "other client" on loopback): its status (101 when a session was
 * opened) and body. The connection is closed either way.
 */
export function handshake(
  url: string,
  headers: Record<string, string> = {},
  localAddress = '127.0.0.1',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/socket.io/?EIO=4&transport=websocket`, {
      localAddress,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    request.on('upgrade', (_response, socket) => {
      socket.destroy();
      resolve({ status: 101, body: '' });
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** `count` TCP connections from `localAddress` that never send a byte (slowloris). */
export async function idleConnections(
  url: string,
  count: number,
  localAddress: string,
): Promise<NetSocket[]> {
  const { hostname, port } = new URL(url);
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<NetSocket>((resolve, reject) => {
          const socket = createConnection({ host: hostname, port: Number(port), localAddress });
          socket.once('connect', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
}
