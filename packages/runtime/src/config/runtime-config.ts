import {
  type ContainerSpec,
  containerSpecSchema,
  type PortMapping,
  portMappingSchema,
  SYSCTL_KEY,
  ULIMIT_NAMES,
  type Ulimit,
} from '@tocker/protocol/vocabulary';
import { z } from 'zod';
import type { DeviceRule } from '../cgroups/devices.js';
import type { CgroupLimits } from '../cgroups/types.js';
import { lazySchema } from '../lazy-schema.js';
import type { IdMapping, UserNamespaceMappings } from '../userns/ranges.js';
import { defaultKernelMounts } from './kernel-mounts.js';

/**
 * What the runtime runs: a container's whole configuration, shaped after the OCI runtime
 * spec's config.json (process, capabilities, rlimits, seccomp, masked and read-only paths,
 * devices, resources). Only the validating conversions of this folder can make one
 * (configure() from a user's spec; restoreConfig() from a record this runtime wrote), so
 * nothing unchecked ever reaches Runtime.create: CLI flags, agent JSON and, later, image
 * configurations and networks all come in through configure().
 */
declare const validated: unique symbol;

export interface Capabilities {
  readonly bounding: readonly string[];
  readonly effective: readonly string[];
  readonly permitted: readonly string[];
  readonly inheritable: readonly string[];
  readonly ambient: readonly string[];
}

/** A device node made in the container's /dev (docker's --device, or all of them when privileged). */
export interface DeviceNode {
  readonly path: string;
  readonly type: 'c' | 'b';
  readonly major: number;
  readonly minor: number;
  readonly mode: number;
}

export interface Rlimit {
  readonly type: `RLIMIT_${Uppercase<Ulimit['name']>}`;
  readonly soft: number;
  readonly hard: number;
}

export type RuntimeMount =
  | {
      readonly kind: 'bind';
      /** A real path of the host (symlinks resolved when it was configured). */
      readonly source: string;
      readonly target: string;
      readonly readOnly: boolean;
      /** The named volume it is (null: a host path). */
      readonly volume: string | null;
      /** rbind: the mounts below the source come along. */
      readonly recursive: boolean;
      /** MS_NOSUID, MS_NODEV, MS_NOEXEC (read-only is `readOnly`). */
      readonly flags: number;
      /** MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE (with MS_REC), set once mounted; 0: as it comes. */
      readonly propagation: number;
    }
  | {
      readonly kind: 'tmpfs';
      readonly target: string;
      readonly size: number | null;
      readonly mode: number | null;
    }
  | {
      /** A kernel filesystem (proc, sysfs, devpts, mqueue, tmpfs, cgroup2...) mounted afresh. */
      readonly kind: 'filesystem';
      readonly type: string;
      readonly source: string;
      readonly target: string;
      /** mount(2)'s flags. */
      readonly flags: number;
      /** Its options string, as the filesystem parses it. */
      readonly data: string | null;
      readonly propagation: number;
    }
  | {
      /** The container's own cgroups (OCI's "cgroup" mount): a view of them, never the host's tree. */
      readonly kind: 'cgroup';
      readonly target: string;
      readonly readOnly: boolean;
    };

/**
 * Where one of the container's namespaces comes from: its own, the host's, or an existing
 * one named by path (OCI's linux.namespaces[].path, opened at each start).
 */
export type NamespaceSource = 'own' | 'host' | { readonly path: string };

