import { z } from 'zod';
import type {
  AgentInfo,
  ContainerEvent,
  Replies,
  StatsBatch,
  TerminalExit,
  TerminalOutput,
} from './agent.js';
import { requests, streams } from './agent.js';
import type { RequestedEnd } from './container.js';
import type { PullState } from './images.js';

/**
 * The dashboard's own API, between the browser and the dashboard server (socket.io on
 * the dashboard's origin, behind the sign-in cookie). The server holds the agents' tokens
 * and relays agent requests on the browser's behalf: the browser names an agent by its
 * id in the dashboard's database and never sees where its token is.
 */

const agentId = z.number().int().positive();

const agentUrl = z
  .string()
  .trim()
  .url('url: not a URL (e.g. http://127.0.0.1:7070)')
  .refine((url) => /^https?:\/\//.test(url), 'url: must start with http:// or https://')
  .transform((url) => url.replace(/\/+$/, ''));

/** Requests the browser may relay to an agent: everything but the journal, which the server reads. */
export const relayedRequests = Object.keys(requests).filter(
  (name) => name !== 'events:since',
) as readonly Exclude<keyof typeof requests, 'events:since'>[];
export type RelayedRequestName = (typeof relayedRequests)[number];

const historyStatus = z.enum(['running', 'exited', 'created']);

export const dashboardRequests = {
  'agents:list': z.object({}).strict(),
  'agents:add': z
    .object({
      name: z.string().trim().min(1, 'name is required').max(64, 'name: at most 64 characters'),
      url: agentUrl,
      token: z.string().min(16, 'token: at least 16 characters').max(512),
    })
    .strict(),
  'agents:remove': z.object({ agent: agentId }).strict(),
  'history:list': z
    .object({
      agent: agentId.optional(),
      status: historyStatus.optional(),
      oomKilled: z.boolean().optional(),
      /** Name, id prefix, hostname or command. */
      search: z.string().trim().max(200).optional(),
      /** Runs created on or after / before these ISO dates. */
      from: z.string().datetime({ offset: true }).optional(),
      to: z.string().datetime({ offset: true }).optional(),
      page: z.number().int().min(1).default(1),
      pageSize: z.number().int().min(1).max(200).default(25),
    })
    .strict(),
  'history:run': z.object({ run: z.number().int().positive() }).strict(),
  /** A request to one agent, validated here and again by the agent. */
  relay: z
    .object({
      agent: agentId,
      request: z.enum(relayedRequests as [RelayedRequestName, ...RelayedRequestName[]]),
      input: z.unknown(),
    })
    .strict(),
} as const;

export type DashboardRequestName = keyof typeof dashboardRequests;
export type DashboardRequestInput<Name extends DashboardRequestName> = z.input<
  (typeof dashboardRequests)[Name]
>;

/** What the dashboard server answers, besides `ok: true` (`relay`: the agent's own reply). */
export interface DashboardReplies {
  'agents:list': { agents: AgentSummary[] };
  'agents:add': { agent: number };
  'agents:remove': Record<string, never>;
  'history:list': { runs: RunSummary[]; total: number };
  'history:run': { run: RunDetail };
  relay: Replies[RelayedRequestName];
}

/** Terminal keystrokes and acknowledgements, relayed to one agent. */
export const dashboardStreams = {
  'terminal:input': streams['terminal:input'].extend({ agent: agentId }),
  'terminal:ack': streams['terminal:ack'].extend({ agent: agentId }),
} as const;

export interface AgentSummary {
  readonly id: number;
  readonly name: string;
  readonly url: string;
  readonly online: boolean;
  /** Why it is offline, when known (refused token, unreachable). */
  readonly problem: string | null;
  readonly info: AgentInfo | null;
}

export interface RunLimits {
  readonly cpus?: number;
  readonly memory?: number;
  readonly pidsLimit?: number;
}

export interface RunSummary {
  readonly id: number;
  readonly agent: { readonly id: number; readonly name: string };
  readonly containerId: string;
  readonly name: string | null;
  readonly hostname: string | null;
  readonly command: readonly string[];
  /**
   * The image it was made from (null: a directory), and the manifest digest its name
   * resolved to (null for runs recorded before agents reported it).
   */
  readonly image: { readonly reference: string; readonly digest: string | null } | null;
  /** Its root directory, when it was made from one rather than from an image. */
  readonly rootfs: string | null;
  /** The limits it started with. */
  readonly limits: RunLimits;
  /** Each change of its limits while it ran, oldest first. */
  readonly limitChanges: readonly { readonly at: string; readonly limits: RunLimits }[];
  readonly status: 'created' | 'running' | 'exited';
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly oomKilled: boolean;
  readonly requestedEnd: RequestedEnd | null;
  readonly memoryPeakBytes: number | null;
  readonly cpuTimeNs: number | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly removedAt: string | null;
}

export interface RunDetail extends RunSummary {
  /** The whole configuration as it was created (JSON of the spec). */
  readonly spec: unknown;
  /** Its output, kept by the dashboard when it ended (it outlives the container). */
  readonly logs: string | null;
}

/** Pushed by the dashboard server, each naming the agent it comes from. */
export interface DashboardPushes {
  agents: (agents: readonly AgentSummary[]) => void;
  event: (message: { agent: number; event: ContainerEvent }) => void;
  stats: (message: { agent: number; batch: StatsBatch }) => void;
  'terminal:output': (message: { agent: number } & TerminalOutput) => void;
  'terminal:exit': (message: { agent: number } & TerminalExit) => void;
  /**
   * This tab's own connection to an agent came or went. After it comes back, the agent
   * has forgotten this tab's terminals and stats subscription: attach and subscribe again.
   */
  'agent:link': (message: { agent: number; connected: boolean }) => void;
  /** A pull on an agent made progress, ended or failed (every tab that talks to that agent). */
  'image:pull': (message: { agent: number; pull: PullState }) => void;
  /** A run was recorded in history (ended, created...): history views refresh. */
  history: (message: { agent: number }) => void;
}
