import { lstatSync, readdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, sep } from 'node:path';
import {
  type ContainerSpec,
  DEFAULT_PIDS_LIMIT,
  type Mount,
  type PortMapping,
} from '@tocker/protocol/vocabulary';
import { DEFAULT_DEVICE_RULES, type DeviceRule, rulesForDevice } from '../cgroups/devices.js';
import { TockerError } from '../errors.js';
import { DEFAULT_NETWORK } from '../network/networks.js';
import { resolveCapabilities } from '../security/capabilities.js';
import { renderProfile, type SeccompProfiles, validateProfile } from '../security/seccomp.js';
import type { VolumeStore } from '../volumes.js';
import { type ImageRoot, type ResolvedProcess, resolveProcess } from './image.js';
import { defaultKernelMounts } from './kernel-mounts.js';
import { checkedSysctls, rlimitsOf } from './kernel-settings.js';
import {
  type DeviceNode,
  type RuntimeConfig,
  type RuntimeMount,
  sealConfig,
} from './runtime-config.js';
import { userNamespaceOf } from './user-namespace.js';

/**
 * Which root filesystems a container may have. The local CLI runs as root for root, so
 * any directory will do but the host's own "/"; the agent answers the network, so only
 * the images it knows (TOCKER_ROOT/images, the default image's directory, and the trees
 * given to it with --allow-rootfs).
 */
export type RootfsPolicy =
  | { readonly kind: 'any-directory' }
  | {
      readonly kind: 'images';
      readonly allowed: readonly string[];
      /** Host directories whose content containers may bind-mount (--allow-bind). */
      readonly binds: readonly string[];
    };

/** Where a container's shell looks for programs, unless its environment says otherwise. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The kernel interfaces a container must not read (OCI/runc's defaults, as docker). */
const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** ...and those it may read but not change. */
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * The one conversion from what a user asked for (CLI flags and agent JSON, both already
 * validated as a ContainerSpec) into what the runtime runs, with every check that needs
 * this host: the root filesystem against the policy, CPUs against the host's, the
 * capabilities, the seccomp profile rendered for them, the devices.
 */
