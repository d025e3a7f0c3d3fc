import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reply } from '@tocker/protocol';
import { io, type Socket } from 'socket.io-client';
import { token as agentToken, cgroupParent, root } from '../../agent/test/helpers.js';

const serverMain = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server', 'main.js');

/**
 * A real dashboard server process (Next pages, gateway, SQLite) on a random loopback
 * port, with its database in `dir`, registering `agentUrl` as its local agent.
 */
export class Dashboard {
  url = '';
  readonly loginToken = randomBytes(24).toString('base64url');
  private readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  output = '';

  constructor(dir: string, agentUrl: string) {
    this.process = spawn(
      process.execPath,
      [
        serverMain,
        '--listen',
        '127.0.0.1:0',
        '--db',
        join(dir, 'dashboard.db'),
        '--agent',
        agentUrl,
      ],
      {
        env: {
          ...process.env,
          TOCKER_ROOT: root,
          TOCKER_CGROUP_PARENT: cgroupParent,
          TOCKER_AGENT_TOKEN: agentToken,
          TOCKER_LOGIN_TOKEN: this.loginToken,
          NEXT_TELEMETRY_DISABLED: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.exited = new Promise((resolve) => this.process.on('exit', resolve));
  }

  async started(): Promise<this> {
    this.url = await new Promise<string>((resolve, reject) => {
      const collect = (chunk: Buffer) => {
        this.output += chunk.toString();
        const match = /listening on (\S+)/.exec(this.output);
        if (match?.[1]) resolve(match[1].replace('localhost', '127.0.0.1'));
      };
      this.process.stdout?.on('data', collect);
      this.process.stderr?.on('data', collect);
      void this.exited.then((code) =>
        reject(new Error(`dashboard exited (${code}): ${this.output}`)),
      );
    });
    return this;
  }

  /** Signs in over HTTP; returns the session cookie ("name=value"). */
  async signIn(given = this.loginToken): Promise<{ status: number; cookie: string | null }> {
    const response = await fetch(`${this.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: given }),
    });
    const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? null;
    return { status: response.status, cookie };
  }

  /** A browser-like socket.io connection to the gateway, with a session cookie. */
  connect(cookie: string | null, origin?: string): Promise<Socket> {
    const headers: Record<string, string> = {};
    if (cookie !== null) headers.cookie = cookie;
    if (origin !== undefined) headers.origin = origin;
    const socket = io(this.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: headers,
    });
    return new Promise((resolve, reject) => {
      socket.on('connect', () => resolve(socket));
      socket.on('connect_error', (error) => {
        socket.close();
        reject(error);
      });
    });
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.process.kill(signal);
    return this.exited;
  }
}

export async function ask<T extends object>(
  socket: Socket,
  name: string,
  payload: unknown,
): Promise<Reply<T>> {
  return (await socket.timeout(30_000).emitWithAck(name, payload)) as Reply<T>;
}

export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
