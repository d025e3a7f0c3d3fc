import type { AgentSummary } from '@tocker/protocol';
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { dashboard, request } from './connection';

export interface AgentsState {
  readonly agents: readonly AgentSummary[] | null;
  readonly error: string | null;
}

/** The agents and their online state, shared by every component of the tab. */
let state: AgentsState = { agents: null, error: null };
const listeners = new Set<() => void>();
let started = false;

function set(next: AgentsState): void {
  state = next;
  for (const listener of listeners) listener();
}

function load(): void {
  request('agents:list', {})
    .then(({ agents }) => set({ agents, error: null }))
    .catch((error: Error) => set({ ...state, error: error.message }));
}

function start(): void {
  if (started) return;
  started = true;
  const socket = dashboard();
  socket.on('agents', (agents) => set({ agents, error: null }));
  socket.on('connect', load);
  if (socket.connected) load();
}

// Asked for as soon as this module loads, before React has hydrated the page.
if (typeof window !== 'undefined') start();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const initial: AgentsState = { agents: null, error: null };

/** `rendered`: the agents the server rendered the page with, shown until the live list arrives. */
export function useAgents(rendered: readonly AgentSummary[] | null = null): AgentsState {
  useEffect(start, []);
  const live = useSyncExternalStore(
    subscribe,
    () => state,
    () => initial,
  );
  return useMemo(
    () => (live.agents === null && rendered !== null ? { ...live, agents: rendered } : live),
    [live, rendered],
  );
}
