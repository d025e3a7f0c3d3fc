import { z } from 'zod';
import {
  type ContainerUsage,
  type ContainerView,
  type CorruptContainer,
  requestedEnds,
} from './container.js';
import type { EngineContainer } from './engines.js';
import type { ImageSummary, NetworkSummary, PullState, VolumeSummary } from './images.js';
import {
  argv,
  CONTAINER_NAME,
  containerSpecFields,
  containerSpecSchema,
  imageReference,
  interfaceName,
  limitsSchema,
  networkAlias,
  volumeName,
} from './spec.js';

/**
 * The agent's API over socket.io: every request is an event with one payload and an
 * acknowledgement, validated by the schema of the same name on both sides. Replies are
 * `{ ok: true, ... }` or `{ ok: false, error }`, never a thrown exception.
 */

/** A container as its users name it: name, full id or id prefix. */
export const containerReference = z.union([
  z.string().regex(/^[0-9a-f]{1,64}$/, 'not a container id'),
  z.string().regex(CONTAINER_NAME, 'not a container name'),
]);

const signalName = z
  .string()
  .regex(/^(SIG)?[A-Z0-9]{2,8}$|^\d{1,2}$/, 'signal: a name like TERM or SIGKILL, or a number');

export const terminalSize = z
  .object({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) })
  .strict();

/** A terminal session: a container's own terminal (its id) or an exec'd process's. */
const sessionId = z.string().regex(/^[0-9a-f]{16,64}$/, 'not a terminal session');

const execRequest = z.object({
  container: containerReference,
  command: argv('command').min(1, 'command is required'),
  env: containerSpecFields.shape.env,
  workdir: z.string().startsWith('/').max(4096).optional(),
});

export const requests = {
  'container:run': z
    .object({ spec: containerSpecSchema, terminal: terminalSize.optional() })
    .strict(),
  'container:list': z.object({ all: z.boolean().default(true) }).strict(),
  'container:inspect': z.object({ container: containerReference }).strict(),
  'container:stop': z
    .object({
      container: containerReference,
      timeoutSeconds: z.number().int().min(0).max(3600).default(10),
    })
    .strict(),
  'container:kill': z
    .object({ container: containerReference, signal: signalName.default('KILL') })
    .strict(),
  /** Freezes every process of a running container (docker's pause), until unpause. */
  'container:pause': z.object({ container: containerReference }).strict(),
  'container:unpause': z.object({ container: containerReference }).strict(),
  'container:restart': z
    .object({
      container: containerReference,
      timeoutSeconds: z.number().int().min(0).max(3600).default(10),
      terminal: terminalSize.optional(),
    })
    .strict(),
  'container:remove': z
    .object({ container: containerReference, force: z.boolean().default(false) })
    .strict(),
  'container:update': z.object({ container: containerReference, limits: limitsSchema }).strict(),
  /** The last `tailBytes` of the output, or what came after byte `fromByte` (follow). */
  'container:logs': z
    .object({
      container: containerReference,
      tailBytes: z
        .number()
        .int()
        .min(0)
        .max(16 * 1024 * 1024)
        .default(256 * 1024),
      fromByte: z.number().int().min(0).optional(),
    })
    .strict(),
  /** A new process in a running container, run to its end: the reply has its exit code and output. */
  'container:exec': execRequest.strict(),
  /** A new process in a running container on a terminal of its own: a session to attach to. */
  'terminal:exec': execRequest.extend({ terminal: terminalSize.optional() }).strict(),
  /** Joins a terminal (a container's own, or an exec's): recent output (up to 256 KiB) comes in the reply. */
  'terminal:attach': z.union([
    z.object({ container: containerReference }).strict(),
    z.object({ session: sessionId }).strict(),
  ]),
  /** The live terminal sessions (of one container, or all): to reattach, or to close forgotten ones. */
  'terminal:list': z.object({ container: containerReference.optional() }).strict(),
  'terminal:detach': z.object({ session: sessionId }).strict(),
  'terminal:resize': z.object({ session: sessionId, size: terminalSize }).strict(),
  /** Ends the session's process (SIGHUP, as a closed terminal would, then SIGKILL). */
  'terminal:close': z.object({ session: sessionId }).strict(),
  /** Stats of every running container, pushed as `stats` about once a second until unsubscribed. */
  'stats:subscribe': z.object({}).strict(),
  'stats:unsubscribe': z.object({}).strict(),
  'events:since': z
    .object({
      cursor: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(10_000).default(1000),
    })
    .strict(),
  /** The agent and its host: versions, capacity, load, container counts. Replies `AgentInfo`. */
  'agent:info': z.object({}).strict(),
  /** The images of the agent's store, and the pulls in progress. */
  'image:list': z.object({}).strict(),
  'image:inspect': z.object({ image: imageReference }).strict(),
  /**
   * Starts pulling (or joins the pull of the same reference in progress): the reply is at
   * once, the progress and the end come as `image:pull` pushes (PullState).
   */
  'image:pull': z.object({ reference: imageReference }).strict(),
  /** Removes a name (or, given an id, every name); refused while containers use it, unless forced. */
  'image:remove': z.object({ image: imageReference, force: z.boolean().default(false) }).strict(),
  /** Removes what no named image and no container needs. */
  'image:prune': z.object({}).strict(),
  'volume:list': z.object({}).strict(),
  /** The containers OCI engines made through tocker-runtime: listed, never acted on. */
  'engine:list': z.object({}).strict(),
  /** Creates a named volume (an existing one is answered as it is, as docker does). */
  'volume:create': z.object({ name: volumeName }).strict(),
  /** Refused while a container (whatever its state) mounts it. */
  'volume:remove': z.object({ name: volumeName }).strict(),
  /** Removes every volume no container mounts. */
  'volume:prune': z.object({}).strict(),
  'network:list': z.object({}).strict(),
  /** A network of the user's: on `subnet` (refused when it overlaps a host route) or a free one. */
  'network:create': z
    .object({
      name: z.string().regex(CONTAINER_NAME, 'name: letters, digits, _ . - (at most 63)'),
      subnet: z.string().max(32).optional(),
      /** Its bridge device's name (docker's com.docker.network.bridge.name); default tk-<id>. */
      bridge: interfaceName.optional(),
    })
    .strict(),
  /** Refused while a container (whatever its state) is on it, and for the default network. */
  'network:remove': z
    .object({ name: z.string().regex(CONTAINER_NAME, 'not a network name') })
    .strict(),
  /** Removes every network of the user's that no container is on. */
  'network:prune': z.object({}).strict(),
  /** Puts a container on one more network: at once if it runs, else at its next start. */
  'network:connect': z
    .object({
      network: z.string().regex(CONTAINER_NAME, 'not a network name'),
      container: containerReference,
      aliases: z.array(networkAlias).max(16, 'network alias: at most 16').default([]),
    })
    .strict(),
  /** Takes a container off a network, and gives back its address there. */
  'network:disconnect': z
    .object({
      network: z.string().regex(CONTAINER_NAME, 'not a network name'),
      container: containerReference,
    })
    .strict(),
} as const;

