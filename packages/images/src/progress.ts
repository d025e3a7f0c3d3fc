import type { PullLayerState } from '@tocker/protocol/vocabulary';
import type { PullEvent } from './registry.js';

/**
 * A pull's events folded into the state of each layer, as `docker pull` shows them: what
 * the CLI draws and the agent pushes, from one reading of the events.
 */
export class PullProgress {
  private readonly layers = new Map<string, PullLayerState>();

  /** Takes in one event; true when a layer changed state (not only its byte count). */
  apply(event: PullEvent): boolean {
    switch (event.kind) {
      case 'resolved':
        for (const layer of event.layers)
          this.layers.set(layer.digest, {
            digest: layer.digest,
            status: 'waiting',
            receivedBytes: 0,
            totalBytes: layer.size,
          });
        return true;
      case 'layer': {
        // The configuration's blob is fetched the same way: only layers are shown.
        const before = this.layers.get(event.digest)?.status;
        if (before === undefined) return false;
        this.layers.set(event.digest, {
          digest: event.digest,
          status: 'downloading',
          receivedBytes: event.received,
          totalBytes: event.total,
        });
        return before !== 'downloading';
      }
      case 'layer-done': {
        const layer = this.layers.get(event.digest);
        const totalBytes = layer?.totalBytes ?? 0;
        this.layers.set(event.digest, {
          digest: event.digest,
          status: event.cached ? 'cached' : 'done',
          receivedBytes: event.cached ? 0 : totalBytes,
          totalBytes,
        });
        return true;
      }
    }
  }

  /** Each layer, in the image's order (lowest first). */
  get state(): PullLayerState[] {
    return [...this.layers.values()];
  }
}
