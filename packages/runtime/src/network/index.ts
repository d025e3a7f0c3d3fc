import type {
  ContainerNetwork,
  NetworkAttachment,
  PublishedPort,
} from '@tocker/protocol/vocabulary';
import type { RuntimeConfig } from '../config/runtime-config.js';
import { TockerError } from '../errors.js';
import { type JoinedNamespace, openContainerNamespace } from '../namespaces.js';
import type { StateStore } from '../state/store.js';
import { randomHex } from '../sys/builtins.js';
import { errnoOf } from '../sys/fs-at.js';
import { bindPort, EADDRINUSE, EADDRNOTAVAIL } from '../sys/sockets.js';
import type { Lease, NetworkStore } from './networks.js';

export { Subnet } from './cidr.js';
export { type EtcFile, writeEtcFiles } from './etc-files.js';
export type { Publication } from './host.js';
export {
  DEFAULT_NETWORK,
  type Lease,
  type Network,
  NetworkStore,
  reconcileHostNetworks,
} from './networks.js';
export { publications, publishes } from './publications.js';

/** A container's interface on one of its networks: its lease, names and aliases. */
export interface NetworkInterface {
  readonly lease: Lease;
  readonly aliases: readonly string[];
  /** The host's end, on the network's bridge. */
  readonly host: string;
  /** The container's end, until its process names it eth0, eth1... in the network's order. */
  readonly peer: string;
}

/** The networks a container joins, by name, with its aliases on each. */
export type NetworkChoice = Pick<NetworkAttachment, 'network' | 'aliases'>;

/**
 * The container's interfaces on its networks, when it has any: each network ready on the
 * host (bridge, rules, DNS), an address leased to the container (the one it holds when it
 * starts again), and names for each veth pair. `previous`: the networks it was on when it
 * last ran (connected, disconnected since it was created); otherwise the config's.
 */
export function joinNetworks(
  config: RuntimeConfig,
  container: string,
  networks: NetworkStore,
  previous: readonly NetworkChoice[] | null,
): NetworkInterface[] {
  if (config.network.mode !== 'bridge') return [];
  const chosen = previous ?? [
    { network: config.network.network, aliases: [...config.network.aliases] },
  ];
  return chosen.map(({ network, aliases }) => {
    const lease = networks.lease(networks.prepare(network), container);
    const host = hostEnd(container);
    return { lease, aliases, host, peer: `tc${host.slice(2)}` };
  });
}

/**
 * A host end's name: tk, the container's id and a random part (the pair of a previous run
 * may still be going away with its namespace). Within 15 characters.
 */
export function hostEnd(container: string): string {
  return `${hostEndPrefix(container)}${randomHex(2)}`;
}

/** What every host end of the container's is named from. */
export function hostEndPrefix(container: string): string {
  return `tk${container.slice(0, 8)}`;
}

export function attachmentOf({ lease, aliases }: NetworkInterface): NetworkAttachment {
  const { network, address, prefix, gateway, mac } = lease;
  return { network, address, prefix, gateway, mac, aliases: [...aliases] };
}

export function networkViewOf(
  config: RuntimeConfig,
  attached: readonly NetworkInterface[],
  ports: readonly PublishedPort[] = [],
  joined: JoinedNamespace | null = null,
): ContainerNetwork {
  if (joined !== null) return { mode: 'container', container: joined.container };
  if (config.network.mode !== 'bridge')
    return { mode: config.network.mode === 'host' ? 'host' : 'none' };
  return { mode: 'bridge', networks: attached.map(attachmentOf), ports: [...ports] };
}

/**
 * container:NAME: that running container's network namespace (see openContainerNamespace),
 * at each start.
 */
export function joinContainerNetwork(
  config: RuntimeConfig,
  store: StateStore,
  opened: number[],
): JoinedNamespace | null {
  if (config.network.mode !== 'container') return null;
  return openContainerNamespace(store, config.network.container, 'net', 'network', opened);
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
