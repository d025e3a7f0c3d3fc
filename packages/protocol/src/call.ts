import type { Replies, Reply, RequestInput, RequestName } from './agent.js';
import type {
  DashboardReplies,
  DashboardRequestInput,
  DashboardRequestName,
  RelayedRequestName,
} from './dashboard.js';

/** What a socket.io client socket offers for a request with an acknowledgement. */
export interface AckSocket {
  timeout(ms: number): { emitWithAck(event: string, payload: unknown): Promise<unknown> };
}

/** No reply within the time allowed: the other side is gone or stuck. */
export class NoAnswer extends Error {}

/**
 * One request, its reply unwrapped: `{ ok: true, ...reply }` becomes the reply, a refusal
 * an Error with the other side's own words. The one place replies are unwrapped; the
 * typed helpers below give it each request's reply type from the protocol's maps.
 */
async function ask<Out>(
  socket: AckSocket,
  name: string,
  payload: unknown,
  timeoutMs: number,
): Promise<Out> {
  let reply: Reply<Out>;
  try {
    reply = (await socket.timeout(timeoutMs).emitWithAck(name, payload)) as Reply<Out>;
  } catch {
    throw new NoAnswer(`no answer to ${name} within ${Math.round(timeoutMs / 1000)} s`);
  }
  if (!reply.ok) throw new Error(reply.error);
  const { ok: _ok, ...rest } = reply;
  return rest as Out;
}

/** A request to an agent. */
export function callAgent<Name extends RequestName>(
  socket: AckSocket,
  name: Name,
  input: RequestInput<Name>,
  timeoutMs = 30_000,
): Promise<Replies[Name]> {
  return ask(socket, name, input, timeoutMs);
}

/** A request to the dashboard server. */
export function callDashboard<Name extends DashboardRequestName>(
  socket: AckSocket,
  name: Name,
  input: DashboardRequestInput<Name>,
  timeoutMs = 35_000,
): Promise<DashboardReplies[Name]> {
  return ask(socket, name, input, timeoutMs);
}

/** A request to one agent, through the dashboard server: the agent's own reply. */
export function relayToAgent<Name extends RelayedRequestName>(
  socket: AckSocket,
  agent: number,
  name: Name,
  input: RequestInput<Name>,
  timeoutMs = 35_000,
): Promise<Replies[Name]> {
  return ask(socket, 'relay', { agent, request: name, input }, timeoutMs);
}