export type RequestName = keyof typeof requests;
export type RequestInput<Name extends RequestName> = z.input<(typeof requests)[Name]>;
export type Request<Name extends RequestName> = z.output<(typeof requests)[Name]>;

export type Reply<T> = ({ ok: true } & T) | { ok: false; error: string };

/** What the agent answers to each request, besides `ok: true`: one map, no caller restates it. */
export interface Replies {
  'container:run': { container: ContainerView };
  'container:list': { containers: ContainerView[]; corrupt: CorruptContainer[] };
  'container:inspect': { container: ContainerView };
  'container:stop': { container: ContainerView };
  'container:kill': { container: ContainerView };
  'container:pause': { container: ContainerView };
  'container:unpause': { container: ContainerView };
  'container:restart': { container: ContainerView };
  'container:remove': Record<string, never>;
  'container:update': { container: ContainerView };
  /** `nextByte`: where to ask from for what follows; `running`: more may come. */
  'container:logs': { logs: string; nextByte: number; running: boolean };
  'container:exec': { exitCode: number | null; output: string };
  'terminal:exec': { session: string };
  'terminal:attach': { session: string; scrollback: Uint8Array; size: TerminalSize };
  'terminal:list': { sessions: TerminalSessionInfo[] };
  'terminal:detach': Record<string, never>;
  'terminal:resize': Record<string, never>;
  'terminal:close': Record<string, never>;
  'stats:subscribe': Record<string, never>;
  'stats:unsubscribe': Record<string, never>;
  'events:since': { events: ContainerEvent[]; lastSeq: number };
  'agent:info': AgentInfo;
  'image:list': { images: ImageSummary[]; pulls: PullState[] };
  'image:inspect': { image: ImageSummary };
  'image:pull': { pull: PullState };
  /** The names removed, and the images (manifest digests) that went with their last name. */
  'image:remove': { untagged: string[]; deleted: string[] };
  'image:prune': { layers: number; blobs: number };
  'volume:list': { volumes: VolumeSummary[] };
  'engine:list': { containers: EngineContainer[] };
  'volume:create': { volume: VolumeSummary };
  'volume:remove': Record<string, never>;
  'volume:prune': { removed: string[] };
  'network:list': { networks: NetworkSummary[] };
  'network:create': { network: NetworkSummary };
  'network:remove': Record<string, never>;
  'network:prune': { removed: string[] };
  'network:connect': { container: ContainerView };
  'network:disconnect': { container: ContainerView };
}

/** What the agent records in its journal and pushes to subscribers, in sequence order. */
export const containerEventKinds = [
  'created',
  'started',
  'exited',
  'removed',
  'limits-updated',
  'networks-changed',
  'paused',
  'unpaused',
] as const;
export type ContainerEventKind = (typeof containerEventKinds)[number];

/**
 * A container's transition as the runtime logs it (every tocker process appends to the
 * same log) and, numbered, as the agent journals it. A schema, because both logs are
 * files that a crash or a full disk can leave damaged: what is read is checked.
 */