export interface RuntimeConfigShape {
  readonly ociVersion: string;
  /**
   * The read-only lower layers of the container's root, top first: an image's, or one
   * directory (--rootfs). `image`: the image it came from, as named and resolved.
   */
  readonly root: {
    readonly layers: readonly string[];
    readonly image: { readonly reference: string; readonly digest: string } | null;
    /** The container's own writable layer is mounted read-only (--read-only). */
    readonly readonly: boolean;
    /**
     * The one layer is the root itself, used as it is (an OCI bundle's: the engine made it),
     * not a lower layer under a writable one of the runtime's.
     */
    readonly inPlace: boolean;
  };
  /**
   * Every mount, in this order: the kernel filesystems (/proc, /dev...), then host paths,
   * volumes (their host directories) and tmpfs.
   */
  readonly mounts: readonly RuntimeMount[];
  /** null: the container's short id. */
  readonly hostname: string | null;
  /** setdomainname's (OCI's domainname); null: left as the new UTS namespace has it. */
  readonly domainname: string | null;
  /** Its own network namespace (with only lo, or on a network), or the host's. */
  readonly network:
    | { readonly mode: 'none' | 'host' }
    /** Another container's network namespace, as the request named it (resolved at each start). */
    | { readonly mode: 'container'; readonly container: string }
    /** An existing network namespace by path (an OCI engine's, which configured it). */
    | { readonly mode: 'namespace'; readonly path: string }
    | {
        readonly mode: 'bridge';
        readonly network: string;
        /** More names it answers to on that network's DNS. */
        readonly aliases: readonly string[];
        /** Ports published on the host (their host port may still be "any": 0). */
        readonly ports: readonly PortMapping[];
      };
  readonly process: {
    readonly terminal: boolean;
    readonly args: readonly string[];
    /** KEY=VALUE; HOSTNAME is added when the container is created. */
    readonly env: readonly string[];
    readonly cwd: string;
    readonly user: {
      readonly uid: number;
      readonly gid: number;
      readonly additionalGids: readonly number[];
    };
    readonly capabilities: Capabilities;
    readonly noNewPrivileges: boolean;
    /** setrlimit's, as OCI's process.rlimits (type RLIMIT_NOFILE...); -1: unlimited. */
    readonly rlimits: readonly Rlimit[];
    /** Written to /proc/self/oom_score_adj before the command runs. */
    readonly oomScoreAdj: number;
  };
  readonly linux: {
    readonly resources: {
      readonly limits: CgroupLimits;
      readonly devices: readonly DeviceRule[];
    };
    readonly devices: readonly DeviceNode[];
    /**
     * The seccomp profile, rendered for this container (OCI form) and kept in the state
     * root's SeccompProfiles under this digest; null: unconfined.
     */
    readonly seccomp: { readonly profile: string } | null;
    readonly maskedPaths: readonly string[];
    readonly readonlyPaths: readonly string[];
    /**
     * Namespaces besides the network's (see `network`): the PID namespace may also be
     * another container's (resolved at each start). The mount namespace is always its own.
     */
    readonly namespaces: {
      readonly pid: NamespaceSource | { readonly container: string };
      readonly ipc: NamespaceSource;
      readonly uts: NamespaceSource;
      readonly cgroup: NamespaceSource;
      /** 'own': a user namespace of its own (--userns=auto), mapped by uid/gidMappings. */
      readonly user: 'host' | 'own';
    };
    /**
     * OCI's linux.uidMappings / gidMappings: the container's range of host ids, leased when
     * it is created (empty until then, and with the host's user namespace).
     */
    readonly uidMappings: readonly IdMapping[];
    readonly gidMappings: readonly IdMapping[];
    /** Kernel parameters of the container's own namespaces (OCI's linux.sysctl), checked. */
    readonly sysctl: Readonly<Record<string, string>>;
  };
  /**
   * The request it was made from, as validated: what users are shown (name, image,
   * command, limits...) and the engine's own options that OCI leaves out (init, remove on
   * exit, interactive).
   */
  readonly request: ContainerSpec;
}

export type RuntimeConfig = RuntimeConfigShape & { readonly [validated]: true };

/** The brand, given only by this folder's validating conversions. */
export function sealConfig(shape: RuntimeConfigShape): RuntimeConfig {
  return Object.freeze(shape) as RuntimeConfig;
}

/**
 * Records written before the kernel filesystems were in the mounts list had them fixed
 * (and /sys read-only unless `readonlySysfs` was false): they are listed first now.
 */
function withKernelMounts(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const record = raw as { mounts?: { kind?: string }[]; linux?: { readonlySysfs?: boolean } };
  if (record.linux === undefined || !('readonlySysfs' in record.linux)) return raw;
  const { readonlySysfs, ...linux } = record.linux;
  return {
    ...record,
    mounts: [...defaultKernelMounts(readonlySysfs !== false), ...(record.mounts ?? [])],
    linux,
  };
}

/**
 * How a stored configuration is checked when a record is read back (built then: a start
 * that reads back only what it wrote itself never checks one).
 */
