import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import { isLoopback } from './listen.js';

/**
 * The Host headers a server answers to: its own addresses and the names it was given.
 * A page of another name that resolves to us (DNS rebinding) is refused, so a foreign
 * site can never become "same origin" with the dashboard.
 */
export class HostAllowList {
  private readonly allowed: ReadonlySet<string>;

  constructor(listenHost: string, names: readonly string[] = []) {
    const addresses =
      listenHost === '0.0.0.0' || listenHost === '::'
        ? Object.values(networkInterfaces()).flatMap((list) =>
            (list ?? []).map((entry) => entry.address),
          )
        : [listenHost];
    const hosts = [...addresses, ...names];
    if (addresses.some(isLoopback)) hosts.push('localhost', '127.0.0.1', '::1');
    this.allowed = new Set(
      hosts.map((host) => (host.includes(':') ? `[${host}]` : host).toLowerCase()),
    );
  }

  /** The Host header names one of them, with the port the request came in on. */
  allows(request: IncomingMessage): boolean {
    const given = (request.headers.host ?? '').toLowerCase();
    const port = `:${request.socket.localPort}`;
    return given.endsWith(port) && this.allowed.has(given.slice(0, -port.length));
  }
}
