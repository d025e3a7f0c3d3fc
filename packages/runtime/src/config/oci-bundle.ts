import { realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { containerSpecSchema, ULIMIT_NAMES } from '@tocker/protocol/vocabulary';
import { z } from 'zod';
import type { DeviceRule } from '../cgroups/devices.js';
import type { CgroupLimits } from '../cgroups/types.js';
import { TockerError } from '../errors.js';
import { CAPABILITY_NAMES } from '../security/capabilities.js';
import { renderProfile, type SeccompProfiles, validateProfile } from '../security/seccomp.js';
import {
  MS_BIND,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_PRIVATE,
  MS_RDONLY,
  MS_REC,
} from '../sys/libc.js';
import { checkSysctls } from './kernel-settings.js';
import {
  type NamespaceSource,
  type Rlimit,
  type RuntimeConfig,
  type RuntimeMount,
  sealConfig,
} from './runtime-config.js';

/**
 * An OCI bundle's config.json (runtime-spec 1.x), as far as tocker reads it. Everything
 * a runtime must honour is checked here; fields tocker accepts without applying are
 * listed by `notApplied` rather than dropped in silence.
 */
const hookSchema = z
  .object({
    path: z.string().startsWith('/'),
    args: z.array(z.string()).optional(),
    env: z.array(z.string()).optional(),
    timeout: z.number().int().positive().optional(),
  })
  .passthrough();

const idMappingSchema = z.object({
  containerID: z.number().int().nonnegative(),
  hostID: z.number().int().nonnegative(),
  size: z.number().int().positive(),
});

/** process: the container's, or an exec's (runc exec --process). */
const processSchema = z
  .object({
    terminal: z.boolean().default(false),
    consoleSize: z
      .object({ height: z.number().int().nonnegative(), width: z.number().int().nonnegative() })
      .optional(),
    user: z
      .object({
        uid: z.number().int().nonnegative(),
        gid: z.number().int().nonnegative(),
        umask: z.number().int().nonnegative().optional(),
        additionalGids: z.array(z.number().int().nonnegative()).default([]),
      })
      .passthrough(),
    args: z.array(z.string()).min(1, 'a command is needed'),
    env: z.array(z.string()).default([]),
    cwd: z.string().startsWith('/', 'an absolute path'),
    capabilities: z
      .object({
        bounding: z.array(z.string()).default([]),
        effective: z.array(z.string()).default([]),
        inheritable: z.array(z.string()).default([]),
        permitted: z.array(z.string()).default([]),
        ambient: z.array(z.string()).default([]),
      })
      .default({}),
    rlimits: z
      .array(
        z.object({
          type: z.string(),
          soft: z.number().int().nonnegative(),
          hard: z.number().int().nonnegative(),
        }),
      )
      .default([]),
    noNewPrivileges: z.boolean().default(false),
    oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
    apparmorProfile: z.string().optional(),
    selinuxLabel: z.string().optional(),
  })
  .passthrough();

const ociConfigSchema = z
  .object({
    ociVersion: z.string().regex(/^1\.\d+\.\d+/, 'ociVersion: a 1.x version'),
    process: processSchema,
    root: z.object({ path: z.string().min(1), readonly: z.boolean().default(false) }),
    hostname: z.string().optional(),
    domainname: z.string().optional(),
    mounts: z
      .array(
        z.object({
          destination: z.string().min(1),
          type: z.string().optional(),
          source: z.string().optional(),
          options: z.array(z.string()).default([]),
        }),
      )
      .default([]),
    hooks: z
      .object({
        prestart: z.array(hookSchema).default([]),
        createRuntime: z.array(hookSchema).default([]),
        createContainer: z.array(hookSchema).default([]),
        startContainer: z.array(hookSchema).default([]),
        poststart: z.array(hookSchema).default([]),
        poststop: z.array(hookSchema).default([]),
      })
      .default({}),
    annotations: z.record(z.string()).default({}),
    linux: z
      .object({
        namespaces: z
          .array(z.object({ type: z.string(), path: z.string().optional() }))
          .default([]),
        uidMappings: z.array(idMappingSchema).default([]),
        gidMappings: z.array(idMappingSchema).default([]),
        devices: z
          .array(
            z.object({
              path: z.string().startsWith('/'),
              type: z.enum(['c', 'b', 'u', 'p']),
              major: z.number().int().nonnegative().optional(),
              minor: z.number().int().nonnegative().optional(),
              fileMode: z.number().int().nonnegative().optional(),
              uid: z.number().int().nonnegative().optional(),
              gid: z.number().int().nonnegative().optional(),
            }),
          )
          .default([]),
        cgroupsPath: z.string().optional(),
        resources: z
          .object({
            devices: z
              .array(
                z.object({
                  allow: z.boolean(),
                  type: z.enum(['a', 'b', 'c']).optional(),
                  major: z.number().int().nullable().optional(),
                  minor: z.number().int().nullable().optional(),
                  access: z
                    .string()
                    .regex(/^[rwm]{0,3}$/)
                    .optional(),
                }),
              )
              .default([]),
            memory: z.object({ limit: z.number().int().optional() }).passthrough().optional(),
            cpu: z
              .object({ quota: z.number().int().optional(), period: z.number().int().optional() })
              .passthrough()
              .optional(),
            pids: z.object({ limit: z.number().int() }).optional(),
          })
          .passthrough()
          .default({}),
        sysctl: z.record(z.string()).default({}),
        seccomp: z.unknown().optional(),
        maskedPaths: z.array(z.string().startsWith('/')).default([]),
        readonlyPaths: z.array(z.string().startsWith('/')).default([]),
        rootfsPropagation: z.string().optional(),
        mountLabel: z.string().optional(),
        intelRdt: z.unknown().optional(),
        personality: z.unknown().optional(),
        timeOffsets: z.unknown().optional(),
      })
      .passthrough()
      .default({}),
  })
  .passthrough();

export type OciConfig = z.output<typeof ociConfigSchema>;
export type OciHook = z.output<typeof hookSchema>;
export type OciHooks = OciConfig['hooks'];

/** What an OCI bundle asks of tocker: the runtime config, and the lifecycle around it. */
export interface OciBundle {
  readonly config: RuntimeConfig;
  readonly hooks: OciHooks;
  readonly annotations: Readonly<Record<string, string>>;
  /** linux.cgroupsPath, or null: runc's default (/<id>). */
  readonly cgroupsPath: string | null;
  readonly consoleSize: { readonly rows: number; readonly columns: number } | null;
  /** The rootfs as given, for `state`. */
  readonly rootfs: string;
  /** Accepted fields this host or tocker does not apply (said once at create, at debug). */
  readonly notApplied: readonly string[];
}

const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];
const CAPABILITIES = new Set<string>(CAPABILITY_NAMES);
const RLIMIT_TYPES = new Set(ULIMIT_NAMES.map((name) => `RLIMIT_${name.toUpperCase()}`));
/** The largest rlimit the kernel takes is "infinity" (2^64 - 1): anything that big is it. */
const RLIMIT_INFINITY_FROM = 2 ** 63;

