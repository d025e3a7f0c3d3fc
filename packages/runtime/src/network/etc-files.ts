import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config/runtime-config.js';
import type { Lease } from './networks.js';

/** A file the runtime writes for a container and mounts (read-only) at `target`. */
export interface EtcFile {
  readonly source: string;
  readonly target: string;
}

const LOOPBACK_RESOLVER = /^\s*nameserver\s+(127\.|::1\b)/;

function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The host's resolvers as a container can use them: a resolver on the host's loopback
 * (systemd-resolved, dnsmasq) is not reachable from another network namespace, so it is
 * left out. None left means no resolver: tocker never picks a public one on its own.
 */
function resolvConf(ownNetwork: boolean): string {
  const lines = hostFile('/etc/resolv.conf').split('\n');
  return `${(ownNetwork ? lines.filter((line) => !LOOPBACK_RESOLVER.test(line)) : lines)
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
    { target: '/etc/resolv.conf', text: resolvConf(!host) },
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
