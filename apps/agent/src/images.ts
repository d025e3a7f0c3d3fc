import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  canonicalName,
  ImageCatalog,
  type ImageStore,
  PullProgress,
  parseReference,
  pullImage,
} from '@tocker/images';
import type { PullState } from '@tocker/protocol';
import type { Runtime } from '@tocker/runtime';

/** How often a pull's byte counts are pushed at most (state changes go at once). */
const PUSH_EVERY_MS = 100;

/**
 * The agent's images: its store as the catalog answers for it, and the pulls in progress.
 * A pull runs in the agent, not in a request: a browser that asked may go away, and
 * whoever asks for the same reference meanwhile joins it. Its state is emitted as `pull`
 * events (every subscriber sees every pull, as `docker pull` in two terminals would).
 */
export class ImageHost extends EventEmitter<{ pull: [PullState] }> {
  readonly catalog: ImageCatalog;
  private readonly pulls = new Map<string, PullState>();

  constructor(
    readonly store: ImageStore,
    runtime: Runtime,
    /** Registries spoken to over plain HTTP besides loopback ones (--insecure-registry). */
    private readonly insecure: readonly string[],
  ) {
    super();
    this.catalog = new ImageCatalog(store, () => runtime.list());
  }

  /** The pulls in progress. */
  get inProgress(): PullState[] {
    return [...this.pulls.values()];
  }

  /**
   * Starts pulling `reference`, or joins the pull of the same image in progress (however
   * it is written). A malformed reference is refused here, not reported as a failed pull.
   */
  pull(reference: string): PullState {
    const key = canonicalName(parseReference(reference));
    const running = this.pulls.get(key);
    if (running !== undefined) return running;
    let state: PullState = {
      pull: randomBytes(8).toString('hex'),
      reference,
      startedAt: new Date().toISOString(),
      status: 'pulling',
      layers: [],
      image: null,
      error: null,
    };
    const progress = new PullProgress();
    let lastPush = 0;
    const publish = (change: Partial<PullState>, now: boolean) => {
      state = { ...state, ...change, layers: progress.state };
      if (state.status === 'pulling') this.pulls.set(key, state);
      else this.pulls.delete(key);
      if (!now && Date.now() - lastPush < PUSH_EVERY_MS) return;
      lastPush = Date.now();
      this.emit('pull', state);
    };
    publish({}, true);
    pullImage(this.store, reference, {
      insecure: this.insecure,
      onEvent: (event) => publish({}, progress.apply(event)),
    }).then(
      (image) => publish({ status: 'done', image: this.catalog.summarize(image) }, true),
      (error: unknown) => publish({ status: 'failed', error: (error as Error).message }, true),
    );
    return state;
  }
}