export const containerTransitionSchema = z
  .object({
    at: z.string().datetime(),
    kind: z.enum(containerEventKinds),
    container: z
      .object({ id: z.string().regex(/^[0-9a-f]{64}$/), name: z.string().nullable() })
      .strict(),
    exit: z
      .object({
        exitCode: z.number().int().nullable(),
        signal: z.number().int().nullable(),
        oomKilled: z.boolean(),
        requestedEnd: z.enum(requestedEnds).nullable().optional(),
        memoryPeakBytes: z.number().nullable(),
        cpuTimeNs: z.number().nullable(),
      })
      .strict()
      .optional(),
    limits: limitsSchema.optional(),
    /** On `networks-changed` (network connect, disconnect): the networks it is on now. */
    networks: z.array(z.string()).optional(),
    /** On `created`: the whole configuration, so that history can show how it ran. */
    spec: containerSpecSchema.optional(),
    /** On `created`: the host name it got (the short id unless one was given). */
    hostname: z.string().optional(),
    /** On `created`: the image it was made from, as named and resolved (null: a directory). */
    image: z
      .object({ reference: z.string(), digest: z.string().regex(/^sha256:[0-9a-f]{64}$/) })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

export type ContainerTransition = z.output<typeof containerTransitionSchema>;

export const containerEventSchema = containerTransitionSchema
  .extend({
    /** Position in the agent's journal: strictly increasing, never reused. */
    seq: z.number().int().positive(),
  })
  .strict();

export type ContainerEvent = z.output<typeof containerEventSchema>;

/** An event as it arrives from an agent: checked, not trusted (null: not a valid event). */
export function readEvent(payload: unknown): ContainerEvent | null {
  const parsed = containerEventSchema.safeParse(payload);
  return parsed.success ? parsed.data : null;
}

/**
 * Messages without a reply, for the hot path of a terminal: keystrokes in, and how many
 * output bytes the client has processed (flow control: the agent stops reading a
 * terminal whose viewers fall more than OUTPUT_WINDOW_BYTES behind).
 */
export const streams = {
  'terminal:input': z.object({ session: sessionId, data: z.string().max(64 * 1024) }).strict(),
  'terminal:ack': z
    .object({
      session: sessionId,
      bytes: z
        .number()
        .int()
        .min(0)
        .max(1 << 30),
    })
    .strict(),
} as const;

export type StreamName = keyof typeof streams;

/** Pushed by the agent: `terminal:output` carries raw bytes (UTF-8 may end mid-character). */
export interface TerminalOutput {
  readonly session: string;
  readonly data: Uint8Array;
}

export interface TerminalExit {
  readonly session: string;
  readonly exitCode: number | null;
}

export type TerminalSize = z.output<typeof terminalSize>;

export interface StatsBatch {
  readonly at: string;
  readonly containers: readonly ContainerUsage[];
}

export interface TerminalSessionInfo {
  readonly session: string;
  readonly container: string;
  /** The container's own terminal, or a process started with container:exec. */
  readonly kind: 'container' | 'exec';
  readonly command: readonly string[];
  readonly viewers: number;
  readonly startedAt: string;
}

/** The reply of `agent:info` (besides `ok`): the agent and the host it runs containers on. */
export interface AgentInfo {
  /** The agent's version (its package's). */
  readonly version: string;
  readonly hostname: string;
  /** The kernel release (uname -r). */
  readonly kernel: string;
  /** The cgroup version the runtime uses on this host. */
  readonly cgroupVersion: 1 | 2;
  readonly cpus: number;
  readonly memoryTotalBytes: number;
  /** What can be allocated without swapping (MemAvailable; free memory on old kernels). */
  readonly memoryAvailableBytes: number;
  /** Over 1, 5 and 15 minutes. */
  readonly loadAverage: readonly [number, number, number];
  /** Since the agent process started. */
  readonly uptimeSeconds: number;
  readonly containersRunning: number;
  /** Every container the host knows, exited ones included (until removed). */
  readonly containersTotal: number;
  /** Containers whose record cannot be read (listed by `container:list`; rm -f removes them). */
  readonly containersDamaged: number;
  /**
   * Lines of the transitions log and of the event journal that could not be read (torn by
   * a crash or a full disk, or damaged) and were skipped, since the agent started.
   */
  readonly skippedLogLines: number;
}

/**
 * How far a terminal's viewer may fall behind on its acknowledgements before the pty is no
 * longer read. Large enough to ride out the page's hiccups (a garbage collection, a long
 * frame) without the flood stopping and starting again: in Chromium 4 MiB gave the flood
 * ~8% more than 1 MiB, and Ctrl+C in a flood still showed the prompt as soon (README).
 * After Ctrl+C a viewer may see up to this much scroll past (0.2 s at 20 MB/s).
 */
export const OUTPUT_WINDOW_BYTES = 4 * 1024 * 1024;
export const SCROLLBACK_BYTES = 256 * 1024;

/** Largest request payload the agent accepts, in bytes (socket.io's maxHttpBufferSize). */
export const MAX_REQUEST_BYTES = 256 * 1024;
