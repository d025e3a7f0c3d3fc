import type { ContainerSpec } from '@tocker/protocol/vocabulary';
import { TockerError } from '../errors.js';

/**
 * Whether the container gets a user namespace of its own (--userns=auto), and what cannot
 * go with one. Its namespaces are all owned by its user namespace, so joining or keeping one
 * the host's user namespace owns would leave its root without the capabilities it needs
 * there (docker refuses the same combinations with user namespaces on): the host's
 * network (sysfs and the interfaces belong to the host), another container's network or
 * processes (another range: its root is nobody there), and --privileged (the host's
 * devices and every capability make no sense for ids that are not the host's). --device
 * would need the host's node bound in (mknod is refused in a user namespace): not yet.
 */
export function userNamespaceOf(spec: ContainerSpec): 'host' | 'own' {
  if (spec.userns !== 'auto') return 'host';
  const refuse = (what: string) => {
    throw new TockerError(`--userns=auto cannot be combined with ${what}`);
  };
  if (spec.privileged) refuse('--privileged (use --userns=host)');
  if (spec.network === 'host')
    refuse("--network host (the host's network belongs to the host's user namespace)");
  if (spec.network.startsWith('container:'))
    refuse("--network container:NAME (that network belongs to another container's user namespace)");
  if (spec.pid !== undefined)
    refuse("--pid container:NAME (those processes belong to another container's user namespace)");
  if (spec.devices.length > 0) refuse('--device (not supported yet)');
  return 'own';
}
