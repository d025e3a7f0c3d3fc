import type { AgentSummary, EngineContainer } from '@tocker/protocol';
import { useEffect, useState } from 'react';
import { relay } from './connection';

/**
 * How often the engines' containers are listed again: their engines tell the agent
 * nothing (no events), so a change shows within this.
 */
const POLL_MS = 5000;

export interface EngineRow {
  readonly agent: AgentSummary;
  readonly container: EngineContainer;
}

/**
 * The containers podman and containerd made through tocker-runtime on each of `agents`,
 * listed again every few seconds. An agent that cannot list them (one older than this
 * request) adds nothing: the section is extra information, not the page's subject.
 */
export function useEngineContainers(agents: readonly AgentSummary[]): readonly EngineRow[] {
  const [rows, setRows] = useState<readonly EngineRow[]>([]);
  useEffect(() => {
    let current = true;
    const load = () =>
      void Promise.all(
        agents.map((agent) =>
          relay(agent.id, 'engine:list', {}).then(
            ({ containers }) => containers.map((container) => ({ agent, container })),
            () => [],
          ),
        ),
      ).then((lists) => current && setRows(lists.flat()));
    load();
    const timer = setInterval(load, POLL_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [agents]);
  return rows;
}
