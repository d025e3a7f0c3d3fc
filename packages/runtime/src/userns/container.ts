import { chownSync, fchownSync, readdirSync, statSync } from 'node:fs';
import { type RuntimeConfig, withUserNamespaceMappings } from '../config/runtime-config.js';
import type { IdMapping, UserNamespaceRanges } from './ranges.js';

/**
 * A container with a user namespace of its own, once it has an id: its range leased (the
 * one it holds on a restart), and its writable layer given to its root. The upper layer's
 * own directory is what the container sees as "/" (overlayfs takes a merged directory's
 * owner from its upper one): owned by the host's root, "/" would be nobody's inside.
 */
export function prepareUserNamespace(
  config: RuntimeConfig,
  id: string,
  ranges: UserNamespaceRanges,
  upper: string,
): RuntimeConfig {
  if (config.linux.namespaces.user !== 'own') return config;
  // Mapped already: restarted (its lease is still its own), or mapped by whoever configured
  // it (an OCI bundle's linux.uidMappings).
  const mapped =
    config.linux.uidMappings.length > 0
      ? config
      : withUserNamespaceMappings(config, ranges.lease(id));
  giveToContainerRoot(mapped, [upper, ...freshVolumes(mapped)]);
  return mapped;
}

/**
 * Named volumes nobody has used yet (empty, still the host root's), which this container's
 * root is given as podman does on a first use: the host root's, it could not write them.
 * Containers of other ranges that mount them later find them as their owner left them.
 */
function freshVolumes(config: RuntimeConfig): string[] {
  return config.mounts.flatMap((mount) => {
    if (mount.kind !== 'bind' || mount.volume === null) return [];
    const found = statSync(mount.source);
    const untouched = found.uid === 0 && found.gid === 0 && readdirSync(mount.source).length === 0;
    return untouched ? [mount.source] : [];
  });
}

/**
 * Files the runtime makes for the container (its /etc/hosts..., its terminal) are its
 * root's, as the image's are: the host root's would be nobody's inside.
 */
export function giveToContainerRoot(
  config: RuntimeConfig,
  paths: readonly string[],
  fds: readonly number[] = [],
): void {
  if (config.linux.namespaces.user !== 'own') return;
  const rootOf = (mappings: readonly IdMapping[]) =>
    mappings.find(({ containerID, size }) => containerID === 0 && size > 0);
  const [uid, gid] = [rootOf(config.linux.uidMappings), rootOf(config.linux.gidMappings)];
  if (uid === undefined || gid === undefined) throw new Error('a user namespace without its range');
  for (const path of paths) chownSync(path, uid.hostID, gid.hostID);
  for (const fd of fds) fchownSync(fd, uid.hostID, gid.hostID);
}
