import { readFileSync } from 'node:fs';
import { type ContainerNetwork, networkAlias } from '@tocker/protocol/vocabulary';
import { TockerError } from '../errors.js';
import { isAlive } from '../proc.js';
import type { ContainerRecord } from '../state/record.js';
import type { StateStore } from '../state/store.js';
import { attachVeth, configureInterface, detachVeths } from './host.js';
import { attachmentOf, hostEnd, hostEndPrefix } from './index.js';
import { DEFAULT_NETWORK, type NetworkStore } from './networks.js';

/**
 * `network connect` and `disconnect`: a container's networks after its creation. A
 * running (or created) container gets or loses the interface at once; an exited one at its
 * next start. Either way its address on the network is held from the connect on, as any
 * container's is until it is removed.
 */

function short(record: ContainerRecord): string {
  return record.name ?? record.id.slice(0, 12);
}

type Bridged = Extract<ContainerNetwork, { mode: 'bridge' }>;

/** Its place on networks; refused for a container without networks of its own. */
function bridged(record: ContainerRecord): Bridged {
  if (record.network.mode !== 'bridge')
    throw new TockerError(
      `container ${short(record)} is on network mode ${record.network.mode}: it has no networks of its own`,
    );
  return record.network;
}

/** Whether its process is there to take an interface (running, or created and waiting). */
function hasNamespace(record: ContainerRecord): record is ContainerRecord & {
  process: NonNullable<ContainerRecord['process']>;
} {
  return record.status !== 'exited' && isAlive(record.process);
}

/** The first ethN its namespace does not have (it may have renamed its own). */
function freeInterfaceName(pid: number): string {
  const taken = new Set(
    readFileSync(`/proc/${pid}/net/dev`, 'utf8')
      .split('\n')
      .slice(2)
      .map((line) => line.split(':')[0]?.trim()),
  );
  for (let index = 1; ; index++) if (!taken.has(`eth${index}`)) return `eth${index}`;
}

export function connectContainer(
  store: StateStore,
  networks: NetworkStore,
  reference: string,
  name: string,
  aliases: readonly string[],
): ContainerRecord {
  for (const alias of aliases) {
    const checked = networkAlias.safeParse(alias);
    if (!checked.success) throw new TockerError(`${checked.error.issues[0]?.message}: ${alias}`);
  }
  if (aliases.length > 0 && name === DEFAULT_NETWORK)
    throw new TockerError("network alias: only on a network of the user's (tocker network create)");
  const record = store.resolve(reference);
  const alreadyOn = (current: ContainerRecord) => {
    if (bridged(current).networks.some((attachment) => attachment.network === name))
      throw new TockerError(`container ${short(current)} is already on network ${name}`);
  };
  alreadyOn(record);
  const network = networks.prepare(name);
  const lease = networks.lease(network, record.id);
  try {
    const updated = store.update(record.id, (current) => {
      alreadyOn(current);
      const joined = { lease, aliases, host: hostEnd(current.id), peer: '' };
      if (hasNamespace(current)) {
        const peer = freeInterfaceName(current.process.pid);
        try {
          attachVeth(current.process.pid, lease, joined.host, peer);
          configureInterface(current.process.pid, peer, lease);
        } catch (error) {
          detachVeths(network.bridge, hostEndPrefix(current.id));
          throw error;
        }
      }
      const place = bridged(current);
      const attachments = [...place.networks, attachmentOf(joined)];
      return {
        record: { ...current, network: { ...place, networks: attachments } },
        transitions: ['networks-changed'],
      };
    });
    if (updated === null) throw new TockerError(`no such container: ${reference}`);
    return updated;
  } catch (error) {
    networks.releaseFrom(network, record.id);
    throw error;
  }
}

export function disconnectContainer(
  store: StateStore,
  networks: NetworkStore,
  reference: string,
  name: string,
): ContainerRecord {
  const record = store.resolve(reference);
  const network = networks.get(name);
  if (network === null) throw new TockerError(`no network ${name}`);
  const updated = store.update(record.id, (current) => {
    const place = bridged(current);
    const index = place.networks.findIndex((attachment) => attachment.network === name);
    if (index === -1)
      throw new TockerError(`container ${short(current)} is not on network ${name}`);
    if (
      index === 0 &&
      current.config.network.mode === 'bridge' &&
      current.config.network.ports.length > 0
    )
      throw new TockerError(
        `container ${short(current)} publishes its ports through network ${name}: it cannot leave it`,
      );
    if (hasNamespace(current)) detachVeths(network.bridge, hostEndPrefix(current.id));
    const remaining = place.networks.filter((_, at) => at !== index);
    return {
      record: { ...current, network: { ...place, networks: remaining } },
      transitions: ['networks-changed'],
    };
  });
  if (updated === null) throw new TockerError(`no such container: ${reference}`);
  networks.releaseFrom(network, record.id);
  return updated;
}
