import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interfaceName, type NetworkSummary } from '@tocker/protocol/vocabulary';
import { z } from 'zod';
import { TockerError } from '../errors.js';
import { discardNamed, namesIn } from '../named-dirs.js';
import { DirectoryLock } from '../state/lock.js';
import type { ContainerRecord } from '../state/record.js';
import { nodeCrypto, randomHex } from '../sys/builtins.js';
import { formatIpv4, type Ipv4, parseIpv4, Subnet } from './cidr.js';
import { ensureResolver, stopResolver } from './dns/daemon.js';
import {
  applyFirewall,
  deviceExists,
  ensureBridge,
  forwardBlockers,
  removeDevice,
  removeFirewall,
} from './host.js';
import { publications } from './publications.js';

/** The network containers join unless told otherwise (docker's "bridge"). */
export const DEFAULT_NETWORK = 'bridge';

/** A network's name, as a container's: it also names its directory. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** What --network means without a network of that name. */
const RESERVED_NAMES: readonly string[] = ['bridge', 'none', 'host', 'default'];

/** The state root whose default network is the host's `tocker0` (others get their own). */
const SYSTEM_ROOT = '/var/lib/tocker';

/** Where subnets are taken: a host-wide lock, as every state root shares the host's routes. */
const HOST_LOCK_DIR = '/run/tocker';
/**
 * The bridges every state root brought up on this host, each with its root: what lets any
 * later tocker process take away the devices and rules of a root that is gone (a killed
 * test's, a deleted one). /run is emptied at boot, as the devices are.
 */
const HOST_BRIDGES_DIR = '/run/tocker/bridges';

const hostEntrySchema = z
  .object({ root: z.string(), name: z.string(), table: z.string() })
  .strict();

/** Default subnets, as docker picks them: the first that overlaps no route of the host. */
const DEFAULT_SUBNETS = [
  ...Array.from({ length: 15 }, (_, index) => `172.${17 + index}.0.0/16`),
  ...Array.from({ length: 48 }, (_, index) => `10.${200 + index}.0.0/16`),
];

const networkSchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{64}$/),
    name: z.string(),
    bridge: z.string().max(15),
    subnet: z.string(),
    createdAt: z.string(),
  })
  .strict();

export interface Network {
  readonly id: string;
  readonly name: string;
  /** The host's bridge device of this network. */
  readonly bridge: string;
  readonly subnet: Subnet;
  readonly gateway: Ipv4;
  readonly createdAt: string;
}

/** A container's place on a network: its address, held until the container is removed. */
export interface Lease {
  readonly network: string;
  readonly bridge: string;
  readonly address: string;
  readonly prefix: number;
  readonly gateway: string;
  /** docker's: 02:42 and the address, so a container's MAC follows from its address. */
  readonly mac: string;
}

/**
 * The networks of a state root (TOCKER_ROOT/networks/<name>/network.json) and their
 * address leases (leases.json: address → container id). Every change is made under the
 * network directory's lock and written whole (a rename): an address is never handed out
 * twice, across processes, agent restarts and crashes.
 */
export class NetworkStore {
  constructor(
    readonly dir: string,
    private readonly root: string,
    /** The root's containers: their leases are shown, their published ports made rules. */
    private readonly containers: () => readonly ContainerRecord[] = () => [],
    /** What the user should know but that fails nothing (the CLI's stderr, the agent's log). */
    private readonly warn: (message: string) => void = (message) =>
      process.stderr.write(`tocker: warning: ${message}\n`),
  ) {}

  /**
   * The root's rules made again from its networks and what its containers publish now; with
   * its last network gone, its table goes too (no bridge of the root is left to say whose).
   */
  refreshFirewall(): void {
    const networks = this.list();
    if (networks.length === 0) removeFirewall(this.firewallTable);
    else applyFirewall(this.firewallTable, networks, publications(this.containers()));
  }

  /** As clients see it: with the containers holding an address on it, and their addresses. */
  describe(network: Network): NetworkSummary {
    const addresses = new Map(
      Object.entries(this.leases(network)).map(([address, holder]) => [holder, address]),
    );
    return {
      id: network.id,
      name: network.name,
      subnet: network.subnet.toString(),
      gateway: network.subnet.gatewayText,
      bridge: network.bridge,
      createdAt: network.createdAt,
      containers: this.containers().flatMap((record) => {
        const address = addresses.get(record.id);
        if (address === undefined) return [];
        const attachment =
          record.network.mode === 'bridge'
            ? record.network.networks.find((each) => each.network === network.name)
            : undefined;
        return [{ id: record.id, name: record.name, address, aliases: attachment?.aliases ?? [] }];
      }),
    };
  }

