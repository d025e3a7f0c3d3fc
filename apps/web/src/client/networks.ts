import type { NetworkSummary } from '@tocker/protocol';
import { type AgentData, useAgentData } from './agent-data';
import { relay } from './connection';

const listNetworks = (agent: number) =>
  relay(agent, 'network:list', {}).then((reply) => reply.networks);

/**
 * An agent's networks, with the containers on them. The agent pushes no network changes:
 * the list follows its container events (what joins and leaves networks), and whoever
 * creates or removes one reloads it.
 */
export function useNetworks(agent: number | null): AgentData<readonly NetworkSummary[]> {
  return useAgentData(agent, listNetworks);
}

/**
 * Whether a refusal is about network aliases: the protocol's and the runtime's messages
 * about them start "network alias", which names no form field by itself.
 */
export const aboutAliases = (message: string): boolean => message.startsWith('network alias');
