import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { guardConnections, tokenMatches } from '@tocker/guard';
import {
  type AgentInfo,
  answer,
  MAX_REQUEST_BYTES,
  type PullState,
  type Replies,
  type Request,
  type RequestName,
  requests,
  type StatsBatch,
  type StreamName,
  streams,
  type TerminalExit,
  type TerminalOutput,
  validate,
} from '@tocker/protocol';
import { type NetworkStore, Subnet, type VolumeStore } from '@tocker/runtime';
import { Server, type Socket } from 'socket.io';
import type { z } from 'zod';
import type { ContainerHost } from './containers.js';
import { listEngineContainers } from './engines.js';
import type { ImageHost } from './images.js';
import type { EventJournal } from './journal.js';
import type { StatsSampler } from './stats.js';

export interface AgentServerOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly containers: ContainerHost;
  readonly images: ImageHost;
  readonly volumes: VolumeStore;
  readonly networks: NetworkStore;
  readonly journal: EventJournal;
  readonly stats: StatsSampler;
  /** tocker-runtime's state root, whose engine containers `engine:list` shows. */
  readonly engineRoot: string;
  /** The reply of `agent:info`. */
  readonly info: () => AgentInfo;
}

export interface AgentServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Each request's handler returns its reply as the protocol defines it (Replies). */
type Handlers = {
  [Name in RequestName]: (
    request: Request<Name>,
    socket: Socket,
  ) => Replies[Name] | Promise<Replies[Name]>;
};

function bearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}

