import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { containerTransitionSchema, parseJsonLines } from '@tocker/protocol';
import { detectCgroupDriver, parseMountinfo } from '../src/cgroups/index.js';
import { prepareDefaultImage } from '../src/image.js';
import { Runtime } from '../src/runtime.js';
import { removeStateRoot, scratchDir, withoutHostResolvers } from './scratch.js';

export const image = prepareDefaultImage();

/**
 * A private tocker world for one test file: its own state root and its own cgroup parent,
 * so that tests never see (or clean up) anything but their own containers. check() proves
 * that nothing was left behind: no state of running containers, no cgroup, no process
 * whose root is in our directory, no mount of ours on the host.
 */
export class TestRoot {
  readonly root: string;
  readonly cgroupParent: string;
  readonly env: NodeJS.ProcessEnv;
  /** What tocker takes for the host's resolv.conf (TOCKER_RESOLV_CONF): empty at first. */
  readonly resolvConf: string;

  private readonly dispose: () => void;

  /**
   * `root`: a directory of the test's own (e.g. a small tmpfs), then `dispose` removes it;
   * `name` tells the roots of one test file apart.
   */
  constructor(options: { root?: string; name?: string; dispose?: () => void } = {}) {
    this.root = options.root ?? scratchDir('test');
    this.dispose = () => removeStateRoot(this.root, options.dispose);
    this.cgroupParent = `tocker-test-${process.pid}${options.name === undefined ? '' : `-${options.name}`}`;
    this.resolvConf = withoutHostResolvers(this.root);
    this.env = {
      ...process.env,
      TOCKER_ROOT: this.root,
      TOCKER_CGROUP_PARENT: this.cgroupParent,
      TOCKER_RESOLV_CONF: this.resolvConf,
    };
    process.env.TOCKER_ROOT = this.root;
    process.env.TOCKER_CGROUP_PARENT = this.cgroupParent;
  }

  /** The library on this world's root, as the CLI opens it. */
  runtime(): Runtime {
    return Runtime.open({ root: this.root, cgroupParent: this.cgroupParent });
  }

  cgroupDirs(): string[] {
    return detectCgroupDriver({ parent: this.cgroupParent }).parentDirs.filter((dir) =>
      existsSync(dir),
    );
  }

  /** Host pids of live processes whose root directory lies in this test's state root. */
  processesInside(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/root`).startsWith(this.root)) pids.push(Number(entry));
      } catch {
        // Gone, or a kernel thread.
      }
    }
    return pids;
  }

  async check(): Promise<void> {
    const running = this.runtime()
      .list()
      .filter((record) => record.status !== 'exited')
      .map((record) => record.id);
    assert.deepEqual(running, [], 'containers still running');
    assert.deepEqual(this.cgroupDirs(), [], 'cgroups left behind');
    assert.deepEqual(this.processesInside(), [], 'processes left behind');
    const inside = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((mount) =>
      mount.mountPoint.startsWith(`${this.root}/`),
    );
    assert.deepEqual(inside, [], 'mounts left on the host');
  }

  /** Removes every container (killing what runs), then checks, then deletes the root. */
  async cleanup(): Promise<void> {
    try {
      const runtime = this.runtime();
      const { records, corrupt } = runtime.scan();
      for (const { id } of [...records, ...corrupt]) await runtime.remove(id, { force: true });
      await runtime.close();
      await this.check();
    } finally {
      this.dispose();
    }
  }
}

export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The transitions log of `root`, checked: for every container, each of created, started,
 * exited and removed at most once and in that order (pauses and network changes may come
 * between them); returns the kinds per container id, limit updates aside.
 */
export function transitionsByContainer(root: string): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  let text = '';
  try {
    text = readFileSync(join(root, 'transitions.jsonl'), 'utf8');
  } catch {
    return byId;
  }
  for (const { kind, container } of parseJsonLines(text, containerTransitionSchema, '{"at":')
    .values) {
    if (kind === 'limits-updated') continue;
    const kinds = byId.get(container.id) ?? [];
    kinds.push(kind);
    byId.set(container.id, kinds);
  }
  const order = ['created', 'started', 'exited', 'removed'];
  for (const [id, kinds] of byId) {
    const positions = kinds.map((kind) => order.indexOf(kind)).filter((position) => position >= 0);
    assert.ok(
      positions.every((position, index) => index === 0 || position > (positions[index - 1] ?? -1)),
      `transitions of ${id.slice(0, 12)} once each and in order: ${kinds.join(', ')}`,
    );
  }
  return byId;
}
