import { EventEmitter } from 'node:events';
import type { PrismaClient } from '@prisma/client';
import { connectAgent, explainConnectError } from '@tocker/agent-client';
import {
  type AgentInfo,
  type ContainerEvent,
  type ContainerView,
  callAgent,
  readEvent,
} from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import { ContainerListCache } from './container-list.js';
import { catchUp, keepLogs, runsWithoutLogs } from './history.js';

export interface AgentAddress {
  readonly id: number;
  readonly url: string;
  readonly token: string;
}

/** How much of a finished run's output the dashboard keeps. */
const KEPT_LOG_BYTES = 256 * 1024;
const INFO_INTERVAL_MS = 5000;
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The dashboard's server-side connection to one agent. It keeps trying to reach the
 * agent, says when the agent is online or gone (and why), refreshes what the agent tells
 * about its host, and keeps the run history in step: on every (re)connection and every
 * pushed event it catches up from the cursor recorded in the database, one catch-up at a
 * time, so nothing is missed while either side was away and nothing is recorded twice.
 * Runs that ended get their output copied, so it outlives the container. It also keeps
 * the agent's container list for the pages the server renders.
 */
export class AgentLink extends EventEmitter<{
  /** Only on a change: online, then offline, then online again... */
  online: [boolean];
  /** Why it cannot be reached changed (refused token, unreachable). */
  problem: [string];
  recorded: [number];
  info: [AgentInfo];
}> {
  private readonly socket: Socket;
  private syncing: Promise<void> = Promise.resolve();
  private syncAgain = false;
  private syncPending = false;
  private infoTimer: NodeJS.Timeout | undefined;
  private readonly containerList = new ContainerListCache(async () => {
    const { containers } = await callAgent(
      this.socket,
      'container:list',
      { all: true },
      REQUEST_TIMEOUT_MS,
    );
    return containers;
  });
  /** The last reason the agent could not be reached, until it is reached again. */
  problem: string | null = null;
  info: AgentInfo | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    readonly agent: AgentAddress,
  ) {
    super();
    this.socket = connectAgent(agent.url, agent.token, { reconnect: true });
    this.socket.on('connect', () => {
      this.containerList.invalidate(); // whatever happened while away is unknown
      this.problem = null;
      this.emit('online', true);
      this.refreshInfo();
      this.sync();
    });
    this.socket.on('connect_error', (error) => {
      void explainConnectError(agent.url, agent.token, error).then((explained) => {
        const problem = explained.tokenRefused
          ? 'the agent refused the token'
          : `unreachable (${explained.message})`;
        if (problem === this.problem || this.socket.connected) return;
        this.problem = problem;
        this.emit('problem', problem);
      });
    });
    this.socket.on('disconnect', () => {
      this.containerList.invalidate();
      this.problem = 'connection lost';
      this.emit('online', false);
    });
    this.socket.on('event', () => {
      this.containerList.invalidate();
      this.sync();
    });
  }

  get online(): boolean {
    return this.socket.connected;
  }

  /** Every container of the agent, from the last answer while nothing changed since. */
  containers(): Promise<readonly ContainerView[]> {
    return this.containerList.get();
  }

  /** Resolves once the history has caught up with everything the agent said so far. */
  settled(): Promise<void> {
    return this.syncing;
  }

  close(): void {
    clearTimeout(this.infoTimer);
    this.socket.close();
    this.removeAllListeners();
  }

  private refreshInfo(): void {
    clearTimeout(this.infoTimer);
    if (!this.socket.connected) return;
    callAgent(this.socket, 'agent:info', {}, REQUEST_TIMEOUT_MS)
      .then((info) => {
        this.info = info;
        this.emit('info', info);
      })
      .catch(() => {
        // Offline meanwhile: the next connection asks again.
      })
      .finally(() => {
        this.infoTimer = setTimeout(() => this.refreshInfo(), INFO_INTERVAL_MS);
        this.infoTimer.unref();
      });
  }

  private sync(): void {
    if (this.syncPending) {
      this.syncAgain = true; // the running catch-up may already be past this event
      return;
    }
    this.syncPending = true;
    this.syncing = this.syncing.then(async () => {
      do {
        this.syncAgain = false;
        try {
          const cursor = await catchUp(this.prisma, this.agent.id, (since) =>
            this.eventsSince(since),
          );
          await this.keepEndedLogs();
          this.emit('recorded', cursor);
        } catch {
          // Offline or refused: the next connection or event tries again.
        }
      } while (this.syncAgain && this.socket.connected);
      this.syncPending = false;
    });
  }

  private async eventsSince(cursor: number): Promise<readonly ContainerEvent[]> {
    const reply = await callAgent(
      this.socket,
      'events:since',
      { cursor, limit: 500 },
      REQUEST_TIMEOUT_MS,
    );
    // Recorded for good: only what is an event of this protocol (a bad one is skipped).
    return reply.events.flatMap((payload) => readEvent(payload) ?? []);
  }

  /** The agent keeps removed containers' logs for a while; the dashboard keeps them for good. */
  private async keepEndedLogs(): Promise<void> {
    for (const run of await runsWithoutLogs(this.prisma, this.agent.id)) {
      let logs = '';
      try {
        ({ logs } = await callAgent(
          this.socket,
          'container:logs',
          { container: run.containerId, tailBytes: KEPT_LOG_BYTES },
          REQUEST_TIMEOUT_MS,
        ));
      } catch (error) {
        if (!this.socket.connected) throw error; // try again when it is back
        // The agent no longer has them: there is nothing to keep.
      }
      await keepLogs(this.prisma, run.id, logs);
    }
  }
}
