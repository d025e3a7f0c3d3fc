import { join } from 'node:path';

/**
 * Everything tocker keeps on disk lives under one root (TOCKER_ROOT, default
 * /var/lib/tocker), so that separate CLI invocations, the agent and `rm -rf` agree:
 *   images/busybox/         the default image, built by `npm run setup`
 *   containers/<id>/        state.json, container.log, and the overlay's upper/work/merged
 *   names/<name> -> <id>    name reservations (a symlink is created atomically)
 */
export function tockerRoot(): string {
  return process.env.TOCKER_ROOT ?? '/var/lib/tocker';
}

export function defaultImage(root = tockerRoot()): string {
  return join(root, 'images', 'busybox');
}