  /** The nftables table of this root's rules (tocker's own; nothing else is touched). */
  get firewallTable(): string {
    return this.root === SYSTEM_ROOT
      ? 'tocker'
      : `tocker_${nodeCrypto().createHash('sha256').update(this.root).digest('hex').slice(0, 12)}`;
  }

  get(name: string): Network | null {
    try {
      return toNetwork(
        networkSchema.parse(JSON.parse(readFileSync(join(this.dir, name, 'network.json'), 'utf8'))),
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new TockerError(`network ${name}: its record is damaged (${(error as Error).message})`);
    }
  }

  /** Whether its network `name` is still there, on `bridge`. */
  has(name: string, bridge: string): boolean {
    try {
      return this.get(name)?.bridge === bridge;
    } catch {
      return true; // a damaged record is not a reason to take its network away
    }
  }

  list(): Network[] {
    return namesIn(this.dir).flatMap((name) => this.get(name) ?? []);
  }

  /**
   * A network ready for a container: its record (the default network is made on first use,
   * on the first subnet no host route has), its bridge, this root's rules and, on a network
   * of the user's, its DNS server. After a reboot they are gone: they are made again here.
   */
  prepare(name: string): Network {
    const network =
      this.get(name) ??
      (name === DEFAULT_NETWORK
        ? this.create(DEFAULT_NETWORK, null, this.root === SYSTEM_ROOT ? 'tocker0' : null)
        : null);
    if (network === null) throw new TockerError(`no network ${name}`);
    if (!deviceExists(network.bridge))
      withHostLock(() => {
        // Checked again: a process starting a container next to this one may have done it.
        if (!deviceExists(network.bridge)) this.bringUp(network);
      });
    // docker's default network has no names either: its containers use the host's resolvers.
    if (network.name !== DEFAULT_NETWORK) ensureResolver(this.dir, this.root, network);
    return network;
  }

  /** Its bridge, and the root's rules with it in. */
  private bringUp(network: Network): void {
    mkdirSync(HOST_BRIDGES_DIR, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(HOST_BRIDGES_DIR, network.bridge),
      JSON.stringify({ root: this.root, name: network.name, table: this.firewallTable }),
    );
    ensureBridge(network);
    this.refreshFirewall();
    for (const blocker of forwardBlockers((table) => /^tocker(_|$)/.test(table), network.bridge))
      this.warn(blocker);
  }

  /** Takes the host's devices and rules of every network of this root away (a test's root). */
  tearDown(): void {
    for (const network of this.list()) {
      stopResolver(this.dir, network);
      removeDevice(network.bridge);
      rmSync(join(HOST_BRIDGES_DIR, network.bridge), { force: true });
    }
    removeFirewall(this.firewallTable);
  }

  /**
   * A new network: on `subnet`, or the first default one free on this host (neither a
   * route of the host, another root's network being up, nor a network of this root).
   * Refused when its subnet overlaps.
   */
  create(name: string, subnet: Subnet | null, bridge: string | null = null): Network {
    return withHostLock(() => {
      const existing = this.get(name);
      if (existing !== null) {
        if (name === DEFAULT_NETWORK) return existing;
        throw new TockerError(`network ${name} already exists`);
      }
      // This root's networks hold their subnets also while their bridges are down (after a
      // reboot, until a container uses them), when the host has no route of theirs.
      const taken = [
        ...hostSubnets().map(({ subnet, device }) => ({
          subnet,
          holder: `the host's route on ${device}`,
        })),
        ...this.list().map((network) => ({
          subnet: network.subnet,
          holder: `network ${network.name}`,
        })),
      ];
      const chosen =
        subnet ??
        DEFAULT_SUBNETS.map((text) => Subnet.parse(text)).find(
          (candidate) => !taken.some((used) => used.subnet.overlaps(candidate)),
        );
      if (chosen === undefined)
        throw new TockerError('no free subnet for a network: give one (--subnet)');
      const clash = taken.find((used) => used.subnet.overlaps(chosen));
      if (clash !== undefined)
        throw new TockerError(`subnet ${chosen} overlaps ${clash.subnet} (${clash.holder})`);
      const id = randomHex(32);
      const record = {
        id,
        name,
        bridge: bridge ?? `tk-${id.slice(0, 12)}`,
        subnet: chosen.toString(),
        createdAt: new Date().toISOString(),
      };
      const staging = join(this.dir, `.new-${id}`);
      mkdirSync(staging, { recursive: true, mode: 0o700 });
      writeFileSync(join(staging, 'network.json'), JSON.stringify(record));
      writeFileSync(join(staging, 'leases.json'), '{}');
      renameSync(staging, join(this.dir, name));
      const network = toNetwork(record);
      // Under the host lock: the next root to pick a subnet sees this one's route.
      this.bringUp(network);
      return network;
    });
  }

  /**
   * A network of the user's (`tocker network create`): a name of its own (not a mode's),
   * on `subnet` or the first free default one, its bridge named `bridge` or tk-<id>.
   */
  createNetwork(name: string, subnet: Subnet | null, bridge: string | null = null): Network {
    if (!NETWORK_NAME.test(name))
      throw new TockerError(`network ${JSON.stringify(name)}: letters, digits, _ . - (at most 63)`);
    if (RESERVED_NAMES.includes(name) || name.startsWith('container:'))
      throw new TockerError(`network ${name}: a name tocker keeps for itself`);
    if (bridge !== null) {
      const checked = interfaceName.safeParse(bridge);
      if (!checked.success)
        throw new TockerError(`${checked.error.issues[0]?.message}: ${JSON.stringify(bridge)}`);
      if (deviceExists(bridge) || this.list().some((network) => network.bridge === bridge))
        throw new TockerError(`bridge ${bridge}: this host already has an interface of that name`);
    }
    return this.create(name, subnet, bridge);
  }

  /**
   * A network and its bridge, and its rules; refused while a container (whatever its state:
   * it holds its address until it is removed) is on it, and for the default network.
   */
  remove(name: string): void {
    if (name === DEFAULT_NETWORK) throw new TockerError('the default network cannot be removed');
    const network = this.get(name);
    if (network === null) throw new TockerError(`no network ${name}`);
    const holder = this.holders(network)[0];
    if (holder !== undefined)
      throw new TockerError(
        `network ${name} has container ${holder.slice(0, 12)} on it: remove that first`,
      );
    withHostLock(() => {
      stopResolver(this.dir, network);
      discardNamed(this.dir, name);
      removeDevice(network.bridge);
      rmSync(join(HOST_BRIDGES_DIR, network.bridge), { force: true });
      this.refreshFirewall();
    });
  }

  /** Removes every network of the user's that no container is on; their names. */
  prune(): string[] {
    const unused = this.list().filter(
      (network) => network.name !== DEFAULT_NETWORK && this.holders(network).length === 0,
    );
    for (const network of unused) this.remove(network.name);
    return unused.map((network) => network.name);
  }

  /** The container's address on the network: the one it holds, or the lowest free one. */
  lease(network: Network, container: string): Lease {
    return this.withLeases(network, (leases) => {
      const held = Object.entries(leases).find(([, holder]) => holder === container)?.[0];
      if (held !== undefined) return leaseOf(network, parseIpv4(held) as Ipv4);
      for (let address = network.gateway + 1; address < network.subnet.last; address++) {
        const text = formatIpv4(address);
        if (leases[text] === undefined) {
          leases[text] = container;
          return leaseOf(network, address);
        }
      }
      throw new TockerError(`network ${network.name} has no free address (${network.subnet})`);
    });
  }

  /** Gives back the container's address on `network` (it leaves the network). */
  releaseFrom(network: Network, container: string): void {
    this.withLeases(network, (leases) => {
      for (const [address, holder] of Object.entries(leases))
        if (holder === container) delete leases[address];
    });
  }

  /** Gives back the container's addresses (it is removed). */
  release(container: string): void {
    this.releaseUnless((holder) => holder !== container);
  }

  /** Gives back every address held by a container that `exists` does not know. */
  releaseUnless(exists: (container: string) => boolean): void {
    for (const network of this.list())
      this.withLeases(network, (leases) => {
        for (const [address, holder] of Object.entries(leases))
          if (!exists(holder)) delete leases[address];
      });
  }

  /** Which containers hold an address on it. */
  holders(network: Network): string[] {
    return Object.values(this.leases(network));
  }

  private withLeases<T>(network: Network, change: (leases: Record<string, string>) => T): T {
    const dir = join(this.dir, network.name);
    const lock = DirectoryLock.acquireOrFail(dir, `network ${network.name}`);
    if (lock === null) throw new TockerError(`no network ${network.name}`);
    try {
      const leases = this.leases(network);
      const before = JSON.stringify(leases);
      const result = change(leases);
      if (JSON.stringify(leases) !== before) {
        const staging = join(dir, `.leases-${process.pid}`);
        writeFileSync(staging, JSON.stringify(leases));
        renameSync(staging, join(dir, 'leases.json'));
      }
      return result;
    } finally {
      lock.release();
    }
  }

  /** Its addresses held, each by a container. */
  leases(network: Network): Record<string, string> {
    try {
      return z
        .record(z.string())
        .parse(JSON.parse(readFileSync(join(this.dir, network.name, 'leases.json'), 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new TockerError(
        `network ${network.name}: its leases are damaged (${(error as Error).message})`,
      );
    }
  }
}

/** `work` while holding the host's network lock (subnets, bridges: every root shares them). */
function withHostLock<T>(work: () => T): T {
  mkdirSync(HOST_LOCK_DIR, { recursive: true, mode: 0o700 });
  const lock = DirectoryLock.acquireOrFail(HOST_LOCK_DIR, 'the host network lock');
  try {
    return work();
  } finally {
    lock?.release();
  }
}

function toNetwork(record: z.output<typeof networkSchema>): Network {
  const subnet = Subnet.parse(record.subnet);
  return { ...record, subnet, gateway: subnet.gateway };
}

function leaseOf(network: Network, address: Ipv4): Lease {
  const bytes = [24, 16, 8, 0].map((shift) =>
    ((address >>> shift) & 255).toString(16).padStart(2, '0'),
  );
  return {
    network: network.name,
    bridge: network.bridge,
    address: formatIpv4(address),
    prefix: network.subnet.prefix,
    gateway: formatIpv4(network.gateway),
    mac: ['02', '42', ...bytes].join(':'),
  };
}

/** The IPv4 routes of the host (each device's networks): what a new subnet must not overlap. */
function hostSubnets(): { subnet: Subnet; device: string }[] {
  return readFileSync('/proc/net/route', 'utf8')
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      const [device, destination, , , , , , mask] = line.trim().split(/\s+/);
      if (device === undefined || destination === undefined || mask === undefined) return [];
      const base = littleEndian(destination);
      const prefix = bitCount(littleEndian(mask));
      // The default route (0.0.0.0/0) overlaps everything and takes no addresses.
      return prefix === 0 ? [] : [{ subnet: Subnet.of(base, prefix), device }];
    });
}

function littleEndian(hex: string): number {
  return Buffer.from(hex, 'hex').readUInt32LE(0);
}

function bitCount(value: number): number {
  let count = 0;
  for (let bits = value >>> 0; bits !== 0; bits >>>= 1) count += bits & 1;
  return count;
}

/**
 * Takes away the bridges (and then the rules) of networks whose state root no longer has
 * them: a root deleted, or a killed test's. Every tocker command's collection runs it.
 */
export function reconcileHostNetworks(): number {
  let entries: string[];
  try {
    entries = readdirSync(HOST_BRIDGES_DIR);
  } catch {
    return 0;
  }
  const tables = new Map<string, boolean>();
  let removed = 0;
  for (const bridge of entries) {
    const path = join(HOST_BRIDGES_DIR, bridge);
    let entry: z.output<typeof hostEntrySchema>;
    try {
      entry = hostEntrySchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    } catch {
      rmSync(path, { force: true });
      continue;
    }
    const alive = new NetworkStore(join(entry.root, 'networks'), entry.root).has(
      entry.name,
      bridge,
    );
    tables.set(entry.table, (tables.get(entry.table) ?? false) || alive);
    if (alive) continue;
    removeDevice(bridge);
    rmSync(path, { force: true });
    removed++;
  }
  for (const [table, used] of tables) if (!used) removeFirewall(table);
  return removed;
}