/**
 * HTTP and socket.io on one port. Every request, the socket.io handshake included, must
 * carry the token (`Authorization: Bearer`): it is checked before a session exists, so
 * a client without it is turned away at once. Browsers are refused outright (they reach
 * agents through the dashboard server, which holds the tokens); no client address holds
 * more than a bounded number of connections. Each request is validated by its protocol
 * schema before anything runs, and always answered, with an error when it must be refused.
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const { containers, images, volumes, networks, journal, stats } = options;
  const http = createServer((request, response) => {
    // socket.io answers its own paths before this handler; everything else is plain HTTP.
    if (!tokenMatches(options.token, bearer(request))) {
      response
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"error":"missing or wrong token"}');
      return;
    }
    if (request.url === '/v1/info') {
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ name: 'tocker-agent', lastEvent: journal.lastSeq }));
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });

  guardConnections(http);

  const io = new Server(http, {
    maxHttpBufferSize: MAX_REQUEST_BYTES,
    serveClient: false,
    transports: ['websocket'],
    allowRequest: (request, callback) => {
      if (request.headers.origin !== undefined) callback('browsers are not served', false);
      else if (!tokenMatches(options.token, bearer(request)))
        callback('missing or wrong token', false);
      else callback(null, true);
    },
  });

  const handlers: Handlers = {
    'container:run': ({ spec, terminal }) =>
      containers.run(spec, terminal).then((container) => ({ container })),
    'container:list': ({ all }) => containers.list(all),
    'container:inspect': ({ container }) => ({ container: containers.inspect(container) }),
    'container:stop': ({ container, timeoutSeconds }) =>
      containers.stop(container, timeoutSeconds).then((record) => ({ container: record })),
    'container:kill': ({ container, signal }) => ({
      container: containers.kill(container, signal),
    }),
    'container:pause': ({ container }) => ({ container: containers.pause(container) }),
    'container:unpause': ({ container }) => ({ container: containers.unpause(container) }),
    'container:restart': ({ container, timeoutSeconds, terminal }) =>
      containers
        .restart(container, timeoutSeconds, terminal)
        .then((record) => ({ container: record })),
    'container:remove': ({ container, force }) =>
      containers.remove(container, force).then(() => ({})),
    'container:update': ({ container, limits }) => ({
      container: containers.update(container, limits),
    }),
    'container:logs': ({ container, tailBytes, fromByte }) =>
      containers.logs(container, tailBytes, fromByte),
    'agent:info': () => options.info(),
    'events:since': ({ cursor, limit }) => ({
      events: journal.since(cursor, limit),
      lastSeq: journal.lastSeq,
    }),
    'container:exec': ({ container, ...request }) => containers.execToEnd(container, request),
    'terminal:exec': async ({ container, terminal, ...request }) => ({
      session: await containers.execTerminal(
        container,
        request,
        terminal ?? { cols: 80, rows: 24 },
      ),
    }),
    'terminal:attach': (target, socket) => {
      const session =
        'session' in target
          ? containers.session(target.session)
          : containers.terminal(target.container);
      const { scrollback, size } = session.attach({
        id: socket.id,
        output: (data) =>
          socket.emit('terminal:output', { session: session.id, data } satisfies TerminalOutput),
        exited: (exitCode) =>
          socket.emit('terminal:exit', { session: session.id, exitCode } satisfies TerminalExit),
      });
      viewing(socket).add(session.id);
      return { session: session.id, scrollback, size };
    },
    'terminal:list': ({ container }) => ({ sessions: containers.sessions(container) }),
    'terminal:detach': ({ session }, socket) => {
      containers.session(session).detach(socket.id);
      viewing(socket).delete(session);
      return {};
    },
    'terminal:resize': ({ session, size }) => {
      containers.session(session).resize(size);
      return {};
    },
    'terminal:close': ({ session }) => {
      containers.session(session).close();
      return {};
    },
    'image:list': () => ({ images: images.catalog.list(), pulls: images.inProgress }),
    'image:inspect': ({ image }) => ({ image: images.catalog.inspect(image) }),
    'image:pull': ({ reference }) => ({ pull: images.pull(reference) }),
    'image:remove': ({ image, force }) => images.catalog.remove(image, force),
    'image:prune': () => images.catalog.prune(),
    'volume:list': () => ({ volumes: volumes.list().map((volume) => volumes.describe(volume)) }),
    'volume:create': ({ name }) => ({ volume: volumes.describe(volumes.ensure(name)) }),
    'volume:remove': ({ name }) => {
      volumes.remove(name);
      return {};
    },
    'volume:prune': () => ({ removed: volumes.prune() }),
    'engine:list': () => ({ containers: listEngineContainers(options.engineRoot) }),
    'network:list': () => ({
      networks: networks.list().map((network) => networks.describe(network)),
    }),
    'network:create': ({ name, subnet, bridge }) => ({
      network: networks.describe(
        networks.createNetwork(
          name,
          subnet === undefined ? null : Subnet.parse(subnet),
          bridge ?? null,
        ),
      ),
    }),
    'network:remove': ({ name }) => {
      networks.remove(name);
      return {};
    },
    'network:prune': () => ({ removed: networks.prune() }),
    'network:connect': ({ network, container, aliases }) => ({
      container: containers.connect(container, network, aliases),
    }),
    'network:disconnect': ({ network, container }) => ({
      container: containers.disconnect(container, network),
    }),
    'stats:subscribe': (_request, socket) => {
      if (!statsListeners.has(socket)) {
        statsListeners.add(socket);
        void socket.join('stats');
        stats.subscribe();
      }
      return {};
    },
    'stats:unsubscribe': (_request, socket) => {
      if (statsListeners.delete(socket)) {
        void socket.leave('stats');
        stats.unsubscribe();
      }
      return {};
    },
  };
  const statsListeners = new WeakSet<Socket>();
  const streamHandlers: {
    [Name in StreamName]: (message: z.output<(typeof streams)[Name]>, socket: Socket) => void;
  } = {
    'terminal:input': ({ session, data }) => containers.session(session).input(data),
    'terminal:ack': ({ session, bytes }, socket) =>
      containers.session(session).acknowledge(socket.id, bytes),
  };
  const sessionsOf = new WeakMap<Socket, Set<string>>();
  const viewing = (socket: Socket) => {
    let sessions = sessionsOf.get(socket);
    if (sessions === undefined) {
      sessions = new Set();
      sessionsOf.set(socket, sessions);
    }
    return sessions;
  };

  io.on('connection', (socket) => {
    for (const name of Object.keys(requests) as RequestName[]) {
      socket.on(name, async (payload: unknown, ack: unknown) => {
        if (typeof ack !== 'function') return; // a request nobody waits for is not run
        const handler = handlers[name] as (request: unknown, socket: Socket) => unknown;
        ack(await answer(requests[name], payload, (request) => handler(request, socket)));
      });
    }
    // No reply on the hot path of a terminal; a bad message is answered with an error event.
    for (const name of Object.keys(streams) as StreamName[]) {
      socket.on(name, (payload: unknown) => {
        const parsed = validate(streams[name], payload);
        try {
          if (!parsed.ok) throw new Error(parsed.message);
          (streamHandlers[name] as (message: unknown, socket: Socket) => void)(
            parsed.value,
            socket,
          );
        } catch (error) {
          socket.emit('stream:error', { event: name, error: (error as Error).message });
        }
      });
    }
    // A closed tab detaches its viewers; the shells themselves live on.
    socket.on('disconnect', () => {
      if (statsListeners.delete(socket)) stats.unsubscribe();
      for (const session of viewing(socket)) {
        try {
          containers.session(session).detach(socket.id);
        } catch {
          // The session ended meanwhile.
        }
      }
    });
  });
  const forward = (event: unknown) => io.emit('event', event);
  journal.on('event', forward);
  const publishStats = (batch: StatsBatch) => io.to('stats').emit('stats', batch);
  stats.on('batch', publishStats);
  const publishPull = (state: PullState) => io.emit('image:pull', state);
  images.on('pull', publishPull);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        journal.off('event', forward);
        stats.off('batch', publishStats);
        images.off('pull', publishPull);
        io.close(() => resolve());
      }),
  };
}
