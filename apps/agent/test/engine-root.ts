import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxBundle } from '../../../packages/oci-runtime/test/engines/bundle.js';
import { tockerRuntime } from '../../../packages/oci-runtime/test/engines/runtimes.js';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';

/** podman's marks on its containers' configs. */
export const PODMAN_ANNOTATIONS = {
  'io.container.manager': 'libpod',
  'io.podman.annotations.autoremove': 'FALSE',
};

/**
 * A tocker-runtime state root of a test's own, with containers made in it as the engines
 * make them (the built tocker-runtime, busybox bundles running `sleep 100`); `remove`
 * deletes whatever is left of them, and the directory.
 */
export class EngineRoot {
  readonly dir = scratchDir('engine-root');
  /** What an agent is given as --engine-root. */
  readonly root = join(this.dir, 'state');
  private readonly log = join(this.dir, 'runtime.log');
  private readonly ids = new Set<string>();

  /**
   * A created container: podman's (its annotations) or containerd's (its bundle under
   * containerd's task directory, named by namespace and id, as containerd's shim makes it).
   */
  create(id: string, engine: 'podman' | 'containerd'): { bundle: string } {
    const bundle = busyboxBundle(
      tockerRuntime,
      engine === 'podman'
        ? join(this.dir, 'podman', id)
        : join(this.dir, 'io.containerd.runtime.v2.task', 'default', id),
      {
        args: ['sleep', '100'],
        cgroupsPath: `/${id}`,
        ...(engine === 'podman' ? { annotations: PODMAN_ANNOTATIONS } : {}),
      },
    );
    this.ids.add(id);
    this.call('create', '--bundle', bundle, id);
    return { bundle };
  }

  /**
   * tocker-runtime as an engine calls it. No pipes: the container's init inherits the
   * caller's stdio and would hold them open; what went wrong is in the --log file.
   */
  call(...args: string[]): void {
    const result = spawnSync(
      tockerRuntime.path,
      ['--root', this.root, '--log', this.log, ...args],
      { stdio: 'ignore' },
    );
    if (result.status !== 0)
      throw new Error(
        `tocker-runtime ${args.join(' ')} exited ${result.status}: ${existsSync(this.log) ? readFileSync(this.log, 'utf8').slice(-1000) : ''}`,
      );
  }

  remove(): void {
    for (const id of this.ids)
      if (existsSync(join(this.root, id))) this.call('delete', '--force', id);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
