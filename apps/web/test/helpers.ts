import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { token as agentToken, ServerProcess } from '../../agent/test/helpers.js';

const serverMain = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server', 'main.js');

/**
 * A real dashboard server process (Next pages, gateway, SQLite) on a random loopback
 * port, with its database in `dir`, registering `agentUrl` as its local agent.
 */
export class Dashboard extends ServerProcess {
  readonly loginToken: string;

  /** `main`: another build's server (an A/B benchmark); this tree's by default. */
  constructor(dir: string, agentUrl: string, main = serverMain) {
    const loginToken = randomBytes(24).toString('base64url');
    super(
      'dashboard',
      [
        main,
        '--listen',
        '127.0.0.1:0',
        '--db',
        join(dir, 'dashboard.db'),
        '--key-file',
        join(dir, 'agent-tokens.key'),
        '--agent',
        agentUrl,
      ],
      {
        TOCKER_AGENT_TOKEN: agentToken,
        TOCKER_LOGIN_TOKEN: loginToken,
        NEXT_TELEMETRY_DISABLED: '1',
      },
    );
    this.loginToken = loginToken;
  }

  override async started(): Promise<this> {
    await super.started();
    this.url = this.url.replace('localhost', '127.0.0.1'); // it prints the name users type
    return this;
  }

  /** Signs in over HTTP; returns the session cookie ("name=value"). */
  async signIn(
    given = this.loginToken,
    localAddress = '127.0.0.1',
  ): Promise<{ status: number; cookie: string | null; retryAfter: string | null }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(`${this.url}/api/login`, {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json' },
      });
      request.on('response', (response) => {
        response.resume();
        const cookie = response.headers['set-cookie']?.[0]?.split(';')[0] ?? null;
        const retryAfter = response.headers['retry-after'] ?? null;
        response.on('end', () => resolve({ status: response.statusCode ?? 0, cookie, retryAfter }));
      });
      request.on('error', reject);
      request.end(JSON.stringify({ token: given }));
    });
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
