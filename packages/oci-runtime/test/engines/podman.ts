// A podman of one test file's own, driving one OCI runtime: its storage, run and temporary
// directories, events and containers.conf all in one scratch directory (podman pins
// --tmpdir in its database on first use, so they are given from the first call), and its
// cgroups under a parent named after the test process, which the sweep of a killed run
// (scripts/sweep-tests.mjs) recognises.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../../runtime/test/helpers.js';
import { scratchDir } from '../../../runtime/test/scratch.js';
import { Terminal } from '../../../runtime/test/terminal.js';
import {
  type CommandResult,
  cgroupChildren,
  cgroupDirs,
  mountsBelow,
  removeCgroups,
  runChecked,
  runCommand,
  unmountBelow,
} from './host.js';
import { BUSYBOX, busyboxArchive } from './image.js';
import { LoggedRuntime, type OciRuntime } from './runtimes.js';

/** What podman left of its containers on the host (all empty when it cleaned up). */
export interface PodmanLeftovers {
  containers: string[];
  mounts: string[];
  cgroups: string[];
  runtimeState: string[];
  conmons: string[];
}

export class Podman {
  readonly dir: string;
  readonly runtime: LoggedRuntime;
  /** Absolute from each hierarchy's root: conmon goes to its `conmon`, containers to `libpod-<id>`. */
  readonly cgroupParent = `/tocker-test-${process.pid}-podman`;
  private readonly env: NodeJS.ProcessEnv;

  /** What podman is given as --runtime: the logging front, or (for timings) the runtime itself. */
  private readonly runtimePath: string;

  private constructor(runtime: OciRuntime, logCalls: boolean) {
    this.dir = scratchDir('podman');
    this.runtime = new LoggedRuntime(runtime, this.dir);
    this.runtimePath = logCalls ? this.runtime.path : runtime.path;
    const conf = join(this.dir, 'containers.conf');
    writeFileSync(
      conf,
      [
        '[containers]',
        'netns = "none"',
        '[network]',
        `network_config_dir = "${join(this.dir, 'networks')}"`,
        '[engine]',
        `events_logfile_path = "${join(this.dir, 'events.log')}"`,
        // podman passes --log-format=json --log F only to runtimes named here.
        'runtime_supports_json = ["crun", "runc", "tocker-runtime"]',
        '',
      ].join('\n'),
    );
    this.env = { ...process.env, CONTAINERS_CONF: conf };
  }

  /** A podman with the busybox image loaded, for `runtime` (behind the logging front by default). */
  static async open(runtime: OciRuntime, options: { logCalls?: boolean } = {}): Promise<Podman> {
    const podman = new Podman(runtime, options.logCalls ?? true);
    try {
      const archive = await busyboxArchive(podman.dir);
      await podman.checked(['load', '--input', archive]);
    } catch (error) {
      await podman.close();
      throw error;
    }
    return podman;
  }

  private globalArgs(): string[] {
    return [
      '--root',
      join(this.dir, 'root'),
      '--runroot',
      join(this.dir, 'runroot'),
      '--tmpdir',
      join(this.dir, 'tmp'),
      '--storage-driver',
      'overlay',
      '--cgroup-manager',
      'cgroupfs',
      '--events-backend',
      'file',
      '--runtime',
      this.runtimePath,
    ];
  }

  /**
   * The options every container needs here: no registry, no network, this VM's limits (its
   * bounding set lacks CAP_SYS_RESOURCE, podman's defaults ask for more), our cgroups.
   */
  private createArgs(): string[] {
    return [
      '--pull',
      'never',
      '--network',
      'none',
      '--ulimit',
      'nofile=20000:20000',
      '--ulimit',
      'nproc=4096:4096',
      '--cgroup-parent',
      this.cgroupParent,
    ];
  }

  podman(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
    return runCommand('podman', [...this.globalArgs(), ...args], { ...options, env: this.env });
  }

  checked(args: readonly string[]): Promise<string> {
    return runChecked('podman', [...this.globalArgs(), ...args], { env: this.env });
  }

  /** `podman run <options> ...` with the test image: `args` are run's own flags, then the command. */
  run(flags: readonly string[], command: readonly string[]): Promise<CommandResult> {
    return this.podman(['run', ...this.createArgs(), ...flags, BUSYBOX, ...command]);
  }

  /** `podman run -d`: the container's id. */
  async detached(flags: readonly string[], command: readonly string[]): Promise<string> {
    return (
      await this.checked(['run', '-d', ...this.createArgs(), ...flags, BUSYBOX, ...command])
    ).trim();
  }

  /** podman on a pty: `args` after the global flags. */
  terminal(args: readonly string[]): Terminal {
    return new Terminal('podman', [...this.globalArgs(), ...args], this.env);
  }

  /** `podman run` of the test image on a pty. */
  terminalRun(flags: readonly string[], command: readonly string[]): Terminal {
    return this.terminal(['run', ...this.createArgs(), ...flags, BUSYBOX, ...command]);
  }

  /** The ids the runtime was asked to create (podman's container ids). */
  createdIds(): string[] {
    return this.runtime
      .calls()
      .filter(({ argv }) => LoggedRuntime.subcommand(argv) === 'create')
      .map(({ argv }) => argv.at(-1) ?? '');
  }

  async leftovers(): Promise<PodmanLeftovers> {
    const containers = (await this.checked(['ps', '--all', '--quiet'])).split('\n').filter(Boolean);
    return {
      containers,
      mounts: mountsBelow(this.dir),
      cgroups: cgroupChildren(this.cgroupParent).filter((path) => !path.endsWith('/conmon')),
      runtimeState: this.createdIds()
        .map((id) => join(this.runtime.runtime.defaultRoot, id))
        .filter((dir) => existsSync(dir)),
      conmons: this.conmons(),
    };
  }

  /** The pids in conmon's cgroup: a conmon watches each container, and outlives it by a moment. */
  conmons(): string[] {
    const pids = cgroupDirs(join(this.cgroupParent, 'conmon')).flatMap((dir) =>
      readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean),
    );
    return [...new Set(pids)];
  }

  /** Removes every container (killing what runs), podman's storage and cgroups, the directory. */
  async close(): Promise<void> {
    try {
      await this.podman(['rm', '--all', '--force', '--time', '0']);
      // conmon outlives its container by a moment (it writes the exit file and runs cleanup).
      await waitFor('conmon to exit', () => (this.conmons().length === 0 ? true : undefined));
      await unmountBelow(this.dir);
      removeCgroups(this.cgroupParent);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
