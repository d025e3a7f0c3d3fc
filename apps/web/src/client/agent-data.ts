import type { ContainerEvent } from '@tocker/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { dashboard, useRelink } from './connection';

/** A burst of container events (a dozen containers removed) costs one reload. */
const RELOAD_DELAY_MS = 100;

export interface AgentData<T> {
  readonly data: T | null;
  readonly error: string | null;
  readonly reload: () => void;
}

/**
 * What `load` answers from one agent, loaded again whenever that agent's containers
 * change (they are what images, volumes and networks are used by) and when the link to it
 * comes back. A reply for an agent no longer shown is dropped.
 */
export function useAgentData<T>(
  agent: number | null,
  load: (agent: number) => Promise<T>,
): AgentData<T> {
  const [state, setState] = useState<{
    agent: number | null;
    data: T | null;
    error: string | null;
  }>({ agent, data: null, error: null });
  const shown = useRef(agent);
  shown.current = agent;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const reload = useCallback(() => {
    if (agent === null) return;
    load(agent)
      .then((data) => shown.current === agent && setState({ agent, data, error: null }))
      .catch(
        (error: Error) =>
          shown.current === agent &&
          setState((current) => ({
            agent,
            data: current.agent === agent ? current.data : null,
            error: error.message,
          })),
      );
  }, [agent, load]);

  useEffect(() => {
    reload();
    const onEvent = (message: { agent: number; event: ContainerEvent }) => {
      if (message.agent !== agent || timer.current !== undefined) return;
      timer.current = setTimeout(() => {
        timer.current = undefined;
        reload();
      }, RELOAD_DELAY_MS);
    };
    const socket = dashboard();
    socket.on('event', onEvent);
    return () => {
      socket.off('event', onEvent);
      clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [agent, reload]);
  useRelink(agent, reload);

  const current = state.agent === agent;
  return { data: current ? state.data : null, error: current ? state.error : null, reload };
}
