import { openSync } from 'node:fs';
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