/** mount(8)'s option words as flags (to set, or to clear) and propagation kinds. */
const FLAG_OPTIONS: Record<string, { set: number } | { clear: number }> = {
  ro: { set: MS_RDONLY },
  rw: { clear: MS_RDONLY },
  nosuid: { set: MS_NOSUID },
  suid: { clear: MS_NOSUID },
  nodev: { set: MS_NODEV },
  dev: { clear: MS_NODEV },
  noexec: { set: MS_NOEXEC },
  exec: { clear: MS_NOEXEC },
  sync: { set: 0x10 },
  async: { clear: 0x10 },
  dirsync: { set: 0x80 },
  mand: { set: 0x40 },
  nomand: { clear: 0x40 },
  noatime: { set: 0x400 },
  atime: { clear: 0x400 },
  nodiratime: { set: 0x800 },
  diratime: { clear: 0x800 },
  relatime: { set: 0x200000 },
  norelatime: { clear: 0x200000 },
  strictatime: { set: 0x1000000 },
  nostrictatime: { clear: 0x1000000 },
  nosymfollow: { set: 0x100 },
  symfollow: { clear: 0x100 },
  remount: { set: 0x20 },
  defaults: { set: 0 },
};
const MS_SHARED = 0x100000;
const MS_SLAVE = 0x80000;
const MS_UNBINDABLE = 0x20000;
const PROPAGATION_OPTIONS: Record<string, number> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

