import { io, type Socket } from 'socket.io-client';

export interface ConnectOptions {
  /** Keep trying after a failure or a lost connection (the dashboard's links); default false. */
  readonly reconnect?: boolean;
}

/**
 * A socket.io connection to an agent. The token travels in the handshake's Authorization
 * header: the agent checks it before any session exists, so a client without it is
 * turned away at once instead of holding a connection open.
 */
export function connectAgent(url: string, token: string, options: ConnectOptions = {}): Socket {
  return io(url, {
    transports: ['websocket'],
    extraHeaders: { authorization: `Bearer ${token}` },
    reconnection: options.reconnect ?? false,
    reconnectionDelay: 250,
    reconnectionDelayMax: 2000,
  });
}

/** Why a connection to an agent failed, in words; `tokenRefused` when the token was wrong. */
export class AgentConnectError extends Error {
  constructor(
    message: string,
    readonly tokenRefused: boolean,
  ) {
    super(message);
  }
}

/**
 * Why a connection failed: the handshake's refusal carries no reason a websocket client
 * can read, so a refused token is told apart with one plain HTTP request.
 */
export async function explainConnectError(
  url: string,
  token: string,
  error: Error,
): Promise<AgentConnectError> {
  try {
    const response = await fetch(new URL('/v1/info', url), {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    if (response.status === 401)
      return new AgentConnectError('unauthorized: the agent refused the token', true);
    if (response.status === 429)
      return new AgentConnectError('too many connections from this address', false);
  } catch {
    // Not reachable over HTTP either: the connection error says it best.
  }
  return new AgentConnectError(error.message, false);
}

/** A connection once it is open (no retries); an AgentConnectError when it cannot be. */
export async function openAgent(url: string, token: string, timeoutMs = 10_000): Promise<Socket> {
  const socket = connectAgent(url, token);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new AgentConnectError(`no agent answered within ${timeoutMs / 1000} s`, false)),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('connect_error', (error) => {
        clearTimeout(timer);
        void explainConnectError(url, token, error).then(reject);
      });
    });
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}
