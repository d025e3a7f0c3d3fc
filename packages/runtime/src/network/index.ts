import { randomBytes } from 'node:crypto';
import type { ContainerNetwork } from '@tocker/protocol';
import type { RuntimeConfig } from '../config/runtime-config.js';
import type { Lease, NetworkStore } from './networks.js';

export { Subnet } from './cidr.js';
export { attachVeth } from './host.js';
export {
  DEFAULT_NETWORK,
  type Lease,
  type Network,
  NetworkStore,
  reconcileHostNetworks,
} from './networks.js';

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
): ContainerNetwork {
  if (config.network.mode !== 'bridge' || attached === null)
    return { mode: config.network.mode === 'host' ? 'host' : 'none' };
  const { network, address, prefix, gateway, mac } = attached.lease;
  return { mode: 'bridge', network, address, prefix, gateway, mac };
}