export const runtimeConfigSchema = lazySchema(() => {
  const names = z.array(z.string().regex(/^CAP_[A-Z_]+$/));
  const absolute = z.string().startsWith('/');

  const deviceRule = z
    .object({
      allow: z.boolean(),
      type: z.enum(['a', 'b', 'c']),
      major: z.number().int().nonnegative().nullable(),
      minor: z.number().int().nonnegative().nullable(),
      access: z.string().regex(/^[rwm]{0,3}$/),
    })
    .strict();

  const namespaceSource = z.union([z.enum(['own', 'host']), z.object({ path: absolute }).strict()]);

  const idMappings = z
    .array(
      z
        .object({
          containerID: z.number().int().nonnegative(),
          hostID: z.number().int().nonnegative(),
          size: z.number().int().positive(),
        })
        .strict(),
    )
    .default([]);

  return z.preprocess(
    withKernelMounts,
    z
      .object({
        ociVersion: z.string(),
        root: z.union([
          z
            .object({
              layers: z.array(absolute).min(1),
              image: z
                .object({
                  reference: z.string(),
                  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
                })
                .strict()
                .nullable(),
              readonly: z.boolean().default(false),
              inPlace: z.boolean().default(false),
            })
            .strict(),
          // Records written before images: one directory.
          z
            .object({ path: absolute })
            .strict()
            .transform(({ path }) => ({
              layers: [path],
              image: null,
              readonly: false,
              inPlace: false,
            })),
        ]),
        mounts: z
          .array(
            z.discriminatedUnion('kind', [
              z
                .object({
                  kind: z.literal('bind'),
                  source: absolute,
                  target: absolute,
                  readOnly: z.boolean(),
                  volume: z.string().nullable(),
                  recursive: z.boolean().default(false),
                  flags: z.number().int().nonnegative().default(0),
                  propagation: z.number().int().nonnegative().default(0),
                })
                .strict(),
              z
                .object({
                  kind: z.literal('tmpfs'),
                  target: absolute,
                  size: z.number().int().positive().nullable(),
                  mode: z.number().int().nonnegative().nullable(),
                })
                .strict(),
              z
                .object({
                  kind: z.literal('filesystem'),
                  type: z.string().min(1),
                  source: z.string(),
                  target: absolute,
                  flags: z.number().int().nonnegative(),
                  data: z.string().nullable(),
                  propagation: z.number().int().nonnegative(),
                })
                .strict(),
              z
                .object({ kind: z.literal('cgroup'), target: absolute, readOnly: z.boolean() })
                .strict(),
            ]),
          )
          .default([]),
        hostname: z.string().nullable(),
        domainname: z.string().nullable().default(null),
        // Records written before networks had only lo.
        network: z
          .discriminatedUnion('mode', [
            z.object({ mode: z.enum(['none', 'host']) }).strict(),
            z.object({ mode: z.literal('container'), container: z.string() }).strict(),
            z.object({ mode: z.literal('namespace'), path: absolute }).strict(),
            z
              .object({
                mode: z.literal('bridge'),
                network: z.string(),
                aliases: z.array(z.string()).default([]),
                ports: z.array(portMappingSchema).default([]),
              })
              .strict(),
          ])
          .default({ mode: 'none' }),
        process: z
          .object({
            terminal: z.boolean(),
            args: z.array(z.string()).min(1),
            env: z.array(z.string().includes('=')),
            cwd: absolute,
            user: z
              .object({
                uid: z.number().int().nonnegative(),
                gid: z.number().int().nonnegative(),
                additionalGids: z.array(z.number().int().nonnegative()),
              })
              .strict(),
            capabilities: z
              .object({
                bounding: names,
                effective: names,
                permitted: names,
                inheritable: names,
                ambient: names,
              })
              .strict(),
            noNewPrivileges: z.boolean(),
            // Records written before these had neither.
            rlimits: z
              .array(
                z
                  .object({
                    type: z.enum(
                      ULIMIT_NAMES.map((name) => `RLIMIT_${name.toUpperCase()}`) as [
                        Rlimit['type'],
                        ...Rlimit['type'][],
                      ],
                    ),
                    soft: z.number().int(),
                    hard: z.number().int(),
                  })
                  .strict(),
              )
              .default([]),
            oomScoreAdj: z.number().int().default(0),
          })
          .strict(),
        linux: z
          .object({
            resources: z
              .object({
                limits: z
                  .object({
                    cpus: z.number().positive().optional(),
                    memory: z.number().int().positive().optional(),
                    pidsLimit: z.number().int().positive().nullable().optional(),
                  })
                  .strict(),
                devices: z.array(deviceRule),
              })
              .strict(),
            devices: z.array(
              z
                .object({
                  path: absolute,
                  type: z.enum(['c', 'b']),
                  major: z.number().int().nonnegative(),
                  minor: z.number().int().nonnegative(),
                  mode: z.number().int().nonnegative(),
                })
                .strict(),
            ),
            seccomp: z
              .object({ profile: z.string().regex(/^[0-9a-f]{64}$/) })
              .strict()
              .nullable(),
            maskedPaths: z.array(absolute),
            readonlyPaths: z.array(absolute),
            sysctl: z.record(z.string().regex(SYSCTL_KEY), z.string()).default({}),
            namespaces: z
              .object({
                pid: z.union([namespaceSource, z.object({ container: z.string() }).strict()]),
                ipc: namespaceSource.default('own'),
                uts: namespaceSource.default('own'),
                cgroup: namespaceSource.default('own'),
                // Records written before user namespaces had the host's.
                user: z.enum(['host', 'own']).default('host'),
              })
              .strict()
              .default({ pid: 'own' }),
            uidMappings: idMappings,
            gidMappings: idMappings,
          })
          .strict(),
        request: containerSpecSchema,
      })
      .strict(),
  );
});

/** A configuration read back from a record this runtime wrote (the record schema checked it). */
export function restoreConfig(checked: z.output<typeof runtimeConfigSchema>): RuntimeConfig {
  return sealConfig(checked);
}

/** The same configuration with other limits (tocker update), in the request as in the resources. */
export function withLimits(config: RuntimeConfig, limits: CgroupLimits): RuntimeConfig {
  return sealConfig({
    ...config,
    linux: {
      ...config.linux,
      resources: {
        ...config.linux.resources,
        limits: { ...config.linux.resources.limits, ...limits },
      },
    },
    request: { ...config.request, limits: { ...config.request.limits, ...limits } },
  });
}

/** The same configuration with the user-namespace range leased for the container. */
export function withUserNamespaceMappings(
  config: RuntimeConfig,
  mappings: UserNamespaceMappings,
): RuntimeConfig {
  return sealConfig({
    ...config,
    linux: {
      ...config.linux,
      uidMappings: [...mappings.uidMappings],
      gidMappings: [...mappings.gidMappings],
    },
  });
}
