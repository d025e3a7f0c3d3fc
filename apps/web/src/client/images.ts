import type { ImageSummary, PullState, Replies, VolumeSummary } from '@tocker/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { type AgentData, useAgentData } from './agent-data';
import { dashboard, relay, usePush } from './connection';

/** A name being typed is looked up once the typing pauses. */
const LOOKUP_DELAY_MS = 300;

const listImages = (agent: number) => relay(agent, 'image:list', {});

/**
 * An agent's images and the pulls it is doing, whoever asked for them (this tab or
 * another). The list's pulls are a snapshot and the pushes what came since: a pull seen
 * ending is never shown again, whichever of the two arrives first, and a finished pull
 * reloads the list, which now has its image.
 */
export function useImages(agent: number | null): AgentData<Replies['image:list']> & {
  readonly pulls: readonly PullState[];
} {
  const listed = useAgentData(agent, listImages);
  const { reload } = listed;
  const [pulls, setPulls] = useState<ReadonlyMap<string, PullState>>(new Map());
  const ended = useRef(new Set<string>());

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new agent starts afresh
  useEffect(() => {
    ended.current = new Set();
    setPulls(new Map());
  }, [agent]);
  useEffect(() => {
    const snapshot = listed.data?.pulls ?? [];
    setPulls(
      new Map(
        snapshot.filter((pull) => !ended.current.has(pull.pull)).map((pull) => [pull.pull, pull]),
      ),
    );
  }, [listed.data]);
  usePush(
    'image:pull',
    useCallback(
      (message: { agent: number; pull: PullState }) => {
        if (message.agent !== agent) return;
        const { pull } = message;
        if (pull.status === 'pulling' && ended.current.has(pull.pull)) return;
        if (pull.status !== 'pulling') ended.current.add(pull.pull);
        setPulls((current) => {
          const next = new Map(current);
          if (pull.status === 'pulling') next.set(pull.pull, pull);
          else next.delete(pull.pull);
          return next;
        });
        if (pull.status === 'done') reload();
      },
      [agent, reload],
    ),
  );
  return { ...listed, pulls: [...pulls.values()] };
}

const listVolumes = (agent: number) =>
  relay(agent, 'volume:list', {}).then((reply) => reply.volumes);

/** An agent's volumes, with the containers that mount them. */
export function useVolumes(agent: number | null): AgentData<readonly VolumeSummary[]> {
  return useAgentData(agent, listVolumes);
}

/**
 * The agent's image named `reference` (as the agent resolves names: `busybox` is
 * busybox:latest), looked up as the user types; null while unknown, and when the agent
 * has none (or the name is no image reference).
 */
export function useImageNamed(agent: number | null, reference: string): ImageSummary | null {
  const wanted = reference.trim();
  const [found, setFound] = useState<{ agent: number; name: string; image: ImageSummary } | null>(
    null,
  );
  useEffect(() => {
    if (agent === null || wanted === '') return;
    let live = true;
    const timer = setTimeout(() => {
      relay(agent, 'image:inspect', { image: wanted }).then(
        ({ image }) => live && setFound({ agent, name: wanted, image }),
        () => live && setFound(null),
      );
    }, LOOKUP_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [agent, wanted]);
  return found?.agent === agent && found.name === wanted ? found.image : null;
}

/**
 * Pulls `reference` on `agent` and follows it to its end (joining the pull of the same
 * image in progress, as the agent does): `onState`, if given, gets each state as the
 * agent pushes it. Resolves with the last state, failed or done; rejects when the agent
 * refuses the reference, or when the link to it breaks meanwhile (its pushes would be lost).
 */
export function pullToEnd(
  agent: number,
  reference: string,
  onState: (state: PullState) => void = () => {},
): Promise<PullState> {
  const socket = dashboard();
  return new Promise((resolve, reject) => {
    // The reply names the pull; the pushes before it are older than the state it carries.
    let pull: string | null = null;
    const stop = () => {
      socket.off('image:pull', onPull);
      socket.off('agent:link', onLink);
      socket.off('disconnect', onDisconnect);
    };
    const settle = (state: PullState) => {
      onState(state);
      if (state.status === 'pulling') return;
      stop();
      resolve(state);
    };
    const onPull = (message: { agent: number; pull: PullState }) => {
      if (message.agent === agent && pull !== null && message.pull.pull === pull)
        settle(message.pull);
    };
    const lost = () => {
      stop();
      reject(new Error('lost the link to the agent during the pull: see the Images page'));
    };
    const onLink = (message: { agent: number; connected: boolean }) => {
      if (message.agent === agent && !message.connected) lost();
    };
    const onDisconnect = () => lost();
    socket.on('image:pull', onPull);
    socket.on('agent:link', onLink);
    socket.on('disconnect', onDisconnect);
    relay(agent, 'image:pull', { reference }).then(
      (reply) => {
        pull = reply.pull.pull;
        settle(reply.pull);
      },
      (error: Error) => {
        stop();
        reject(error);
      },
    );
  });
}
