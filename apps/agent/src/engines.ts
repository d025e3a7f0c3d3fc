import { readOciStates } from '@tocker/oci-runtime/state';
import { type EngineContainer, engineOf } from '@tocker/protocol';

/**
 * The containers podman and containerd made through tocker-runtime under `root`, for the
 * dashboard to show beside tocker's own: read from the runtime's state at each call, and
 * never acted on (their engines manage them).
 */
export function listEngineContainers(root: string): EngineContainer[] {
  return readOciStates(root).map((state) => ({
    id: state.id,
    engine: engineOf(state.annotations, state.bundle),
    status: state.status,
    pid: state.pid,
    created: state.created,
    bundle: state.bundle,
  }));
}
