/** Starting containers through a real agent, timed as a client sees it. */
import { type ContainerEvent, callAgent } from '@tocker/protocol';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';

/**
 * The agent is a daemon: what users meet is its steady state, reached after a few dozen
 * starts have been compiled by V8's optimizing tiers (its first starts are ~1.5 ms slower).
 */
export const AGENT_WARMUP = 30;

/**
 * `runs` starts of /bin/true (--rm, no network), one after another, each timed from the
 * request until its exit event: the user command ran and its end was reported.
 */
export async function startLatencies(socket: Socket, runs: number): Promise<number[]> {
  // The exit event may come before the reply that names the container (/bin/true is quick).
  const exits = new Map<string, () => void>();
  const exitedEarly = new Set<string>();
  const onEvent = (event: ContainerEvent) => {
    if (event.kind !== 'exited') return;
    const resolve = exits.get(event.container.id);
    if (resolve === undefined) exitedEarly.add(event.container.id);
    else resolve();
  };
  socket.on('event', onEvent);
  const times: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const started = performance.now();
      await new Promise<void>((resolve) => {
        void callAgent(socket, 'container:run', {
          spec: {
            rootfs: DEFAULT_IMAGE,
            command: ['/bin/true'],
            autoRemove: true,
            network: 'none',
          },
        }).then(({ container }) => {
          if (exitedEarly.delete(container.id)) resolve();
          else exits.set(container.id, resolve);
        });
      });
      times.push(performance.now() - started);
    }
  } finally {
    socket.off('event', onEvent);
  }
  return times;
}
