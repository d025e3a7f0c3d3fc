import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config/runtime-config.js';
import { upstreamsFile } from './dns/daemon.js';
import { DEFAULT_NETWORK, type Lease } from './networks.js';

/** A file the runtime writes for a container and mounts (read-only) at `target`. */
export interface EtcFile {
  readonly source: string;
  readonly target: string;
}

const NAMESERVER = /^\s*nameserver\s/;
const LOOPBACK_RESOLVER = /^\s*nameserver\s+(127\.|::1\b)/;

function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The resolvers of a container: on a network of the user's, that network's DNS server (its
 * gateway) with the host's search domains and options; on the default network, the host's
 * resolvers where a container can reach them (one on the host's loopback, such as
 * systemd-resolved's, is not reachable from another network namespace, so it is left out;
 * none left means none: tocker never picks a public one on its own); on the host's
 * network, the host's file.
 */
function resolvConf(config: RuntimeConfig, lease: Lease | null): string {
  const lines = hostFile(upstreamsFile()).split('\n');
  if (config.network.mode === 'host') return `${lines.join('\n').trim()}\n`;
  if (lease !== null && lease.network !== DEFAULT_NETWORK)
    return `${[`nameserver ${lease.gateway}`, ...lines.filter((line) => !NAMESERVER.test(line))]
      .join('\n')
      .trim()}\n`;
  return `${lines
    .filter((line) => !LOOPBACK_RESOLVER.test(line))
    .join('\n')
    .trim()}\n`;
}

function hostsFile(hostname: string, name: string | null, lease: Lease | null): string {
  const names = [hostname, ...(name !== null && name !== hostname ? [name] : [])].join(' ');
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    lease === null ? `127.0.1.1\t${names}` : `${lease.address}\t${names}`,
    '',
  ].join('\n');
}

/**
 * /etc/hostname, /etc/hosts and /etc/resolv.conf of a container, written into its state
 * directory `dir` (the image is never modified): its name and address, the host's
 * resolvers. On the host's network, the host's own hosts and resolv.conf. A file the
 * request mounts itself at one of these paths wins.
 */
export function writeEtcFiles(
  dir: string,
  config: RuntimeConfig,
  hostname: string,
  lease: Lease | null,
): EtcFile[] {
  const host = config.network.mode === 'host';
  const files = [
    { target: '/etc/hostname', text: `${hostname}\n` },
    {
      target: '/etc/hosts',
      text: host ? hostFile('/etc/hosts') : hostsFile(hostname, config.request.name ?? null, lease),
    },
    { target: '/etc/resolv.conf', text: resolvConf(config, lease) },
  ];
  const mounted = new Set(config.mounts.map((mount) => mount.target));
  return files
    .filter((file) => !mounted.has(file.target))
    .map(({ target, text }) => {
      const source = join(dir, target.slice('/etc/'.length));
      writeFileSync(source, text, { mode: 0o644 });
      return { source, target };
    });
}
