import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import type { ContainerNetwork, PublishedPort } from '@tocker/protocol';
import type { RuntimeConfig } from '../config/runtime-config.js';
import { TockerError } from '../errors.js';
import { isAlive } from '../proc.js';
import type { StateStore } from '../state/store.js';
import { errnoOf } from '../sys/fs-at.js';
import { bindPort, EADDRINUSE, EADDRNOTAVAIL } from '../sys/sockets.js';
import type { Lease, NetworkStore } from './networks.js';

export { Subnet } from './cidr.js';
export { type EtcFile, writeEtcFiles } from './etc-files.js';
export { attachVeth, type Publication } from './host.js';
export {
  DEFAULT_NETWORK,
  type Lease,
  type Network,
  NetworkStore,
  reconcileHostNetworks,
} from './networks.js';
export { publications, publishes } from './publications.js';

/** A container's interface on its network: its lease and the names of its veth pair. */
export interface NetworkInterface {
  readonly lease: Lease;
  /** The host's end, on the network's bridge. */
  readonly host: string;
  /** The container's end until its process names it eth0. */
  readonly peer: string;
}

/**
 * A container's place on its network, when it has one: the network ready on the host
 * (bridge, rules), an address leased to the container (the one it holds when it starts
 * again), and names for its veth pair (a random part: the pair of a previous run may
 * still be going away with its namespace).
 */
export function joinNetwork(
  config: RuntimeConfig,
  container: string,
  networks: NetworkStore,
): NetworkInterface | null {
  if (config.network.mode !== 'bridge') return null;
  const lease = networks.lease(networks.prepare(config.network.network), container);
  const suffix = `${container.slice(0, 8)}${randomBytes(2).toString('hex')}`;
  return { lease, host: `tk${suffix}`, peer: `tc${suffix}` };
}

export function networkViewOf(
  config: RuntimeConfig,
  attached: NetworkInterface | null,
  ports: readonly PublishedPort[] = [],
  joined: JoinedNetwork | null = null,
): ContainerNetwork {
  if (joined !== null) return { mode: 'container', container: joined.container };
  if (config.network.mode !== 'bridge' || attached === null)
    return { mode: config.network.mode === 'host' ? 'host' : 'none' };
  const { network, address, prefix, gateway, mac } = attached.lease;
  return { mode: 'bridge', network, address, prefix, gateway, mac, ports: [...ports] };
}

/** container:NAME: the namespace joined, and whose it is. */
export interface JoinedNetwork {
  readonly fd: number;
  readonly container: string;
}

/**
 * container:NAME: the network namespace of that container, which must be running, opened
 * through its PID 1 (checked to still be that process after the open, so a reused pid is
 * never joined). Resolved at each start: a restarted sidecar follows its container.
 */
export function joinContainerNetwork(
  config: RuntimeConfig,
  store: StateStore,
  opened: number[],
): JoinedNetwork | null {
  if (config.network.mode !== 'container') return null;
  const reference = config.network.container;
  const target = store.resolve(reference);
  const refuse = () =>
    new TockerError(`network container:${reference}: that container is not running`);
  if (target.status !== 'running' || target.process === null) throw refuse();
  let fd: number;
  try {
    fd = openSync(`/proc/${target.process.pid}/ns/net`, 'r');
  } catch {
    throw refuse();
  }
  opened.push(fd);
  if (!isAlive(target.process)) throw refuse();
  return { fd, container: target.id };
}

/**
 * Each published port bound on the host (a socket, not listening) for as long as the
 * container runs: its shim holds the descriptors, so nothing else takes the port, and the
 * port is free again when the container ends, whoever ends it. Port 0 becomes the one the
 * kernel picked. A port in use, or an address the host does not have, is one line.
 */
export function holdPorts(
  config: RuntimeConfig,
  opened: number[],
): { published: PublishedPort[]; held: number[] } {
  if (config.network.mode !== 'bridge') return { published: [], held: [] };
  const held: number[] = [];
  const published = config.network.ports.map((mapping) => {
    const where = `${mapping.hostIp}:${mapping.hostPort}/${mapping.protocol}`;
    try {
      const { fd, port } = bindPort(mapping.hostIp, mapping.hostPort, mapping.protocol);
      opened.push(fd);
      held.push(fd);
      return { ...mapping, hostPort: port };
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === EADDRINUSE)
        throw new TockerError(`publish: ${where} is already in use on this host`);
      if (errno === EADDRNOTAVAIL)
        throw new TockerError(`publish: ${mapping.hostIp} is not an address of this host`);
      throw error;
    }
  });
  return { published, held };
}