export function configure(
  spec: ContainerSpec,
  policy: RootfsPolicy,
  profiles: SeccompProfiles,
  image: ImageRoot | null,
  volumes: VolumeStore,
): RuntimeConfig {
  const root = rootOf(spec, policy, image);
  const mounts = [
    ...defaultKernelMounts(!spec.privileged),
    ...spec.mounts.map((mount) => resolveMount(mount, policy, volumes)),
  ];
  const process = resolveProcess(spec, image?.config ?? {}, root.layers);
  checkLimits(spec);
  const privileged = spec.privileged;
  const capabilities = resolveCapabilities({
    capAdd: spec.capAdd,
    capDrop: spec.capDrop,
    privileged,
  });
  const devices = spec.devices.map(parseDevice);
  const hostDevices = privileged ? listHostDevices() : [];
  return sealConfig({
    ociVersion: '1.2.0',
    root: { ...root, readonly: spec.readOnlyRoot },
    mounts,
    hostname: spec.hostname ?? null,
    domainname: null,
    network: networkOf(spec, image),
    process: {
      terminal: spec.tty,
      args: process.args,
      env: environment(spec, process),
      cwd: process.cwd,
      user: process.user,
      capabilities: {
        bounding: capabilities,
        effective: capabilities,
        permitted: capabilities,
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: spec.noNewPrivileges,
      rlimits: rlimitsOf(spec),
      oomScoreAdj: spec.oomScoreAdj,
    },
    linux: {
      resources: {
        limits: {
          ...spec.limits,
          pidsLimit:
            spec.limits.pidsLimit === undefined ? DEFAULT_PIDS_LIMIT : spec.limits.pidsLimit,
        },
        devices: privileged
          ? [{ allow: true, type: 'a', major: null, minor: null, access: 'rwm' }]
          : [...DEFAULT_DEVICE_RULES, ...devices.flatMap((device) => device.rules)],
      },
      devices: [...hostDevices, ...devices.map((device) => device.node)],
      seccomp: seccompFor(spec, capabilities, profiles),
      maskedPaths: privileged ? [] : MASKED_PATHS,
      readonlyPaths: privileged ? [] : READONLY_PATHS,
      sysctl: checkedSysctls(spec),
      namespaces: {
        pid: spec.pid === undefined ? 'own' : { container: spec.pid.slice('container:'.length) },
        ipc: 'own',
        uts: 'own',
        cgroup: 'own',
        user: userNamespaceOf(spec),
      },
      // Leased when the container is created (its id is not known yet).
      uidMappings: [],
      gidMappings: [],
    },
    request: spec,
  });
}

/** docker's -v: the directory alone (not what is mounted below it), as the host mounted it. */
const PLAIN_BIND = { recursive: false, flags: 0, propagation: 0 } as const;

/**
 * A mount of the request, on this host: a host path by its real path (allowed by the
 * policy), a volume by its directory (made on first use), a tmpfs as it is.
 */
function resolveMount(mount: Mount, policy: RootfsPolicy, volumes: VolumeStore): RuntimeMount {
  switch (mount.type) {
    case 'tmpfs':
      return {
        kind: 'tmpfs',
        target: mount.target,
        size: mount.size ?? null,
        mode: mount.mode ?? null,
      };
    case 'volume':
      return {
        kind: 'bind',
        source: volumes.ensure(mount.source).path,
        target: mount.target,
        readOnly: mount.readOnly,
        volume: mount.source,
        ...PLAIN_BIND,
      };
    case 'bind': {
      let source: string;
      try {
        source = realpathSync(mount.source);
      } catch {
        throw new TockerError(`bind source ${mount.source} does not exist`);
      }
      if (source === '/') throw new TockerError("bind source: the host's root cannot be mounted");
      if (
        policy.kind === 'images' &&
        !policy.binds.some((dir) => isBelow(source, dir) || source === realpathOrNull(dir))
      )
        throw new TockerError(
          `bind source ${mount.source} is not under a directory this agent allows (--allow-bind: ${policy.binds.length === 0 ? 'none' : policy.binds.join(', ')})`,
        );
      return {
        kind: 'bind',
        source,
        target: mount.target,
        readOnly: mount.readOnly,
        volume: null,
        ...PLAIN_BIND,
      };
    }
  }
}

/** How the container is networked: a mode, another container's, or a network (ports and all). */
function networkOf(spec: ContainerSpec, image: ImageRoot | null): RuntimeConfig['network'] {
  const requested = spec.network;
  if (requested === 'none' || requested === 'host') return { mode: requested };
  if (requested.startsWith('container:'))
    return { mode: 'container', container: requested.slice('container:'.length) };
  return {
    mode: 'bridge',
    network: requested === 'bridge' ? DEFAULT_NETWORK : requested,
    aliases: [...spec.networkAliases],
    ports: [...spec.ports, ...exposedPorts(spec, image)],
  };
}

/**
 * -P: each port the image exposes and -p does not publish already, on a free host port of
 * every address. A malformed entry of the image's is refused, naming it.
 */
function exposedPorts(spec: ContainerSpec, image: ImageRoot | null): PortMapping[] {
  if (!spec.publishAll) return [];
  return Object.keys(image?.config.ExposedPorts ?? {}).flatMap((entry) => {
    const match = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(entry);
    const containerPort = Number(match?.[1]);
    if (match === null || containerPort < 1 || containerPort > 65535)
      throw new TockerError(`the image exposes ${JSON.stringify(entry)}: not PORT/tcp or PORT/udp`);
    const protocol = (match[2] ?? 'tcp') as 'tcp' | 'udp';
    const published = spec.ports.some(
      (mapping) => mapping.containerPort === containerPort && mapping.protocol === protocol,
    );
    return published ? [] : [{ hostIp: '0.0.0.0', hostPort: 0, containerPort, protocol }];
  });
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** The container's root: the image's layers (top first), or the directory asked for. */
function rootOf(
  spec: ContainerSpec,
  policy: RootfsPolicy,
  image: ImageRoot | null,
): Omit<RuntimeConfig['root'], 'readonly'> {
  if (image !== null) {
    if (spec.image === undefined)
      throw new TockerError('an image was given for a request without one');
    return {
      layers: [...image.layers].reverse(),
      image: { reference: spec.image, digest: image.digest },
      inPlace: false,
    };
  }
  if (spec.rootfs === undefined) throw new TockerError(`image ${spec.image}: not resolved`);
  return { layers: [checkRootfs(spec.rootfs, policy)], image: null, inPlace: false };
}

/**
 * A clean environment, never the host's: what a shell expects, the image's, then the
 * user's -e.
 */
function environment(spec: ContainerSpec, process: ResolvedProcess): string[] {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: process.home,
    ...(spec.tty ? { TERM: 'xterm' } : {}),
    ...process.env,
  };
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

function checkRootfs(rootfs: string, policy: RootfsPolicy): string {
  let real: string;
  try {
    real = realpathSync(rootfs);
  } catch {
    throw new TockerError(`rootfs ${rootfs} does not exist`);
  }
  if (!statSync(real).isDirectory()) throw new TockerError(`rootfs ${rootfs} is not a directory`);
  if (real === '/') throw new TockerError("rootfs: the host's own root cannot be a container's");
  // overlayfs takes its layers as a comma- and colon-separated option string.
  if (/[,:\\]/.test(real))
    throw new TockerError(`rootfs ${rootfs}: paths with ",", ":" or "\\" are not supported`);
  if (policy.kind === 'images' && !policy.allowed.some((dir) => isBelow(real, dir))) {
    throw new TockerError(
      `rootfs ${rootfs} is not an image this agent knows (images are under ${policy.allowed.join(', ')}; the agent's --allow-rootfs adds others)`,
    );
  }
  return real;
}

/** Strictly inside `dir` (symlinks already resolved on both sides). */
function isBelow(path: string, dir: string): boolean {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return false;
  }
  const inside = relative(real, path);
  return (
    inside !== '' && !inside.startsWith(`..${sep}`) && inside !== '..' && !inside.startsWith(sep)
  );
}

/** What only the host can say about limits: it has so many CPUs. */
export function checkLimits(spec: Pick<ContainerSpec, 'limits'>): void {
  const hostCpus = availableParallelism();
  const { cpus } = spec.limits;
  if (cpus !== undefined && cpus > hostCpus) {
    throw new TockerError(`cpus: ${cpus} is more than the ${hostCpus} CPUs of this host`);
  }
}

function seccompFor(
  spec: ContainerSpec,
  capabilities: readonly string[],
  profiles: SeccompProfiles,
): { profile: string } | null {
  if (spec.seccomp === 'unconfined') return null;
  // --privileged turns the filter off unless a profile is given explicitly (as docker).
  if (spec.privileged && spec.seccomp === 'default') return null;
  if (spec.seccomp === 'default') return { profile: profiles.keepDefault(capabilities) };
  return { profile: profiles.keep(renderProfile(validateProfile(spec.seccomp), { capabilities })) };
}

interface RequestedDevice {
  readonly node: DeviceNode;
  readonly rules: readonly DeviceRule[];
}

/** docker's --device HOST[:CONTAINER][:PERMISSIONS]: the host's node, made in the container. */
function parseDevice(argument: string): RequestedDevice {
  const parts = argument.split(':');
  const host = parts[0] ?? '';
  const last = parts.at(-1) ?? '';
  const access = parts.length > 1 && /^[rwm]+$/.test(last) ? last : 'rwm';
  const container = parts.length > 1 && parts[1]?.startsWith('/') ? parts[1] : host;
  const found = statSync(host, { throwIfNoEntry: false });
  if (found === undefined) throw new TockerError(`device ${host} does not exist`);
  if (!found.isCharacterDevice() && !found.isBlockDevice())
    throw new TockerError(`device ${host} is not a character or block device`);
  const node = deviceNode(container, found);
  if (!container.startsWith('/dev/'))
    throw new TockerError(`device ${argument}: the container path must be under /dev`);
  return { node, rules: rulesForDevice(node.type, node.major, node.minor, access) };
}

/** A privileged container sees the host's devices, as with docker (not the links among them). */
function listHostDevices(): DeviceNode[] {
  return readdirSync('/dev').flatMap((name) => {
    const path = join('/dev', name);
    const found = lstatSync(path, { throwIfNoEntry: false });
    if (found === undefined || !(found.isCharacterDevice() || found.isBlockDevice())) return [];
    // The standard nodes and the terminal devices are the container's own.
    if (['null', 'zero', 'full', 'random', 'urandom', 'tty', 'console', 'ptmx'].includes(name))
      return [];
    return [deviceNode(path, found)];
  });
}

/** The node at `path` in the container for the host's device `found` (its dev_t decoded). */
function deviceNode(path: string, found: Stats): DeviceNode {
  const rdev = BigInt(found.rdev);
  return {
    path,
    type: found.isBlockDevice() ? 'b' : 'c',
    major: Number((rdev >> 8n) & 0xfffn),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n)),
    mode: found.mode & 0o777,
  };
}
