import type { AgentSummary, ContainerEvent } from '@tocker/protocol';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useAgents } from './agents';
import { dashboard, relay } from './connection';
import { type ContainerRowView, containerRowView } from './container-row';

/** What a pane of the container page works on: the container, on its agent. */
export interface ContainerPaneProps {
  readonly agent: number;
  readonly container: string;
  readonly running: boolean;
}

export interface ContainersOfAgent {
  readonly containers: readonly ContainerRowView[] | null;
  readonly error: string | null;
}

/** The list as the server rendered it into the page: the agents, and the rows it had. */
export interface RenderedContainers {
  readonly agents: readonly AgentSummary[];
  readonly containers: readonly { agent: number; containers: readonly ContainerRowView[] }[];
}

const REFRESH_DELAY_MS = 100;

/**
 * Every container of every online agent, kept current by the agents' events: a burst of
 * events (200 containers starting) costs one reload per agent, not one per event. It
 * starts from what the server rendered the page with, and loads every agent's list once
 * connected all the same: what changed in between is only known that way.
 */
export function useContainers(rendered: RenderedContainers | null): {
  agents: readonly AgentSummary[] | null;
  byAgent: ReadonlyMap<number, ContainersOfAgent>;
  agentsError: string | null;
} {
  const { agents, error: agentsError } = useAgents(rendered?.agents ?? null);
  const [byAgent, setByAgent] = useState<ReadonlyMap<number, ContainersOfAgent>>(
    () =>
      new Map(
        rendered?.containers.map(({ agent, containers }) => [agent, { containers, error: null }]),
      ),
  );
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const online = useMemo(
    () => (agents ?? []).filter((agent) => agent.online).map((agent) => agent.id),
    [agents],
  );
  const onlineKey = online.join(',');

  useEffect(() => {
    const ids = onlineKey === '' ? [] : onlineKey.split(',').map(Number);
    let live = true;
    const load = (agent: number) => {
      relay(agent, 'container:list', { all: true })
        .then(({ containers }) => {
          if (!live) return;
          setByAgent((map) =>
            new Map(map).set(agent, {
              containers: keepUnchanged(
                map.get(agent)?.containers ?? null,
                containers.map(containerRowView),
              ),
              error: null,
            }),
          );
        })
        .catch((error: Error) => {
          if (live)
            setByAgent((map) =>
              new Map(map).set(agent, {
                containers: map.get(agent)?.containers ?? null,
                error: error.message,
              }),
            );
        });
    };
    const later = (agent: number) => {
      if (!ids.includes(agent) || timers.current.has(agent)) return;
      timers.current.set(
        agent,
        setTimeout(() => {
          timers.current.delete(agent);
          load(agent);
        }, REFRESH_DELAY_MS),
      );
    };
    const onEvent = ({ agent }: { agent: number; event: ContainerEvent }) => later(agent);
    const lost = new Set<number>();
    // After a lost link, whatever happened meanwhile is unknown: load again.
    const onLink = ({ agent, connected }: { agent: number; connected: boolean }) => {
      if (!connected) lost.add(agent);
      else if (lost.delete(agent)) later(agent);
    };
    const socket = dashboard();
    socket.on('event', onEvent);
    socket.on('agent:link', onLink);
    for (const agent of ids) load(agent);
    return () => {
      live = false;
      socket.off('event', onEvent);
      socket.off('agent:link', onLink);
      for (const timer of timers.current.values()) clearTimeout(timer);
      timers.current.clear();
    };
  }, [onlineKey]);

  return { agents, byAgent, agentsError };
}

/** Reuses the previous object of every container that did not change, so its row need not render. */
function keepUnchanged(
  previous: readonly ContainerRowView[] | null,
  next: readonly ContainerRowView[],
): readonly ContainerRowView[] {
  if (previous === null) return next;
  const before = new Map(previous.map((container) => [container.id, container]));
  return next.map((container) => {
    const old = before.get(container.id);
    return old !== undefined && JSON.stringify(old) === JSON.stringify(container) ? old : container;
  });
}
