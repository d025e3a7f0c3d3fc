import { chownSync } from 'node:fs';
import { type RuntimeConfig, withUserNamespaceMappings } from '../config/runtime-config.js';
import type { UserNamespaceRanges } from './ranges.js';

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
  const leased = withUserNamespaceMappings(config, ranges.lease(id));
  const [uid, gid] = [leased.linux.uidMappings[0], leased.linux.gidMappings[0]];
  if (uid === undefined || gid === undefined) throw new Error('a lease without a mapping');
  chownSync(upper, uid.hostID, gid.hostID);
  return leased;
}
