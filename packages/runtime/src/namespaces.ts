import { openSync } from 'node:fs';
import type { RuntimeConfig } from './config/runtime-config.js';
import { TockerError } from './errors.js';
import { isAlive } from './proc.js';
import type { StateStore } from './state/store.js';

/** Another container's namespace, opened to be joined, and whose it is (its full id). */
export interface JoinedNamespace {
  readonly fd: number;
  readonly container: string;
}

/**
 * The `type` namespace (net, pid...) of container `reference`, which must be running,
 * opened through its PID 1 and checked to still be that process after the open, so a
 * reused pid is never joined. Resolved at each start: a restarted sidecar follows its
 * container. `flag` names the option in the refusal (network, pid).
 */
export function openContainerNamespace(
  store: StateStore,
  reference: string,
  type: 'net' | 'pid',
  flag: string,
  opened: number[],
): JoinedNamespace {
  const target = store.resolve(reference);
  const refuse = () =>
    new TockerError(`${flag} container:${reference}: that container is not running`);
  if (target.status !== 'running' || target.process === null) throw refuse();
  let fd: number;
  try {
    fd = openSync(`/proc/${target.process.pid}/ns/${type}`, 'r');
  } catch {
    throw refuse();
  }
  opened.push(fd);
  if (!isAlive(target.process)) throw refuse();
  return { fd, container: target.id };
}

/**
 * The namespaces of `config` it joins by path (an OCI bundle's), opened now; their
 * descriptors join `opened`. A path that is not such a namespace is one line.
 */
export function openNamespacePaths(
  config: RuntimeConfig,
  opened: number[],
): {
  pid: number | null;
  net: number | null;
  ipc: number | null;
  uts: number | null;
  cgroup: number | null;
} {
  const open = (type: string, source: unknown): number | null => {
    if (typeof source !== 'object' || source === null || !('path' in source)) return null;
    const path = (source as { path: string }).path;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new TockerError(`${type} namespace ${path}: ${(error as Error).message}`);
    }
    opened.push(fd);
    return fd;
  };
  const { namespaces } = config.linux;
  return {
    pid: open('pid', namespaces.pid),
    net: config.network.mode === 'namespace' ? open('network', config.network) : null,
    ipc: open('ipc', namespaces.ipc),
    uts: open('uts', namespaces.uts),
    cgroup: open('cgroup', namespaces.cgroup),
  };
}
