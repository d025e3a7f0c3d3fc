import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { PrismaClient } from '@prisma/client';
import type { HostAllowList } from '@tocker/guard';
import {
  answer,
  type DashboardPushes,
  type DashboardRequestName,
  dashboardRequests,
  dashboardStreams,
  MAX_REQUEST_BYTES,
  requests,
  validate,
} from '@tocker/protocol';
import { Server, type Socket } from 'socket.io';
import type { z } from 'zod';
import { type SignedIn, sessionOf } from './auth.js';
import { readCookie, sameOrigin } from './cookies.js';
import type { AgentRegistry } from './registry.js';
import { BrowserRelay } from './relay.js';
import { listRuns, runDetail } from './runs.js';

type Handlers = {
  [Name in DashboardRequestName]: (
    request: z.output<(typeof dashboardRequests)[Name]>,
    relay: BrowserRelay,
  ) => Promise<object> | object;
};

export interface Gateway {
  attach(http: HttpServer): void;
  /** Signing out ends the session's sockets too (expiry does so by itself). */
  endSession(secretHash: string): void;
  close(): Promise<void>;
}

/**
 * The browsers' socket.io endpoint, on the dashboard's own origin. Only signed-in
 * browsers (the session cookie) from the same origin connect, checked at the handshake,
 * before any session of socket.io exists; a socket lives no longer than its sign-in
 * session. Every message is validated by its schema in @tocker/protocol before it is
 * answered or relayed to an agent, which validates it again.
 */
export function startGateway(
  prisma: PrismaClient,
  registry: AgentRegistry,
  hosts: HostAllowList,
): Gateway {
  const signedIn = new WeakMap<IncomingMessage, SignedIn>();
  const io = new Server<Record<string, never>, DashboardPushes>({
    maxHttpBufferSize: MAX_REQUEST_BYTES,
    serveClient: false,
    transports: ['websocket'],
    allowRequest: (request, callback) => {
      if (!hosts.allows(request) || !sameOrigin(request)) return callback('cross-origin', false);
      sessionOf(prisma, readCookie(request))
        .catch(() => null)
        .then((session) => {
          if (session === null) return callback('sign in first', false);
          signedIn.set(request, session);
          callback(null, true);
        });
    },
  });
  const socketsOf = new Map<string, Set<Socket>>();

  const handlers: Handlers = {
    'agents:list': async () => ({ agents: await registry.list() }),
    'agents:add': async ({ name, url, token }) => ({
      agent: await registry.add(name, url, token),
    }),
    'agents:remove': async ({ agent }) => {
      await registry.remove(agent);
      return {};
    },
    'history:list': (query) => listRuns(prisma, query),
    'history:run': async ({ run }) => ({ run: await runDetail(prisma, run) }),
    relay: async ({ agent, request, input }, relay) => {
      const parsed = validate(requests[request], input);
      if (!parsed.ok) throw new Error(parsed.message);
      return relay.request(agent, request, parsed.value);
    },
  };

  const broadcastAgents = () => {
    void registry.list().then((agents) => io.emit('agents', agents));
  };
  registry.on('changed', broadcastAgents);
  registry.on('recorded', (agent) => io.emit('history', { agent }));
  // Every tab's own connection to a removed agent goes with it.
  const relays = new Set<BrowserRelay>();
  registry.on('removed', (agent) => {
    for (const relay of relays) relay.forget(agent);
  });

  io.on('connection', (socket: Socket) => {
    const session = signedIn.get(socket.request);
    if (session === undefined) return void socket.disconnect(true);
    const sockets = socketsOf.get(session.secretHash) ?? new Set();
    socketsOf.set(session.secretHash, sockets.add(socket));
    const expiry = setTimeout(
      () => socket.disconnect(true),
      session.expiresAt.getTime() - Date.now(),
    ).unref();
    const relay = new BrowserRelay(registry, (name, ...args) => socket.emit(name, ...args));
    relays.add(relay);
    for (const name of Object.keys(dashboardRequests) as DashboardRequestName[]) {
      socket.on(name, async (payload: unknown, ack: unknown) => {
        if (typeof ack !== 'function') return;
        const handler = handlers[name] as (request: unknown, relay: BrowserRelay) => unknown;
        ack(await answer(dashboardRequests[name], payload, (request) => handler(request, relay)));
      });
    }
    for (const name of Object.keys(dashboardStreams) as (keyof typeof dashboardStreams)[]) {
      socket.on(name, (payload: unknown) => {
        const parsed = validate(dashboardStreams[name], payload);
        if (!parsed.ok) return; // the agent would refuse it too; keystrokes have no reply
        const { agent, ...message } = parsed.value;
        try {
          relay.send(agent, name, message);
        } catch {
          // The agent was removed meanwhile.
        }
      });
    }
    socket.on('disconnect', () => {
      clearTimeout(expiry);
      sockets.delete(socket);
      if (sockets.size === 0) socketsOf.delete(session.secretHash);
      relays.delete(relay);
      relay.close();
    });
  });
  return {
    attach: (http) => io.attach(http),
    endSession: (secretHash) => {
      for (const socket of socketsOf.get(secretHash) ?? []) socket.disconnect(true);
    },
    close: () => new Promise((resolve) => io.close(() => resolve())),
  };
}
