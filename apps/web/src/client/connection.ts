import {
  callDashboard,
  type DashboardPushes,
  type DashboardReplies,
  type DashboardRequestInput,
  type DashboardRequestName,
  NoAnswer,
  type RelayedRequestName,
  type Replies,
  type RequestInput,
  relayToAgent,
} from '@tocker/protocol';
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { io, type Socket } from 'socket.io-client';

/**
 * The browser's one connection to the dashboard server (socket.io on the same origin,
 * authenticated by the session cookie). Agents are reached through it, by id.
 */
type DashboardSocket = Socket<DashboardPushes>;

let socket: DashboardSocket | null = null;

export function dashboard(): DashboardSocket {
  if (socket === null) {
    socket = io({ transports: ['websocket'], reconnectionDelay: 250, reconnectionDelayMax: 2000 });
    // Refused at the handshake, the socket cannot say why: a lost session sends the
    // browser to sign in, a server that is down is retried.
    const toSignIn = () =>
      void fetch('/api/session').then((response) => {
        if (response.status === 401)
          window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      });
    socket.on('connect_error', toSignIn);
    socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') toSignIn();
    });
  }
  return socket;
}

/** For sending: requests are typed by the helpers below, not by socket.io's event map. */
const untyped = () => dashboard() as unknown as Socket;

/** No answer at all: say what that most likely means. */
async function answered<T>(reply: Promise<T>): Promise<T> {
  try {
    return await reply;
  } catch (error) {
    if (error instanceof NoAnswer)
      throw new Error('the dashboard did not answer: is it still running?');
    throw error;
  }
}

/** A request to the dashboard server, its reply typed by the protocol. */
export function request<Name extends DashboardRequestName>(
  name: Name,
  input: DashboardRequestInput<Name>,
): Promise<DashboardReplies[Name]> {
  return answered(callDashboard(untyped(), name, input));
}

/** A request to one agent, through the dashboard server: the agent's own reply. */
export function relay<Name extends RelayedRequestName>(
  agent: number,
  name: Name,
  input: RequestInput<Name>,
): Promise<Replies[Name]> {
  return answered(relayToAgent(untyped(), agent, name, input));
}

export function send(name: 'terminal:input' | 'terminal:ack', message: object): void {
  untyped().emit(name, message);
}

/** Listens to a push from the server for the lifetime of a component. */
export function usePush<Name extends keyof DashboardPushes>(
  name: Name,
  listener: DashboardPushes[Name],
): void {
  useEffect(() => {
    const target = untyped();
    target.on(name, listener as never);
    return () => {
      target.off(name, listener as never);
    };
  }, [name, listener]);
}

function subscribeConnected(onChange: () => void): () => void {
  const target = dashboard();
  target.on('connect', onChange);
  target.on('disconnect', onChange);
  return () => {
    target.off('connect', onChange);
    target.off('disconnect', onChange);
  };
}

/** Whether the dashboard server is reachable; null until the first connection settles. */
export function useConnected(): boolean | null {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  const connected = useSyncExternalStore(
    subscribeConnected,
    () => dashboard().connected,
    () => false,
  );
  return mounted ? connected : null;
}

/**
 * Calls `onLinked` whenever this tab's path to an agent was re-established (the agent
 * came back, or the tab's own connection to the dashboard did): the agent has then
 * forgotten this tab's terminals and subscriptions.
 */
export function useRelink(agent: number | null, onLinked: () => void): void {
  const callback = useRef(onLinked);
  callback.current = onLinked;
  useEffect(() => {
    if (agent === null) return;
    const target = dashboard();
    let lost = false;
    const onLink = (message: { agent: number; connected: boolean }) => {
      if (message.agent !== agent) return;
      if (!message.connected) lost = true;
      else if (lost) {
        lost = false;
        callback.current();
      }
    };
    const onDisconnect = () => {
      lost = true;
    };
    const onConnect = () => {
      if (lost) {
        lost = false;
        callback.current();
      }
    };
    target.on('agent:link', onLink);
    target.on('disconnect', onDisconnect);
    target.on('connect', onConnect);
    return () => {
      target.off('agent:link', onLink);
      target.off('disconnect', onDisconnect);
      target.off('connect', onConnect);
    };
  }, [agent]);
}
