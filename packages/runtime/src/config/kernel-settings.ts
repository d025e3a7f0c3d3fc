import type { ContainerSpec } from '@tocker/protocol/vocabulary';
import { TockerError } from '../errors.js';
import type { Rlimit } from './runtime-config.js';

/** --ulimit as OCI's process.rlimits. */
export function rlimitsOf(spec: ContainerSpec): Rlimit[] {
  return spec.ulimits.map(({ name, soft, hard }) => ({
    type: `RLIMIT_${name.toUpperCase()}` as Rlimit['type'],
    soft,
    hard,
  }));
}

/** The kernel parameters an IPC namespace has of its own. */
const IPC_PARAMETERS = [
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
];

/**
 * --sysctl, checked: only parameters of the container's own namespaces, which it cannot
 * reach the host through (docker's rule): the IPC ones (its IPC namespace is always its
 * own) and net.* when its network namespace is its own. Anything else would set the host's
 * kernel for everyone.
 */
export function checkedSysctls(spec: ContainerSpec): Record<string, string> {
  const network = spec.network;
  const sharedNetwork = network === 'host' || network.startsWith('container:');
  return checkSysctls(spec.sysctls, {
    ownIpc: true,
    sharedNetwork: sharedNetwork ? `the container is on network ${network}` : null,
  });
}

/**
 * The rule itself, for tocker's flags and an OCI bundle's linux.sysctl alike.
 * `sharedNetwork`: why its network namespace is not its own (null: it is).
 */
export function checkSysctls(
  sysctls: Readonly<Record<string, string>>,
  namespaces: { readonly ownIpc: boolean; readonly sharedNetwork: string | null },
): Record<string, string> {
  for (const key of Object.keys(sysctls)) {
    if (IPC_PARAMETERS.includes(key) || key.startsWith('fs.mqueue.')) {
      if (!namespaces.ownIpc)
        throw new TockerError(`sysctl ${key}: the container shares the host's IPC namespace`);
      continue;
    }
    if (key.startsWith('net.')) {
      if (namespaces.sharedNetwork !== null)
        throw new TockerError(
          `sysctl ${key}: ${namespaces.sharedNetwork}, whose parameters are not its own`,
        );
      continue;
    }
    throw new TockerError(
      `sysctl ${key}: not a parameter of the container's own namespaces (net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)`,
    );
  }
  return { ...sysctls };
}
