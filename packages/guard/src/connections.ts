import type { Server } from 'node:http';

const TOO_MANY = 'HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** What one client address may hold open at once, by default: far above any real client. */
export const DEFAULT_CONNECTIONS_PER_ADDRESS = 256;

/**
 * Bounds what any one client address can hold of a server: at most `limit` open TCP
 * connections (one more is answered 429 and closed before a byte of it is parsed), and
 * request headers within 10 s (a client that trickles them keeps nothing for long).
 * With the tokens checked at the handshake, that is all an unauthenticated client gets.
 */
export function guardConnections(server: Server, limit = DEFAULT_CONNECTIONS_PER_ADDRESS): void {
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const open = new Map<string, number>();
  server.prependListener('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > limit) {
      socket.end(TOO_MANY, () => socket.destroy());
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