/**
 * The one conversion from an OCI bundle (its directory and parsed config.json) into what
 * the runtime runs, with the bundle's relative paths resolved against its directory.
 */
export function bundleConfig(bundle: string, json: unknown, profiles: SeccompProfiles): OciBundle {
  const parsed = ociConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TockerError(
      `config.json: ${issue?.path.join('.') || 'the document'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const oci = parsed.data;
  const notApplied: string[] = [];
  const namespaces = namespacesOf(oci);
  const process = processOf(oci.process);
  const { capabilities } = process;
  const rootfs = oci.root.path;
  const rootPath = realDirectory(isAbsolute(rootfs) ? rootfs : join(bundle, rootfs), 'root.path');
  if ((oci.hostname !== undefined || oci.domainname !== undefined) && namespaces.uts !== 'own')
    throw new TockerError(
      "config.json: hostname and domainname need a UTS namespace of the container's own",
    );
  if (oci.process.user.umask !== undefined && oci.process.user.umask !== 0o022)
    notApplied.push('process.user.umask');
  if (oci.process.apparmorProfile) notApplied.push('process.apparmorProfile (no AppArmor here)');
  if (oci.process.selinuxLabel) notApplied.push('process.selinuxLabel (no SELinux here)');
  if (oci.linux.mountLabel) notApplied.push('linux.mountLabel (no SELinux here)');
  if (oci.linux.intelRdt !== undefined) notApplied.push('linux.intelRdt');
  if (oci.linux.personality !== undefined) notApplied.push('linux.personality');
  if (oci.linux.rootfsPropagation !== undefined) notApplied.push('linux.rootfsPropagation');
  const mapped = oci.linux.uidMappings.length > 0 || oci.linux.gidMappings.length > 0;
  if (namespaces.user !== mapped)
    throw new TockerError(
      mapped
        ? 'config.json: linux.uidMappings need a user namespace in linux.namespaces'
        : 'config.json: a user namespace needs linux.uidMappings and linux.gidMappings',
    );
  if (mapped && (oci.linux.uidMappings.length === 0 || oci.linux.gidMappings.length === 0))
    throw new TockerError('config.json: a user namespace needs both uidMappings and gidMappings');
  const config = sealConfig({
    ociVersion: oci.ociVersion,
    root: { layers: [rootPath], image: null, readonly: oci.root.readonly, inPlace: true },
    mounts: oci.mounts.map((mount) => mountOf(mount, bundle)),
    hostname: oci.hostname ?? null,
    domainname: oci.domainname ?? null,
    network: namespaces.network,
    process,
    linux: {
      resources: {
        limits: limitsOf(oci, notApplied),
        devices: oci.linux.resources.devices.map(
          (rule): DeviceRule => ({
            allow: rule.allow,
            type: rule.type ?? 'a',
            major: rule.major == null || rule.major < 0 ? null : rule.major,
            minor: rule.minor == null || rule.minor < 0 ? null : rule.minor,
            access: rule.access ?? 'rwm',
          }),
        ),
      },
      devices: oci.linux.devices.map((device) => {
        if (device.type === 'p')
          throw new TockerError(
            `config.json: linux.devices ${device.path}: fifos are not supported`,
          );
        if (device.major === undefined || device.minor === undefined)
          throw new TockerError(
            `config.json: linux.devices ${device.path}: major and minor are needed`,
          );
        return {
          path: device.path,
          type: device.type === 'b' ? 'b' : 'c',
          major: device.major,
          minor: device.minor,
          mode: device.fileMode ?? 0o666,
        };
      }),
      seccomp:
        oci.linux.seccomp === undefined || oci.linux.seccomp === null
          ? null
          : {
              profile: profiles.keep(
                renderProfile(validateProfile(oci.linux.seccomp), {
                  capabilities: capabilities.bounding,
                }),
              ),
            },
      maskedPaths: oci.linux.maskedPaths,
      readonlyPaths: oci.linux.readonlyPaths,
      namespaces: {
        pid: namespaces.pid,
        ipc: namespaces.ipc,
        uts: namespaces.uts,
        cgroup: namespaces.cgroup,
        user: namespaces.user ? 'own' : 'host',
      },
      uidMappings: oci.linux.uidMappings,
      gidMappings: oci.linux.gidMappings,
      sysctl: checkSysctls(oci.linux.sysctl, {
        ownIpc: namespaces.ipc === 'own',
        sharedNetwork:
          namespaces.network.mode === 'none'
            ? null
            : 'the container has no network namespace of its own',
      }),
    },
    request: containerSpecSchema.parse({
      rootfs: rootPath,
      command: oci.process.args,
      tty: oci.process.terminal,
    }),
  });
  const size = oci.process.consoleSize;
  return {
    config,
    hooks: oci.hooks,
    annotations: oci.annotations,
    cgroupsPath: oci.linux.cgroupsPath ?? null,
    consoleSize: size === undefined ? null : { rows: size.height, columns: size.width },
    rootfs,
    notApplied,
  };
}

function processOf(oci: z.output<typeof processSchema>): RuntimeConfig['process'] {
  const capabilities = {
    bounding: checkedCapabilities(oci.capabilities.bounding),
    effective: checkedCapabilities(oci.capabilities.effective),
    inheritable: checkedCapabilities(oci.capabilities.inheritable),
    permitted: checkedCapabilities(oci.capabilities.permitted),
    ambient: checkedCapabilities(oci.capabilities.ambient),
  };
  for (const entry of oci.env)
    if (!entry.includes('='))
      throw new TockerError(`process.env: ${JSON.stringify(entry)} is not KEY=VALUE`);
  return {
    terminal: oci.terminal,
    args: oci.args,
    env: oci.env,
    cwd: oci.cwd,
    user: { uid: oci.user.uid, gid: oci.user.gid, additionalGids: oci.user.additionalGids },
    capabilities,
    noNewPrivileges: oci.noNewPrivileges,
    rlimits: oci.rlimits.map(rlimitOf),
    oomScoreAdj: oci.oomScoreAdj ?? 0,
  };
}

/**
 * An exec's process (runc exec --process FILE) in a container made from `config`: the
 * same validation as the bundle's own process; the container's seccomp filter, cgroups
 * and namespaces stay the container's.
 */
export function withExecProcess(
  config: RuntimeConfig,
  json: unknown,
): { config: RuntimeConfig; consoleSize: { rows: number; columns: number } | null } {
  const parsed = processSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TockerError(
      `process: ${issue?.path.join('.') || 'the document'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const size = parsed.data.consoleSize;
  return {
    config: sealConfig({ ...config, process: processOf(parsed.data) }),
    consoleSize: size === undefined ? null : { rows: size.height, columns: size.width },
  };
}

function realDirectory(path: string, field: string): string {
  try {
    return realpathSync(path);
  } catch {
    throw new TockerError(`config.json: ${field} ${path} does not exist`);
  }
}

function checkedCapabilities(names: readonly string[]): string[] {
  for (const name of names)
    if (!CAPABILITIES.has(name))
      throw new TockerError(`config.json: process.capabilities: unknown capability ${name}`);
  return [...names];
}

function rlimitOf(limit: { type: string; soft: number; hard: number }): Rlimit {
  if (!RLIMIT_TYPES.has(limit.type))
    throw new TockerError(`config.json: process.rlimits: unknown type ${limit.type}`);
  const value = (n: number) => (n >= RLIMIT_INFINITY_FROM ? -1 : n);
  return { type: limit.type as Rlimit['type'], soft: value(limit.soft), hard: value(limit.hard) };
}

/**
 * linux.namespaces: a type listed is the container's own (or joined by path), a type left
 * out is the host's. The mount namespace is always its own: it is how its root is made.
 */
function namespacesOf(oci: OciConfig): {
  /** A user namespace of its own, mapped by linux.uidMappings and gidMappings. */
  user: boolean;
  pid: NamespaceSource;
  ipc: NamespaceSource;
  uts: NamespaceSource;
  cgroup: NamespaceSource;
  network: RuntimeConfig['network'];
} {
  const listed = new Map<string, string | undefined>();
  for (const { type, path } of oci.linux.namespaces) {
    if (!NAMESPACE_TYPES.includes(type))
      throw new TockerError(`config.json: linux.namespaces: unknown type ${type}`);
    if (listed.has(type))
      throw new TockerError(`config.json: linux.namespaces: ${type} is listed twice`);
    listed.set(type, path);
  }
  if (!listed.has('mount'))
    throw new TockerError(
      "config.json: linux.namespaces: tocker needs a mount namespace of the container's own",
    );
  if (listed.get('mount') !== undefined)
    throw new TockerError(
      'config.json: linux.namespaces: joining a mount namespace is not supported',
    );
  if (listed.get('user') !== undefined)
    throw new TockerError(
      'config.json: linux.namespaces: joining a user namespace is not supported',
    );
  if (listed.has('time'))
    throw new TockerError('config.json: linux.namespaces: time namespaces are not supported');
  const source = (type: string): NamespaceSource => {
    if (!listed.has(type)) return 'host';
    const path = listed.get(type);
    return path === undefined ? 'own' : { path };
  };
  const network = source('network');
  return {
    user: listed.has('user'),
    pid: source('pid'),
    ipc: source('ipc'),
    uts: source('uts'),
    cgroup: source('cgroup'),
    network:
      network === 'host'
        ? { mode: 'host' }
        : network === 'own'
          ? { mode: 'none' }
          : { mode: 'namespace', path: network.path },
  };
}

function mountOf(mount: OciConfig['mounts'][number], bundle: string): RuntimeMount {
  const target = mount.destination.startsWith('/') ? mount.destination : `/${mount.destination}`;
  if (target.split('/').includes('..'))
    throw new TockerError(`config.json: mounts: ${mount.destination}: ".." is not allowed`);
  let flags = 0;
  let propagation = 0;
  let bind = mount.type === 'bind';
  let recursive = false;
  const data: string[] = [];
  for (const option of mount.options) {
    if (option === 'bind' || option === 'rbind') {
      bind = true;
      recursive ||= option === 'rbind';
    } else if (option in PROPAGATION_OPTIONS) {
      propagation = PROPAGATION_OPTIONS[option] ?? 0;
    } else if (option in FLAG_OPTIONS) {
      const effect = FLAG_OPTIONS[option];
      if (effect !== undefined && 'set' in effect) flags |= effect.set;
      else if (effect !== undefined) flags &= ~effect.clear;
    } else {
      data.push(option);
    }
  }
  if (mount.type === 'cgroup' || mount.type === 'cgroup2')
    return { kind: 'cgroup', target, readOnly: (flags & MS_RDONLY) !== 0 };
  if (bind) {
    if (mount.source === undefined)
      throw new TockerError(`config.json: mounts: ${target}: a bind mount needs a source`);
    const source = isAbsolute(mount.source) ? mount.source : join(bundle, mount.source);
    return {
      kind: 'bind',
      source: realDirectoryOrFile(source, target),
      target,
      readOnly: (flags & MS_RDONLY) !== 0,
      volume: null,
      recursive,
      flags: flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC),
      propagation,
    };
  }
  if (mount.type === undefined) throw new TockerError(`config.json: mounts: ${target}: no type`);
  return {
    kind: 'filesystem',
    type: mount.type,
    source: mount.source ?? mount.type,
    target,
    flags: flags & ~MS_BIND,
    data: data.length === 0 ? null : data.join(','),
    propagation,
  };
}

function realDirectoryOrFile(path: string, target: string): string {
  try {
    return realpathSync(path);
  } catch {
    throw new TockerError(`config.json: mounts: ${target}: source ${path} does not exist`);
  }
}

function limitsOf(oci: OciConfig, notApplied: string[]): CgroupLimits {
  const { memory, cpu, pids, ...rest } = oci.linux.resources;
  const { devices: _devices, ...others } = rest as Record<string, unknown>;
  for (const key of Object.keys(others)) notApplied.push(`linux.resources.${key}`);
  const quota = cpu?.quota ?? 0;
  const period = cpu?.period ?? 100_000;
  for (const key of Object.keys(cpu ?? {}))
    if (key !== 'quota' && key !== 'period') notApplied.push(`linux.resources.cpu.${key}`);
  for (const key of Object.keys(memory ?? {}))
    if (key !== 'limit') notApplied.push(`linux.resources.memory.${key}`);
  return {
    ...(memory?.limit !== undefined && memory.limit > 0 ? { memory: memory.limit } : {}),
    ...(quota > 0 && period > 0 ? { cpus: quota / period } : {}),
    ...(pids !== undefined ? { pidsLimit: pids.limit > 0 ? pids.limit : null } : {}),
  };
}
