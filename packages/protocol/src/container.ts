import { z } from 'zod';
import { publishedPortSchema } from './ports.js';
import type { ContainerSpec } from './spec.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

export const requestedEnds = ['stop', 'kill'] as const;
export type RequestedEnd = (typeof requestedEnds)[number];

/**
 * The image a container was made from: as its user named it, and the manifest digest that
 * name resolved to then (the name may point to another image later, or to none).
 */
export interface ImageOrigin {
  readonly reference: string;
  readonly digest: string;
}

/** `size` ids from containerID inside are hostID's on the host (OCI's linux.uidMappings). */
export interface IdMapping {
  readonly containerID: number;
  readonly hostID: number;
  readonly size: number;
}

/** A container's place on one network: its address there, held until it is removed. */
export const networkAttachmentSchema = z
  .object({
    network: z.string(),
    address: z.string(),
    prefix: z.number().int(),
    gateway: z.string(),
    mac: z.string(),
    /** Names it also answers to on this network's DNS (docker's --network-alias). */
    aliases: z.array(z.string()).default([]),
  })
  .strict();
export type NetworkAttachment = z.output<typeof networkAttachmentSchema>;

/** A record written when a container had at most one network: that one, as the first. */
function oneNetworkRecord(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('address' in value)) return value;
  const { mode, ports, ...attachment } = value as Record<string, unknown>;
  return { mode, networks: [attachment], ports };
}

/**
 * How a container is networked; on networks, its place on each (the first is the one its
 * default route and published ports go through; `network connect` adds others). A schema,
 * as the runtime's records keep it (older records without it had only lo).
 */
export const containerNetworkSchema = z.preprocess(
  oneNetworkRecord,
  z.discriminatedUnion('mode', [
    z.object({ mode: z.enum(['none', 'host']) }).strict(),
    /** In the network namespace of another container (its full id). */
    z.object({ mode: z.literal('container'), container: z.string() }).strict(),
    z
      .object({
        mode: z.literal('bridge'),
        networks: z.array(networkAttachmentSchema),
        /** Its published ports, each with the host port it got. */
        ports: z.array(publishedPortSchema).default([]),
      })
      .strict(),
  ]),
);
export type ContainerNetwork = z.output<typeof containerNetworkSchema>;

/** Its address on its first network (where its default route and published ports are). */
export function primaryAddress(network: ContainerNetwork): string | null {
  return network.mode === 'bridge' ? (network.networks[0]?.address ?? null) : null;
}

/**
 * A container as clients see it (the agent's replies, the CLI's ps and inspect): a
 * projection of the runtime's record, without its bookkeeping (supervisors, the runtime
 * configuration). Browser-safe.
 */
export interface ContainerView {
  readonly id: string;
  readonly name: string | null;
  readonly hostname: string;
  readonly spec: ContainerSpec;
  /** null: its root is a directory (spec.rootfs). */
  readonly image: ImageOrigin | null;
  readonly status: ContainerStatus;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** null while it runs, and when it ended unobserved (no supervisor saw its exit). */
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly oomKilled: boolean;
  /** Why it ended abnormally (failed start, supervisor lost). */
  readonly error: string | null;
  /**
   * The end a user asked for, if one did: `stop` (SIGTERM, then SIGKILL after the grace
   * period) or `kill` (SIGKILL). Set with the request, so a signal it then dies of reads
   * as the stop it was, not as a crash.
   */
  readonly requestedEnd: RequestedEnd | null;
  /** Running, but every process of it frozen (`pause`) until `unpause`. */
  readonly paused: boolean;
  readonly network: ContainerNetwork;
  /**
   * Its user namespace (--userns=auto): the host ids its own map to (OCI's uidMappings and
   * gidMappings); null: the host's ids.
   */
  readonly userNamespace: {
    readonly uidMappings: readonly IdMapping[];
    readonly gidMappings: readonly IdMapping[];
  } | null;
  /** Its PID 1 as the host sees it, while it runs (as docker's State.Pid). */
  readonly pid: number | null;
  /** What it used, read from its cgroup when it ended. */
  readonly usage: { readonly cpuTimeNs: number; readonly memoryPeakBytes: number | null } | null;
}

/** A container whose record cannot be read: listed as such; `rm -f` removes it. */
export interface CorruptContainer {
  readonly id: string;
  /** What is wrong with its record. */
  readonly problem: string;
}

export interface ContainerUsage {
  readonly id: string;
  /** Of the container's CPU limit (or of the whole host without one): 100 = all of it. */
  readonly cpuPercent: number;
  readonly cpuLimit: number | null;
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number | null;
  readonly memoryPeakBytes: number | null;
  readonly pids: number;
  readonly pidsLimit: number | null;
}
