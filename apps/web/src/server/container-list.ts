import type { ContainerView } from '@tocker/protocol';

/**
 * One agent's container list as the server last heard it, for rendering pages: asked for
 * when a page wants it and nothing changed since the last answer is known, so repeated
 * loads of an unchanged agent cost no round trip and an idle dashboard asks nothing.
 * Any event of the agent, and any (re)connection, makes it stale. An answer to a request
 * that an event overtook is handed to its caller (it is no older than the request) but not
 * kept.
 */
export class ContainerListCache {
  private list: readonly ContainerView[] | null = null;
  private pending: Promise<readonly ContainerView[]> | null = null;
  private changes = 0;

  constructor(private readonly fetch: () => Promise<readonly ContainerView[]>) {}

  /** Something changed, or may have while nobody listened. */
  invalidate(): void {
    this.changes++;
    this.list = null;
    this.pending = null;
  }

  get(): Promise<readonly ContainerView[]> {
    if (this.list !== null) return Promise.resolve(this.list);
    if (this.pending === null) {
      const asked = this.changes;
      const pending = this.fetch();
      this.pending = pending;
      const settled = () => {
        if (this.pending === pending) this.pending = null;
      };
      pending.then((list) => {
        if (this.changes === asked) this.list = list;
        settled();
      }, settled);
    }
    return this.pending;
  }
}
