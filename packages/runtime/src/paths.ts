/**
 * Everything tocker keeps about containers lives under one state root (TOCKER_ROOT,
 * default /var/lib/tocker), so that separate CLI invocations, the agent and `rm -rf`
 * agree:
 *   containers/<id>/        state.json, container.log, and the overlay's upper/work/merged
 *   names/<name> -> <id>    name reservations (a symlink is created atomically)
 *   archive/<id>.log        the tail of each removed container's log (the most recent 500)
 * The default image has a fixed place, whatever the state root: setup builds it there.
 */
export function tockerRoot(): string {
  return process.env.TOCKER_ROOT ?? '/var/lib/tocker';
}

export { DEFAULT_IMAGE } from '@tocker/protocol';
