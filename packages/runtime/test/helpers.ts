import assert from 'node:assert/strict';
import { type SpawnOptions, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerTransitionSchema, parseJsonLines } from '@tocker/protocol';
import { detectCgroupDriver, parseMountinfo } from '../src/cgroups/index.js';
import { prepareDefaultImage } from '../src/image.js';

export const tockerBin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tocker.cjs');
export const image = prepareDefaultImage();

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

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

  private readonly dispose: () => void;

  /**
   * `root`: a directory of the test's own (e.g. a small tmpfs), then `dispose` removes it;
   * `name` tells the roots of one test file apart.
   */
  constructor(options: { root?: string; name?: string; dispose?: () => void } = {}) {
    this.root = options.root ?? mkdtempSync(join(tmpdir(), 'tocker-test-'));
    this.dispose = options.dispose ?? (() => rmSync(this.root, { recursive: true, force: true }));
    this.cgroupParent = `tocker-test-${process.pid}${options.name === undefined ? '' : `-${options.name}`}`;
    this.env = { ...process.env, TOCKER_ROOT: this.root, TOCKER_CGROUP_PARENT: this.cgroupParent };
    process.env.TOCKER_ROOT = this.root;
    process.env.TOCKER_CGROUP_PARENT = this.cgroupParent;
  }

  /** Runs the real CLI (the bundled bin, as users do) to completion. */
  run(
    args: readonly string[],
    options: SpawnOptions & { input?: string; timeoutMs?: number } = {},
  ): Promise<Result> {
    const child = spawn(tockerBin, args, {
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin?.end(options.input ?? '');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`tocker ${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
      }, options.timeoutMs ?? 30_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
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
    const ps = await this.run(['ps', '-q']);
    assert.equal(ps.stdout, '', `containers still running: ${ps.stdout}`);
    assert.deepEqual(this.cgroupDirs(), [], 'cgroups left behind');
    assert.deepEqual(this.processesInside(), [], 'processes left behind');
    const inside = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((mount) =>
      mount.mountPoint.startsWith(`${this.root}/`),
    );
    assert.deepEqual(inside, [], 'mounts left on the host');
  }

  /** Removes every container (killing what runs), then checks, then deletes the root. */
  async cleanup(): Promise<void> {
    const all = await this.run(['ps', '-aq']);
    const ids = all.stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await this.run(['rm', '-f', ...ids]);
    try {
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
 * exited and removed at most once and in that order; returns the kinds per container id.
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
    const positions = kinds.map((kind) => order.indexOf(kind));
    assert.ok(
      positions.every((position, index) => index === 0 || position > (positions[index - 1] ?? -1)),
      `transitions of ${id.slice(0, 12)} once each and in order: ${kinds.join(', ')}`,
    );
  }
  return byId;
}
