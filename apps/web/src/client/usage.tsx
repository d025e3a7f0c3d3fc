import type { ContainerUsage, StatsBatch } from '@tocker/protocol';
import { useEffect, useSyncExternalStore } from 'react';
import { dashboard, relay, useRelink } from './connection';

/**
 * Live usage of every container, one entry per container, outside React state: each
 * row subscribes to its own container, so a stats tick re-renders the cells whose
 * numbers changed and nothing else (no list or page re-render per tick).
 */
const latest = new Map<string, ContainerUsage>();
const listeners = new Map<string, Set<() => void>>();
let listening = false;

const keyOf = (agent: number, id: string) => `${agent}/${id}`;

function listenersOf(key: string): Set<() => void> {
  let set = listeners.get(key);
  if (set === undefined) {
    set = new Set();
    listeners.set(key, set);
  }
  return set;
}

function record({ agent, batch }: { agent: number; batch: StatsBatch }): void {
  for (const usage of batch.containers) {
    const key = keyOf(agent, usage.id);
    latest.set(key, usage);
    for (const listener of listeners.get(key) ?? []) listener();
  }
}

function listen(): void {
  if (listening) return;
  listening = true;
  dashboard().on('stats', record);
}

export function useUsage(agent: number, id: string): ContainerUsage | undefined {
  const key = keyOf(agent, id);
  return useSyncExternalStore(
    (listener) => {
      const set = listenersOf(key);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(key);
      };
    },
    () => latest.get(key),
    () => undefined,
  );
}

/** Every new sample of one container, e.g. to draw its history. */
export function onUsage(agent: number, id: string, listener: (usage: ContainerUsage) => void) {
  listen();
  const key = keyOf(agent, id);
  const notify = () => {
    const usage = latest.get(key);
    if (usage !== undefined) listener(usage);
  };
  const set = listenersOf(key);
  set.add(notify);
  return () => {
    set.delete(notify);
  };
}

function Subscription({ agent }: { agent: number }): null {
  useEffect(() => {
    listen();
    void relay(agent, 'stats:subscribe', {}).catch(() => undefined);
    return () => {
      void relay(agent, 'stats:unsubscribe', {}).catch(() => undefined);
    };
  }, [agent]);
  useRelink(agent, () => void relay(agent, 'stats:subscribe', {}).catch(() => undefined));
  return null;
}

/** Keeps this tab subscribed to the stats of these agents while it is mounted. */
export function StatsSubscriptions({ agents }: { agents: readonly number[] }) {
  return agents.map((agent) => <Subscription key={agent} agent={agent} />);
}
