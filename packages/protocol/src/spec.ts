import { z } from 'zod';
import { portMappingSchema } from './ports.js';
import { oomScoreAdjSchema, sysctlsSchema, ulimitSchema } from './process-settings.js';
import { formatBytes, MIN_MEMORY_BYTES, parseMemorySize } from './units.js';

/**
 * The one description of a container, validated once at the boundary (CLI flags, agent
 * API, the dashboard's form) and then passed, typed and immutable, to the runtime. Limits
 * arrive as the user typed them (strings like "64m" or "0.5" are accepted) and leave as
 * numbers. Browser-safe: no Node modules. What only the host can check (its CPU count,
 * whether the rootfs exists) the runtime checks.
 */

/** The busybox root filesystem that set-up prepares on every host. */
export const DEFAULT_IMAGE = '/var/lib/tocker/images/busybox';

export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const HOSTNAME =
  /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const ENV_KEY = /^[^=\0]+$/;
const USER = /^[a-zA-Z0-9_.][a-zA-Z0-9_.-]{0,31}(:[a-zA-Z0-9_.][a-zA-Z0-9_.-]{0,31})?$/;

/** "/a//b/./c/../d/" -> "/a/b/d"; ".." never climbs above "/". */
function normalizeAbsolute(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  return `/${parts.join('/')}`;
}

const absolutePath = (what: string) =>
  z
    .string({ required_error: `${what} is required` })
    .min(1, `${what} must not be empty`)
    .refine((path) => path.startsWith('/'), `${what} must be an absolute path`)
    .refine((path) => !path.includes('\0'), `${what} must not contain NUL`)
    .transform(normalizeAbsolute);

const cpus = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed =
    typeof value === 'number' ? value : Number(value.trim() === '' ? Number.NaN : value);
  if (!Number.isFinite(parsed)) {
    ctx.addIssue({ code: 'custom', message: `cpus: "${value}" is not a number (e.g. 0.5, 1.5)` });
    return z.NEVER;
  }
  if (parsed < 0.01) {
    ctx.addIssue({ code: 'custom', message: `cpus: must be at least 0.01 (got ${value})` });
    return z.NEVER;
  }
  return parsed;
});

const memory = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === 'number' ? value : parseMemorySize(value);
  if (bytes === undefined || !Number.isSafeInteger(bytes)) {
    ctx.addIssue({
      code: 'custom',
      message: `memory: "${value}" is not a size (e.g. 64m, 1g, 104857600b; a bare number is MiB)`,
    });
    return z.NEVER;
  }
  if (bytes < MIN_MEMORY_BYTES) {
    ctx.addIssue({
      code: 'custom',
      message: `memory: must be at least ${formatBytes(MIN_MEMORY_BYTES)} (got ${value})`,
    });
    return z.NEVER;
  }
  return bytes;
});

/**
 * At least 1, or -1 (docker's way of saying unlimited), which becomes null; null itself
 * is taken too, so that a validated spec validates again unchanged (records are re-read).
 */
const pidsLimit = z.union([z.number(), z.string(), z.null()]).transform((value, ctx) => {
  if (value === null) return null;
  const parsed =
    typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (parsed === -1) return null;
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    ctx.addIssue({
      code: 'custom',
      message: `pids-limit: must be a whole number of at least 1, or -1 for none (got ${value})`,
    });
    return z.NEVER;
  }
  return parsed;
});

/** The processes a container may have when none is asked for (as podman). */
export const DEFAULT_PIDS_LIMIT = 2048;

const capabilityName = z
  .string()
  .regex(/^(CAP_)?[A-Za-z_]{2,32}$/, 'a capability name like NET_ADMIN, CAP_SYS_TIME or ALL');

/** docker's --device: HOST[:CONTAINER][:PERMISSIONS], e.g. /dev/fuse or /dev/sdb:/dev/xvdb:r. */
const deviceArgument = z
  .string()
  .regex(
    /^\/[^:\0]*(:\/[^:\0]*)?(:[rwm]{1,3})?$/,
    'devices: HOST_PATH[:CONTAINER_PATH][:PERMISSIONS], e.g. /dev/fuse or /dev/sdb:/dev/xvdb:rwm',
  );

/** A tmpfs's size: any size (a memory limit's minimum does not apply). */
const tmpfsSize = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === 'number' ? value : parseMemorySize(value);
  if (bytes === undefined || !Number.isSafeInteger(bytes) || bytes <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `tmpfs size: "${value}" is not a size (e.g. 64m, 1g)`,
    });
    return z.NEVER;
  }
  return bytes;
});

