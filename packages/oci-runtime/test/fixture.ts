/**
 * Containers made the way tocker-runtime's create will make them, for the front end's tests
 * and bench while the real create is not built: the state written by src/state.ts, a real
 * exec.fifo, real v1 cgroups under a parent of this process, and an init that joins them and
 * blocks opening the fifo for writing, then execs sleep. The inits are this process's
 * children, so they are reaped.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { identify } from '@tocker/runtime';
import { FIFO_FILE, type OciStateRecord, stateDirectory, writeStateRecord } from '../src/state.js';

export const RUNTIME_BINARY = fileURLToPath(new URL('../dist/tocker-runtime', import.meta.url));
/** Two v1 hierarchies (this host is hybrid): the freezer for pause, pids for a second one. */
const CONTROLLERS = ['freezer', 'pids'];

/**
 * The init, as the shim's OCI mode will behave: in its cgroups before it reports ready,
 * then blocked in open(exec.fifo, O_WRONLY) until start; one byte, then the user's process.
 * With CHILD set, that process leaves a second one behind in the cgroups. With NOFIFO, it
 * never opens the fifo and ends after a moment (an init that dies before start).
 */
export const INIT = `
fifo=$1; shift
for dir in "$@"; do echo $$ > "$dir/cgroup.procs"; done
echo ready
if [ -n "$NOFIFO" ]; then sleep 0.3; exit 1; fi
printf x > "$fifo"
if [ -n "$CHILD" ]; then sleep 1000 & fi
exec sleep 1000
`;

export interface Fixture {
  readonly id: string;
  readonly pid: number;
  readonly cgroups: readonly string[];
}

export interface FixtureOptions {
  readonly hooks?: OciStateRecord['hooks'];
  readonly annotations?: Record<string, string>;
  readonly env?: Record<string, string>;
  readonly ownPidNamespace?: boolean;
}

export interface RuntimeResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function removeCgroupTree(dir: string): void {
  for (let attempt = 0; attempt < 100 && existsSync(dir); attempt++) {
    for (const child of readdirSync(dir, { withFileTypes: true }))
      if (child.isDirectory()) removeCgroupTree(join(dir, child.name));
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    try {
      rmdirSync(dir);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

export class FixtureHost {
  /** Named (tocker-NAME-PID-…) so that scripts/sweep-tests.mjs removes it after a killed run. */
  readonly scratch: string;
  readonly root: string;
  readonly #cgroupParent: string;
  readonly #inits: ChildProcess[] = [];
  #fixtures: Fixture[] = [];

  constructor(name: string) {
    this.scratch = mkdtempSync(join(tmpdir(), `tocker-${name}-${process.pid}-`));
    this.root = join(this.scratch, 'root');
    this.#cgroupParent = `tocker-test-${process.pid}-${name.replace(/[^a-z]/g, '')}`;
    for (const controller of CONTROLLERS)
      mkdirSync(join('/sys/fs/cgroup', controller, this.#cgroupParent));
  }

  runtime(...args: string[]): RuntimeResult {
    const result = spawnSync(RUNTIME_BINARY, ['--root', this.root, ...args], { encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** What create makes before its init: the cgroups, the state directory and exec.fifo. */
  prepare(id: string): { cgroups: string[]; fifo: string } {
    const cgroups = CONTROLLERS.map((controller) =>
      join('/sys/fs/cgroup', controller, this.#cgroupParent, id),
    );
    for (const dir of cgroups) mkdirSync(dir);
    const dir = stateDirectory(this.root, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fifo = join(dir, FIFO_FILE);
    execFileSync('mkfifo', ['-m', '0622', fifo]);
    return { cgroups, fifo };
  }

  /** What create writes once its init is in its cgroups. */
  record(
    id: string,
    pid: number,
    cgroups: readonly string[],
    options: FixtureOptions = {},
  ): Fixture {
    const identity = identify(pid);
    if (identity === null) throw new Error('the fixture init is gone');
    writeStateRecord(this.root, {
      ociVersion: '1.0.2',
      id,
      bundle: this.scratch,
      rootfs: join(this.scratch, 'rootfs'),
      created: new Date().toISOString(),
      annotations: options.annotations ?? {},
      init: identity,
      cgroups: { version: 1, paths: cgroups, freezer: cgroups[0] ?? null },
      ownPidNamespace: options.ownPidNamespace ?? false,
      hooks: options.hooks ?? { poststart: [], poststop: [] },
    });
    const fixture = { id, pid: identity.pid, cgroups };
    this.#fixtures.push(fixture);
    return fixture;
  }

  async create(id: string, options: FixtureOptions = {}): Promise<Fixture> {
    const { cgroups, fifo } = this.prepare(id);
    const init = spawn('sh', ['-c', INIT, 'init', fifo, ...cgroups], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH, ...options.env },
    });
    this.#inits.push(init);
    await new Promise<void>((resolve, reject) => {
      init.stdout?.once('data', () => resolve());
      init.once('exit', () => reject(new Error('the fixture init ended before it was ready')));
    });
    return this.record(id, init.pid ?? 0, cgroups, options);
  }

  /** The containers made since the last call, deleted where a failure left them. */
  deleteLeftovers(): void {
    for (const fixture of this.#fixtures.splice(0))
      if (existsSync(stateDirectory(this.root, fixture.id)))
        this.runtime('delete', '--force', fixture.id);
  }

  dispose(): void {
    this.deleteLeftovers();
    for (const init of this.#inits) init.kill('SIGKILL');
    for (const controller of CONTROLLERS) {
      const parent = join('/sys/fs/cgroup', controller, this.#cgroupParent);
      // Frozen tasks die only once thawed.
      if (controller === 'freezer' && existsSync(parent))
        for (const child of readdirSync(parent, { withFileTypes: true }))
          if (child.isDirectory())
            writeFileSync(join(parent, child.name, 'freezer.state'), 'THAWED');
      removeCgroupTree(parent);
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }
}
