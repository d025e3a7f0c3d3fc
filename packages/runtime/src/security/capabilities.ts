import { readFileSync } from 'node:fs';
import { TockerError } from '../errors.js';

/** Linux capability names; a name's index is its capability number (linux/capability.h). */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** What a container gets unless told otherwise: Docker's default set. */
export const DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SYS_CHROOT',
  'CAP_MKNOD',
  'CAP_AUDIT_WRITE',
  'CAP_SETFCAP',
];

let cachedLastCap: number | undefined;

/** The highest capability number the running kernel knows. */
export function kernelLastCap(): number {
  cachedLastCap ??= Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
  return cachedLastCap;
}

export interface CapabilityRequest {
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly privileged?: boolean;
  /** The kernel's highest capability number; default: the running kernel's. */
  readonly lastCap?: number;
}

const ALL = 'ALL';

/**
 * The capabilities a container gets, sorted by name, with docker's semantics: the default
 * set minus the drops, plus the adds (an add wins over a drop of the same name); ALL in
 * the drops starts from nothing, ALL in the adds gives every capability of this kernel but
 * the named drops; privileged gives every capability of this kernel.
 */
export function resolveCapabilities(request: CapabilityRequest): CapabilityName[] {
  const known = CAPABILITY_NAMES.slice(0, (request.lastCap ?? kernelLastCap()) + 1);
  if (request.privileged === true) return sortedByName(known);
  const adds = normalize(request.capAdd ?? [], known);
  const drops = normalize(request.capDrop ?? [], known);
  const kept = drops.has(ALL) ? [] : DEFAULT_CAPABILITIES.filter((name) => !drops.has(name));
  const added = adds.has(ALL)
    ? known.filter((name) => !drops.has(name))
    : [...adds].filter((name): name is CapabilityName => name !== ALL);
  return sortedByName(new Set([...kept, ...added]));
}

/** Upper-cased, with the CAP_ prefix; ALL stays ALL. */
function normalize(names: readonly string[], known: readonly CapabilityName[]): Set<string> {
  const result = new Set<string>();
  for (const name of names) {
    const upper = name.trim().toUpperCase();
    if (upper === ALL) {
      result.add(ALL);
      continue;
    }
    const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
    if (!(known as readonly string[]).includes(full)) {
      throw new TockerError(
        (CAPABILITY_NAMES as readonly string[]).includes(full)
          ? `capability ${full} is not supported by this kernel`
          : `unknown capability: "${name}"`,
      );
    }
    result.add(full);
  }
  return result;
}

function sortedByName(names: Iterable<CapabilityName>): CapabilityName[] {
  return [...names].sort();
}

/**
 * A set of CAP_* names as the 64-bit mask that capset(2) takes as two 32-bit halves (bit N
 * is capability N); its complement names what prctl(PR_CAPBSET_DROP) must drop. The names
 * may come from a configuration file, so an unknown one is refused.
 */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const number = (CAPABILITY_NAMES as readonly string[]).indexOf(name);
    if (number < 0) throw new TockerError(`unknown capability: "${name}"`);
    mask |= 1n << BigInt(number);
  }
  return mask;
}