export const NETWORK_MODES = ['bridge', 'none', 'host'] as const;
/** Another container's namespace (network, pid), by its name or id. */
const CONTAINER_NETWORK = /^container:[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A volume's name, as docker's: it becomes a directory name under TOCKER_ROOT/volumes. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** An image as users name it: `busybox`, `alpine:3.20`, `host:5000/app@sha256:…`, an id. */
export const imageReference = z
  .string()
  .trim()
  .min(1, 'image: give an image name')
  .max(512, 'image: at most 512 characters');

/** A network interface's name as Linux takes it (IFNAMSIZ): a bridge a network is given. */
export const interfaceName = z
  .string()
  .regex(/^[a-zA-Z0-9_.-]+$/, 'bridge: an interface name of letters, digits, _ . -')
  .max(15, 'bridge: an interface name has at most 15 characters')
  .refine((name) => name !== '.' && name !== '..', 'bridge: not . or ..');

/** A name on a network's DNS besides the container's own (docker's --network-alias). */
export const networkAlias = z
  .string()
  .regex(CONTAINER_NAME, 'network alias: letters, digits, _ . - (at most 63)');

export const volumeName = z
  .string()
  .regex(VOLUME_NAME, 'volume: a name of letters, digits, _ . - (at most 128)');

const mountTarget = absolutePath('mount target').refine(
  (target) => target !== '/' && !/^\/(proc|sys)(\/|$)/.test(target),
  'mount target: not "/", nor in /proc or /sys',
);

/**
 * What is mounted into a container: a host directory or file (bind), a named volume
 * (created on first use, filled from the image's content there), or a tmpfs.
 */
export const mountSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('bind'),
      source: absolutePath('bind source'),
      target: mountTarget,
      readOnly: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      type: z.literal('volume'),
      source: volumeName,
      target: mountTarget,
      readOnly: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      type: z.literal('tmpfs'),
      target: mountTarget,
      size: tmpfsSize.optional(),
      mode: z.number().int().min(0).max(0o7777).optional(),
    })
    .strict(),
]);
export type MountInput = z.input<typeof mountSchema>;
export type Mount = z.output<typeof mountSchema>;

export const limitsSchema = z
  .object({ cpus: cpus.optional(), memory: memory.optional(), pidsLimit: pidsLimit.optional() })
  .strict();

/** A command line as its arguments (never a shell string). */
export const argv = (what: string) =>
  z.array(
    z.string().refine((arg) => !arg.includes('\0'), `${what}: arguments must not contain NUL`),
  );

/** The fields of a container spec, each checked on its own (containerSpecSchema adds the rules between them). */
/** docker's --userns values: a user namespace of its own (auto), or the host's. */
export const USERNS_MODES = ['auto', 'host'] as const;

export const containerSpecFields = z
  .object({
    name: z
      .string()
      .regex(
        CONTAINER_NAME,
        'name: use 1-63 letters, digits, "_", "." or "-", starting with a letter or digit',
      )
      .optional(),
    hostname: z
      .string()
      .max(64, 'hostname: at most 64 characters')
      .regex(HOSTNAME, 'hostname: not a valid host name')
      .optional(),
    /** An image of the image store (`busybox`, `alpine:3.20`, an id): its layers are the root. */
    image: imageReference.optional(),
    /** A directory on the host as the root (gocker's --rootfs), instead of an image. */
    rootfs: absolutePath('rootfs').optional(),
    /** What runs: the image's entrypoint and this (or the image's command when empty). */
    command: argv('command').default([]),
    /** Replaces the image's entrypoint ([]: none); then only `command` runs. */
    entrypoint: argv('entrypoint').optional(),
    /** user[:group], names or numbers, as the image's /etc/passwd and /etc/group say. */
    user: z.string().regex(USER, 'user: NAME or UID, optionally :GROUP or :GID').optional(),
    env: z
      .record(
        z.string().regex(ENV_KEY, 'env: a variable name must not be empty or contain "="'),
        z.string().refine((v) => !v.includes('\0'), 'env: values must not contain NUL'),
      )
      .default({}),
    /** Where it starts (created if missing): the image's working directory, or "/". */
    workdir: absolutePath('workdir').optional(),
    tty: z.boolean().default(false),
    interactive: z.boolean().default(false),
    init: z.boolean().default(false),
    autoRemove: z.boolean().default(false),
    limits: limitsSchema.default({}),
    /** Every capability, every device, no seccomp, /sys writable: no isolation but namespaces. */
    privileged: z.boolean().default(false),
    capAdd: z.array(capabilityName).max(64).default([]),
    capDrop: z.array(capabilityName).max(64).default([]),
    /** 'default': docker's profile; or a profile (docker or OCI format), checked by the runtime. */
    seccomp: z
      .union([z.enum(['default', 'unconfined']), z.record(z.string(), z.unknown())])
      .default('default'),
    noNewPrivileges: z.boolean().default(false),
    devices: z.array(deviceArgument).max(64).default([]),
    mounts: z.array(mountSchema).max(32, 'mounts: at most 32').default([]),
    /** The root filesystem read-only (its mounts, /dev, /tmp... as they are). */
    readOnlyRoot: z.boolean().default(false),
    /** Resource limits of its processes (docker's --ulimit). */
    ulimits: z.array(ulimitSchema).max(16, 'ulimit: at most 16').default([]),
    /** Kernel parameters of its own namespaces (docker's --sysctl), checked by the runtime. */
    sysctls: sysctlsSchema.default({}),
    /** Its OOM score adjustment (docker's --oom-score-adj). */
    oomScoreAdj: oomScoreAdjSchema.default(0),
    /**
     * `bridge`: an address on the default network, the outside through NAT (docker's
     * default); `none`: only lo; `host`: the host's own network, no isolation of it;
     * `container:NAME`: the network namespace of a running container (its sidecar).
     */
    network: z
      .string()
      .refine(
        (value) =>
          (NETWORK_MODES as readonly string[]).includes(value) ||
          CONTAINER_NETWORK.test(value) ||
          CONTAINER_NAME.test(value),
        `network: ${NETWORK_MODES.join(', ')}, container:NAME or a network's name`,
      )
      .default('bridge'),
    /** container:NAME: that running container's processes are its own too (docker's --pid). */
    pid: z
      .string()
      .regex(CONTAINER_NETWORK, "pid: container:NAME (another running container's processes)")
      .optional(),
    /**
     * `auto`: a user namespace of its own, its root an unprivileged range of host ids;
     * `host`: the host's ids (docker's default). Unset: whoever runs it decides (the CLI:
     * host; the agent: its --userns default).
     */
    userns: z.enum(USERNS_MODES, { message: `userns: ${USERNS_MODES.join(' or ')}` }).optional(),
    /** More names it answers to on its network's DNS (docker's --network-alias). */
    networkAliases: z.array(networkAlias).max(16, 'network alias: at most 16').default([]),
    /** Ports published on the host (docker's -p); only on the bridge network. */
    ports: z.array(portMappingSchema).max(64, 'publish: at most 64 ports').default([]),
    /** docker's -P: every port the image exposes, on free host ports. */
    publishAll: z.boolean().default(false),
  })
  .strict();

