import { connectAgent } from '@tocker/agent-client';
import {
  callAgent,
  type DashboardPushes,
  NoAnswer,
  type PullState,
  type RelayedRequestName,
  type Replies,
  type RequestInput,
  readEvent,
  type StatsBatch,
  type TerminalExit,
  type TerminalOutput,
} from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import type { AgentRegistry } from './registry.js';

type Push = <Name extends keyof DashboardPushes>(
  name: Name,
  ...args: Parameters<DashboardPushes[Name]>
) => void;

const RELAY_TIMEOUT_MS = 30_000;

/**
 * One browser tab's connections to the agents it works with, opened on first use with
 * the token the server holds. Each tab is its own viewer on the agent (its own terminal
 * flow control and stats subscription), and everything the agent pushes comes back
 * labelled with the agent's id. Closing the tab closes them, which detaches its
 * terminals without ending the shells.
 */
export class BrowserRelay {
  private readonly agents = new Map<number, Socket>();

  constructor(
    private readonly registry: AgentRegistry,
    private readonly push: Push,
  ) {}

  /** The agent's reply; its refusal, or its silence, as an Error. */
  async request<Name extends RelayedRequestName>(
    agent: number,
    name: Name,
    input: RequestInput<Name>,
  ): Promise<Replies[Name]> {
    const socket = this.socketFor(agent);
    try {
      return await callAgent(socket, name, input, RELAY_TIMEOUT_MS);
    } catch (error) {
      if (!(error instanceof NoAnswer)) throw error;
      throw new Error(
        socket.connected ? 'the agent did not answer in time' : 'the agent is offline',
      );
    }
  }

  send(agent: number, name: string, message: object): void {
    this.socketFor(agent).emit(name, message);
  }

  /** The agent was removed from the dashboard. */
  forget(agent: number): void {
    this.agents.get(agent)?.close();
    this.agents.delete(agent);
  }

  close(): void {
    for (const socket of this.agents.values()) socket.close();
    this.agents.clear();
  }

  private socketFor(agent: number): Socket {
    let socket = this.agents.get(agent);
    if (socket === undefined) {
      const { url, token } = this.registry.address(agent);
      socket = connectAgent(url, token, { reconnect: true });
      socket.on('connect', () => this.push('agent:link', { agent, connected: true }));
      socket.on('disconnect', () => this.push('agent:link', { agent, connected: false }));
      socket.on('event', (payload: unknown) => {
        const event = readEvent(payload);
        if (event !== null) this.push('event', { agent, event });
      });
      socket.on('stats', (batch: StatsBatch) => this.push('stats', { agent, batch }));
      socket.on('terminal:output', (output: TerminalOutput) =>
        this.push('terminal:output', { agent, ...output }),
      );
      socket.on('terminal:exit', (exit: TerminalExit) =>
        this.push('terminal:exit', { agent, ...exit }),
      );
      socket.on('image:pull', (pull: PullState) => this.push('image:pull', { agent, pull }));
      this.agents.set(agent, socket);
    }
    return socket;
  }
}
