import {
  CONTAINER_NAME,
  type ContainerView,
  type CorruptContainer,
  containerNetworkSchema,
  describeIssue,
  requestedEnds,
} from '@tocker/protocol/vocabulary';
import { z } from 'zod';
import {
  type RuntimeConfig,
  restoreConfig,
  runtimeConfigSchema,
} from '../config/runtime-config.js';
import type { ProcessIdentity } from '../proc.js';

/** A full container id: 64 hex digits, as docker's. */
export const FULL_ID = /^[0-9a-f]{64}$/;

/**
 * What every tocker process knows about a container: the part clients see (ContainerView)
 * plus the host-side bookkeeping.
 */
export interface ContainerRecord
  extends Omit<ContainerView, 'spec' | 'image' | 'pid' | 'userNamespace'> {
  /** What runs (the request it was made from is its `request`: a client's `spec`). */
  readonly config: RuntimeConfig;
  /** PID 1 of the container, as seen from the host. */
  readonly process: ProcessIdentity | null;
  /** The process that waits for the container and records its end. */
  readonly supervisor: ProcessIdentity;
  /**
   * Outlives its supervisor (agent containers): when the supervisor dies, the container
   * keeps running and the next supervisor adopts it. Otherwise it dies with it.
   */
  readonly detached: boolean;
  /** What the container used, read from its cgroup when it ended. */
  readonly usage: { readonly cpuTimeNs: number; readonly memoryPeakBytes: number | null } | null;
}

/** A record that cannot be read: listed as such, removable with rm -f, never acted upon. */
export type CorruptRecord = CorruptContainer;

const processIdentity = z
  .object({ pid: z.number().int().positive(), startTime: z.number().int().nonnegative() })
  .strict();
const timestamp = z.string().datetime();

const recordSchema = z
  .object({
    id: z.string().regex(FULL_ID),
    name: z.string().regex(CONTAINER_NAME).nullable(),
    hostname: z.string().min(1),
    config: runtimeConfigSchema,
    status: z.enum(['created', 'running', 'exited']),
    createdAt: timestamp,
    startedAt: timestamp.nullable(),
    finishedAt: timestamp.nullable(),
    exitCode: z.number().int().nullable(),
    signal: z.number().int().nullable(),
    oomKilled: z.boolean(),
    error: z.string().nullable(),
    // Records written before it existed have none.
    requestedEnd: z.enum(requestedEnds).nullable().default(null),
    // Records written before pause existed were never paused.
    paused: z.boolean().default(false),
    process: processIdentity.nullable(),
    supervisor: processIdentity,
    detached: z.boolean(),
    usage: z
      .object({ cpuTimeNs: z.number(), memoryPeakBytes: z.number().nullable() })
      .strict()
      .nullable(),
    // Records written before networks had only lo.
    network: containerNetworkSchema.default({ mode: 'none' }),
  })
  .strict();

/**
 * Transitions decided but not yet known to be in the transitions log (the outbox): they
 * are written with the record that caused them, then appended. `since` is the log's size
 * before the first append was tried, so checking whether an interrupted append happened
 * after all reads only the log's tail.
 */
export interface Outbox {
  readonly lines: readonly string[];
  readonly since: number;
}

/** The whole of state.json. */
export interface RecordDocument {
  readonly format: 1;
  readonly record: ContainerRecord;
  readonly outbox: Outbox | null;
}

const documentSchema = z
  .object({
    format: z.literal(1),
    record: recordSchema,
    outbox: z
      .object({ lines: z.array(z.string()), since: z.number().int().nonnegative() })
      .strict()
      .nullable(),
  })
  .strict();

export function serializeDocument(document: RecordDocument): string {
  return JSON.stringify(document, null, 2);
}

/** The document in `text`, or what is wrong with it. */
export function parseDocument(
  text: string,
  id: string,
): { ok: true; document: RecordDocument } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `state.json is not JSON (${(error as Error).message})` };
  }
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, problem: `state.json: ${describeIssue(parsed.error)}` };
  }
  const document: RecordDocument = {
    ...parsed.data,
    record: { ...parsed.data.record, config: restoreConfig(parsed.data.record.config) },
  };
  if (document.record.id !== id) {
    return { ok: false, problem: `state.json describes container ${document.record.id}` };
  }
  return { ok: true, document };
}

/** A container as clients see it: the request it was made from as `spec`, no bookkeeping. */
export function viewOf(record: ContainerRecord): ContainerView {
  return {
    id: record.id,
    name: record.name,
    hostname: record.hostname,
    spec: record.config.request,
    image: record.config.root.image,
    network: record.network,
    userNamespace:
      record.config.linux.namespaces.user === 'own'
        ? {
            uidMappings: record.config.linux.uidMappings,
            gidMappings: record.config.linux.gidMappings,
          }
        : null,
    status: record.status,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    exitCode: record.exitCode,
    signal: record.signal,
    oomKilled: record.oomKilled,
    error: record.error,
    requestedEnd: record.requestedEnd,
    paused: record.paused,
    pid: record.status === 'running' ? (record.process?.pid ?? null) : null,
    usage: record.usage,
  };
}