export const containerSpecSchema = containerSpecFields.superRefine((spec, context) => {
  if ((spec.image === undefined) === (spec.rootfs === undefined))
    context.addIssue({
      code: 'custom',
      path: ['image'],
      message: 'image: give an image, or a root filesystem directory (rootfs), not both',
    });
  const targets = spec.mounts.map((mount) => mount.target);
  const repeated = targets.find((target, index) => targets.indexOf(target) !== index);
  if (repeated !== undefined)
    context.addIssue({
      code: 'custom',
      path: ['mounts'],
      message: `mounts: ${repeated} is the target of two mounts`,
    });
  if (
    (spec.ports.length > 0 || spec.publishAll) &&
    (spec.network === 'none' || spec.network === 'host' || spec.network.startsWith('container:'))
  )
    context.addIssue({
      code: 'custom',
      path: ['ports'],
      message: `publish: a container on network ${spec.network} has no ports of its own to publish`,
    });
  if (
    spec.networkAliases.length > 0 &&
    ((NETWORK_MODES as readonly string[]).includes(spec.network) ||
      spec.network.startsWith('container:'))
  )
    context.addIssue({
      code: 'custom',
      path: ['networkAliases'],
      message: "network alias: only on a network of the user's (tocker network create)",
    });
  const bindings = spec.ports
    .filter((mapping) => mapping.hostPort !== 0)
    .map((mapping) => `${mapping.hostIp}:${mapping.hostPort}/${mapping.protocol}`);
  const twice = bindings.find((binding, index) => bindings.indexOf(binding) !== index);
  if (twice !== undefined)
    context.addIssue({
      code: 'custom',
      path: ['ports'],
      message: `publish: ${twice} is published twice`,
    });
  // A directory has no default command to fall back on.
  if (spec.rootfs !== undefined && spec.command.length === 0 && !spec.entrypoint?.length)
    context.addIssue({ code: 'custom', path: ['command'], message: 'command is required' });
});

export type ContainerSpecInput = z.input<typeof containerSpecSchema>;
export type ContainerSpec = Readonly<z.output<typeof containerSpecSchema>>;
export type ContainerLimitsInput = z.input<typeof limitsSchema>;
export type ContainerLimits = Readonly<z.output<typeof limitsSchema>>;

/** The first problem as one line, named after the field the user typed. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid container specification';
  const field = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') return `unknown option: ${issue.keys.join(', ')}`;
  if (issue.message.includes(':') || issue.message.startsWith(field.split('.').pop() ?? '\0')) {
    return issue.message;
  }
  return field ? `${field}: ${issue.message}` : issue.message;
}

/** Parses with a schema; a failure is the first problem as one line. */
export function validate<T extends z.ZodTypeAny>(
  schema: T,
  input: unknown,
): { ok: true; value: z.output<T> } | { ok: false; message: string } {
  const result = schema.safeParse(input);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, message: describeIssue(result.error) };
}
