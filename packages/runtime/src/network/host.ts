import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { TockerError } from '../errors.js';
import { formatIpv4 } from './cidr.js';
import type { Lease, Network } from './networks.js';

/**
 * The host's side of networks, through iproute2 and nftables (argv arrays and batches on
 * stdin, never a shell): bridges, a container's veth pair, forwarding, and the root's own
 * nftables table, replaced whole on every change.
 */

function run(command: string, args: readonly string[], input?: string): void {
  try {
    execFileSync(command, args, { input, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new TockerError(`${command} ${args.join(' ')}: ${stderr || (error as Error).message}`);
  }
}

export function deviceExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** The network's bridge with its gateway address, up; forwarding on (containers route through the host). */
export function ensureBridge(network: Network): void {
  if (!deviceExists(network.bridge))
    run(
      'ip',
      ['-batch', '-'],
      [
        `link add ${network.bridge} type bridge`,
        `addr add ${formatIpv4(network.gateway)}/${network.subnet.prefix} dev ${network.bridge}`,
        `link set ${network.bridge} up`,
        '',
      ].join('\n'),
    );
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}

export function removeBridge(bridge: string): void {
  if (deviceExists(bridge)) run('ip', ['link', 'del', bridge]);
}

/**
 * A veth pair from the network's bridge into the network namespace of `pid`: the host end
 * is `host` (up, on the bridge), the container's end `peer` (down, with the lease's MAC),
 * which the container's own process then names eth0 and configures (see the shim). When the
 * namespace goes (its last process ends), the kernel takes the pair with it.
 */
export function attachVeth(pid: number, lease: Lease, host: string, peer: string): void {
  run('ip', [
    'link',
    'add',
    host,
    'master',
    lease.bridge,
    'up',
    'type',
    'veth',
    'peer',
    'name',
    peer,
    'address',
    lease.mac,
    'netns',
    String(pid),
  ]);
}

/**
 * Replaces the root's nftables table with the rules of its networks, in one transaction
 * (made first if missing, so the delete always has something to delete): outbound NAT
 * for each network's subnet, forwarding from each bridge out and back for what it started.
 */
export function applyFirewall(table: string, networks: readonly Network[]): void {
  const rules = networks.flatMap((network) => [
    `    ip saddr ${network.subnet} oifname != "${network.bridge}" masquerade`,
  ]);
  const forward = networks.flatMap((network) => [
    `    iifname "${network.bridge}" accept`,
    `    oifname "${network.bridge}" ct state established,related accept`,
  ]);
  run(
    'nft',
    ['-f', '-'],
    [
      `table inet ${table}`,
      `delete table inet ${table}`,
      `table inet ${table} {`,
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      ...rules,
      '  }',
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      ...forward,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

/** Its table, if it has one. */
export function removeFirewall(table: string): void {
  run('nft', ['-f', '-'], `table inet ${table}\ndelete table inet ${table}\n`);
}
