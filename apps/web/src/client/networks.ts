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
