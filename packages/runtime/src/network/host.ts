import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import type { PublishedPort } from '@tocker/protocol/vocabulary';
import { z } from 'zod';
import { TockerError } from '../errors.js';
import { nodeChildProcess } from '../sys/builtins.js';
import { formatIpv4 } from './cidr.js';
import type { Lease, Network } from './networks.js';

/**
 * The host's side of networks, through iproute2 and nftables (argv arrays and batches on
 * stdin, never a shell): bridges, a container's veth pair, forwarding, and the root's own
 * nftables table, replaced whole on every change.
 */

/**
 * The system's own directories, whatever the caller's PATH: a concluder runs with none, and
 * a root process should not run an `ip` or `nft` that a PATH entry put first.
 */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function run(command: string, args: readonly string[], input?: string): void {
  try {
    nodeChildProcess().execFileSync(command, args, {
      input,
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, PATH: SYSTEM_PATH, LC_ALL: 'C' },
    });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new TockerError(`${command} ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

export function deviceExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/**
 * The network's bridge with its gateway address, up, and no IPv6 address (its link-local
 * would come with its first container); forwarding on (containers route through the host).
 */
export function ensureBridge(network: Network): void {
  if (!deviceExists(network.bridge)) {
    run(
      'ip',
      ['-batch', '-'],
      [
        `link add ${network.bridge} type bridge`,
        ...noIpv6Address(network.bridge),
        `addr add ${formatIpv4(network.gateway)}/${network.subnet.prefix} dev ${network.bridge}`,
        `link set ${network.bridge} up`,
        '',
      ].join('\n'),
    );
    // Ports published on 127.0.0.1 reach containers through it (with the 127/8 masquerade).
    writeFileSync(`/proc/sys/net/ipv4/conf/${network.bridge}/route_localnet`, '1');
  }
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

/**
 * `ip` lines that keep a host device of tocker's without an IPv6 address (none on a kernel
 * without IPv6): networks are IPv4, and a new address on the host is a network change to
 * whoever watches them, a browser on the host failing the requests it has in flight.
 */
function noIpv6Address(device: string): string[] {
  return existsSync('/proc/sys/net/ipv6') ? [`link set ${device} addrgenmode none`] : [];
}

/** A device of the host (a bridge, a veth end: its pair goes with it), if it is there. */
export function removeDevice(name: string): void {
  if (!deviceExists(name)) return;
  try {
    run('ip', ['link', 'del', name]);
  } catch (error) {
    // Another tocker process (a reconciliation of a root that is gone) took it meanwhile.
    if (deviceExists(name)) throw error;
  }
}

/**
 * A veth pair from the network's bridge into the network namespace of `pid`: the host end
 * is `host` (up, on the bridge), the container's end `peer` (down, with the lease's MAC).
 * The first network's end is then named eth0 and configured by the container's own
 * process (see the shim); another's by configureInterface(). When the namespace goes (its
 * last process ends), the kernel takes the pair with it.
 */
export function attachVeth(pid: number, lease: Lease, host: string, peer: string): void {
  run(
    'ip',
    ['-batch', '-'],
    [
      `link add ${host} master ${lease.bridge} up type veth peer name ${peer} address ${lease.mac} netns ${pid}`,
      // Before the container's end comes up, when a link-local address would be made.
      ...noIpv6Address(host),
      // A container reaching its own published port goes out and back through this port.
      `link set dev ${host} type bridge_slave hairpin on`,
      '',
    ].join('\n'),
  );
}

/**
 * The address of a network joined after the container's start on its interface `name`, up,
 * from inside its namespace (nsenter --net only: the host's mounts and the host's `ip`).
 * No route: its default route stays on its first network.
 */
export function configureInterface(pid: number, name: string, lease: Lease): void {
  run(
    'nsenter',
    [`--net=/proc/${pid}/ns/net`, 'ip', '-batch', '-'],
    [`addr add ${lease.address}/${lease.prefix} dev ${name}`, `link set ${name} up`, ''].join('\n'),
  );
}

/**
 * Takes the container's interface off `bridge`: every host end on it named `prefix` (its
 * id's), whatever the container did to its own end. The kernel takes the pair's other end.
 */
export function detachVeths(bridge: string, prefix: string): void {
  let ports: string[];
  try {
    ports = readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return; // no bridge, no ports
  }
  for (const port of ports.filter((name) => name.startsWith(prefix)))
    if (deviceExists(port)) run('ip', ['link', 'del', port]);
}

/** A container's published ports, where its traffic goes. */
export interface Publication {
  readonly address: string;
  readonly ports: readonly PublishedPort[];
}

/**
 * Replaces the root's nftables table with the rules of its networks and published ports,
 * in one transaction (made first if missing, so the delete always has something to
 * delete): outbound NAT for each network's subnet, each published port sent to its
 * container (from outside and from the host itself), forwarding from each bridge out and
 * back for what it started.
 */
export function applyFirewall(
  table: string,
  networks: readonly Network[],
  publications: readonly Publication[],
): void {
  const dnat = publications.flatMap(({ address, ports }) =>
    ports.map(
      (port) =>
        `    ${port.hostIp === '0.0.0.0' ? 'fib daddr type local' : `ip daddr ${port.hostIp}`} ${port.protocol} dport ${port.hostPort} dnat ip to ${address}:${port.containerPort}`,
    ),
  );
  const masquerade = networks.flatMap((network) => [
    `    ip saddr ${network.subnet} oifname != "${network.bridge}" masquerade`,
    // Published on 127.0.0.1, or reached by a container through the host's address.
    `    oifname "${network.bridge}" ip saddr 127.0.0.0/8 masquerade`,
    `    oifname "${network.bridge}" ip saddr ${network.subnet} ct status dnat masquerade`,
  ]);
  // route_localnet (for ports published on 127.0.0.1) would also route a frame a container
  // addresses to 127.0.0.1 into the host's loopback services (CVE-2020-8558): such frames
  // are dropped as they arrive, before any NAT (replies to the host's own connections come
  // addressed to the gateway, and are turned back into 127.0.0.1 only after this).
  const martians = networks.map(
    (network) => `    iifname "${network.bridge}" ip daddr 127.0.0.0/8 drop`,
  );
  // Networks do not reach each other; each reaches the outside and the host.
  const isolation = networks.flatMap((network) =>
    networks
      .filter((other) => other.bridge !== network.bridge)
      .map((other) => `    iifname "${network.bridge}" oifname "${other.bridge}" drop`),
  );
  const forward = networks.flatMap((network) => [
    `    iifname "${network.bridge}" accept`,
    `    oifname "${network.bridge}" ct state established,related accept`,
    `    oifname "${network.bridge}" ct status dnat accept`,
  ]);
  run(
    'nft',
    ['-f', '-'],
    [
      `table inet ${table}`,
      `delete table inet ${table}`,
      `table inet ${table} {`,
      '  chain loopback {',
      '    type filter hook prerouting priority raw; policy accept;',
      ...martians,
      '  }',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      ...dnat,
      '  }',
      // The host's own connections to published ports (nft 1.0.6 takes no "dstnat" here).
      '  chain output {',
      '    type nat hook output priority -100; policy accept;',
      ...dnat,
      '  }',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      ...masquerade,
      '  }',
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      ...isolation,
      ...forward,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

/** What `nft -j list chains` says of a chain (base chains have a hook and a policy). */
const chainSchema = z.object({
  family: z.string(),
  table: z.string(),
  name: z.string(),
  hook: z.string().optional(),
  policy: z.string().optional(),
});
const listingSchema = z.object({ nftables: z.array(z.record(z.unknown())) });

/**
 * The forward chains of other tables that drop what no rule of theirs accepts (docker's
 * FORWARD policy is one): every base chain of a hook sees each packet, so tocker's accepts
 * cannot undo their drop. One line each, with the rules that would let `bridge` through.
 */
export function forwardBlockers(isOwnTable: (table: string) => boolean, bridge: string): string[] {
  let listed: z.output<typeof listingSchema>;
  try {
    listed = listingSchema.parse(
      JSON.parse(
        nodeChildProcess().execFileSync('nft', ['-j', 'list', 'chains'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
          env: { ...process.env, PATH: SYSTEM_PATH, LC_ALL: 'C' },
        }),
      ),
    );
  } catch {
    return []; // no nft to ask: nothing to warn about that tocker could tell
  }
  return listed.nftables.flatMap((entry) => {
    const chain = chainSchema.safeParse(entry.chain);
    if (!chain.success) return [];
    const { family, table, name, hook, policy } = chain.data;
    if (hook !== 'forward' || policy !== 'drop' || isOwnTable(table)) return [];
    const where = `${family} ${table} ${name}`;
    return [
      `table ${family} ${table} drops forwarded packets by default (chain ${name}, policy drop): containers on ${bridge} reach neither the outside nor each other's published ports unless it lets them through, e.g. nft insert rule ${where} iifname "${bridge}" accept; nft insert rule ${where} oifname "${bridge}" accept`,
    ];
  });
}

/** Its table, if it has one. */
export function removeFirewall(table: string): void {
  run('nft', ['-f', '-'], `table inet ${table}\ndelete table inet ${table}\n`);
}
