import { EventEmitter } from 'node:events';
import type { PrismaClient } from '@prisma/client';
import type { ContainerEvent, Reply } from '@tocker/protocol';
import { io, type Socket } from 'socket.io-client';
import { catchUp } from './history.js';

export interface AgentAddress {
  readonly id: number;
  readonly url: string;
  readonly token: string;
}

/**
 * The dashboard's server-side connection to one agent (the token stays here). It keeps
 * trying to reach the agent, says when the agent is online or gone, and keeps the run
 * history in step: on every (re)connection and on every pushed event it catches up from
 * the cursor recorded in the database, one catch-up at a time, so nothing is missed
 * while either side was away and nothing is recorded twice.
 */
export class AgentLink extends EventEmitter<{ online: [boolean]; recorded: [number] }> {
  private readonly socket: Socket;
  private syncing: Promise<void> = Promise.resolve();
  private syncAgain = false;
  private syncPending = false;

  constructor(
    private readonly prisma: PrismaClient,
    readonly agent: AgentAddress,
  ) {
    super();
    this.socket = io(agent.url, {
      auth: { token: agent.token },
      transports: ['websocket'],
      reconnectionDelay: 250,
      reconnectionDelayMax: 2000,
    });
    this.socket.on('connect', () => {
      this.emit('online', true);
      this.sync();
    });
    this.socket.on('disconnect', () => this.emit('online', false));
    this.socket.on('event', () => this.sync());
  }

  get online(): boolean {
    return this.socket.connected;
  }

  /** Resolves once the history has caught up with everything the agent said so far. */
  settled(): Promise<void> {
    return this.syncing;
  }

  close(): void {
    this.socket.close();
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
          this.emit('recorded', cursor);
        } catch {
          // Offline or refused: the next connection or event tries again.
        }
      } while (this.syncAgain && this.socket.connected);
      this.syncPending = false;
    });
  }

  private async eventsSince(cursor: number): Promise<readonly ContainerEvent[]> {
    const reply = (await this.socket
      .timeout(10_000)
      .emitWithAck('events:since', { cursor, limit: 500 })) as Reply<{
      events: ContainerEvent[];
    }>;
    if (!reply.ok) throw new Error(reply.error);
    return reply.events;
  }
}
