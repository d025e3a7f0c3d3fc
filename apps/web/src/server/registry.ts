import { EventEmitter } from 'node:events';
import type { PrismaClient } from '@prisma/client';
import { type AgentConnectError, openAgent } from '@tocker/agent-client';
import { type AgentSummary, type ContainerView, callAgent } from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import { type AgentAddress, AgentLink } from './agent-link.js';
import { TokenCipher } from './token-cipher.js';

const VERIFY_TIMEOUT_MS = 5000;

/**
 * The agents the dashboard knows: rows in the database, each with a live link. Adding one
 * first proves its URL and token work, so a typo is an error now rather than an agent
 * that is forever offline.
 */
export class AgentRegistry extends EventEmitter<{
  changed: [];
  recorded: [number];
  removed: [number];
}> {
  private readonly links = new Map<number, AgentLink>();

  private constructor(
    private readonly prisma: PrismaClient,
    private readonly tokens: TokenCipher,
  ) {
    super();
  }

  /** The agents of the database, linked; tokens stored in the clear (older versions) are sealed. */
  static async open(prisma: PrismaClient, tokens: TokenCipher): Promise<AgentRegistry> {
    const registry = new AgentRegistry(prisma, tokens);
    for (const row of await prisma.agent.findMany({ orderBy: { id: 'asc' } })) {
      const sealed = TokenCipher.isSealed(row.token);
      if (!sealed)
        await prisma.agent.update({
          where: { id: row.id },
          data: { token: tokens.seal(row.token, row.url) },
        });
      registry.link({ ...row, token: sealed ? tokens.unseal(row.token, row.url) : row.token });
    }
    return registry;
  }

  /** Where an agent is and its token: for the server's own connections, never for browsers. */
  address(id: number): AgentAddress {
    const link = this.links.get(id);
    if (link === undefined) throw new Error(`no agent ${id}: it was removed`);
    return link.agent;
  }

  async list(): Promise<AgentSummary[]> {
    const rows = await this.prisma.agent.findMany({ orderBy: { id: 'asc' } });
    return rows.map((row) => {
      const link = this.links.get(row.id);
      return {
        id: row.id,
        name: row.name,
        url: row.url,
        online: link?.online ?? false,
        problem: link?.online ? null : (link?.problem ?? null),
        info: link?.info ?? null,
      };
    });
  }

  /** An online agent's containers, as its link last heard them (for pages the server renders). */
  containers(id: number): Promise<readonly ContainerView[]> {
    const link = this.links.get(id);
    if (link === undefined) return Promise.reject(new Error(`no agent ${id}: it was removed`));
    return link.containers();
  }

  async add(name: string, url: string, token: string): Promise<number> {
    if ((await this.prisma.agent.findUnique({ where: { name } })) !== null) {
      throw new Error(`name: an agent named ${name} is already added`);
    }
    if ((await this.prisma.agent.findUnique({ where: { url } })) !== null) {
      throw new Error(`url: an agent at ${url} is already added`);
    }
    await verify(url, token);
    const row = await this.prisma.agent.create({
      data: { name, url, token: this.tokens.seal(token, url) },
    });
    this.link({ ...row, token });
    this.emit('changed');
    return row.id;
  }

  /**
   * Registers the agent started next to the dashboard (`npm start`), or updates it in
   * place: the one already at `url` gets the new token; otherwise the one called `name`
   * moves to `url`, keeping its history (the same agent, listening elsewhere).
   */
  async ensure(name: string, url: string, token: string): Promise<void> {
    const sealed = this.tokens.seal(token, url);
    const existing =
      (await this.prisma.agent.findUnique({ where: { url } })) ??
      (await this.prisma.agent.findUnique({ where: { name } }));
    const row =
      existing === null
        ? await this.prisma.agent.create({ data: { name, url, token: sealed } })
        : await this.prisma.agent.update({
            where: { id: existing.id },
            data: { url, token: sealed },
          });
    this.links.get(row.id)?.close();
    this.link({ ...row, token });
  }

  /** Forgets an agent and its history. */
  async remove(id: number): Promise<void> {
    const link = this.links.get(id);
    if (link === undefined) throw new Error(`no agent ${id}`);
    link.close();
    this.links.delete(id);
    await this.prisma.agent.delete({ where: { id } });
    this.emit('removed', id);
    this.emit('changed');
  }

  /** Resolves when every link's history has caught up. */
  async settled(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.settled()));
  }

  close(): void {
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  private link(agent: AgentAddress): void {
    const link = new AgentLink(this.prisma, agent);
    link.on('online', () => this.emit('changed'));
    link.on('problem', () => this.emit('changed'));
    link.on('info', () => this.emit('changed'));
    link.on('recorded', () => this.emit('recorded', agent.id));
    this.links.set(agent.id, link);
  }
}

/** Connects once with the token and asks who is there. */
async function verify(url: string, token: string): Promise<void> {
  let socket: Socket;
  try {
    socket = await openAgent(url, token, VERIFY_TIMEOUT_MS);
  } catch (error) {
    const { message, tokenRefused } = error as AgentConnectError;
    throw new Error(
      tokenRefused
        ? 'token: the agent refused this token'
        : `url: could not reach an agent at ${url} (${message})`,
    );
  }
  try {
    await callAgent(socket, 'agent:info', {}, VERIFY_TIMEOUT_MS);
  } finally {
    socket.close();
  }
}
