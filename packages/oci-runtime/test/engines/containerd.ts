// A containerd daemon of one test file's own (root, state, sockets, logs in one scratch
// directory; the CRI plugin and every listener but its unix sockets off), driven with ctr
// in a namespace named after the test process: containers' cgroups are /<namespace>/<id>,
// which the sweep of a killed run (scripts/sweep-tests.mjs) recognises, as it recognises
// the daemon and its shims by the scratch directory on their command lines.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../../runtime/test/helpers.js';
import { scratchDir } from '../../../runtime/test/scratch.js';
import { Terminal } from '../../../runtime/test/terminal.js';
import {
  type CommandResult,
  cgroupChildren,
  mountsBelow,
  removeCgroups,
  runChecked,
  runCommand,
  unmountBelow,
} from './host.js';
import { BUSYBOX, busyboxArchive } from './image.js';
import type { LoggedRuntime } from './runtimes.js';

/** Where containerd 1.6 puts its shims' sockets, whatever its configuration says. */
const SHIM_SOCKETS = '/run/containerd/s';

/** What containerd left of its containers on the host (all empty when it cleaned up). */
export interface ContainerdLeftovers {
  tasks: string[];
  containers: string[];
  mounts: string[];
  cgroups: string[];
  runtimeState: string[];
}

export class Containerd {
  readonly dir = scratchDir('containerd');
  readonly namespace = `tocker-test-${process.pid}-ctd`;
  private readonly address = join(this.dir, 'containerd.sock');
  private readonly runtimeRoot = join(this.dir, 'runtime-root');
  /** The runtime's --root as the runc-v2 shim gives it: the Root option, then the namespace. */
  get runtimeStateRoot(): string {
    return join(this.runtimeRoot, this.namespace);
  }
  private daemon: ChildProcess | undefined;

  /** A running daemon with the busybox image imported. */
  static async start(): Promise<Containerd> {
    const containerd = new Containerd();
    try {
      await containerd.startDaemon();
      await containerd.checked(['images', 'import', await busyboxArchive(containerd.dir)]);
    } catch (error) {
      await containerd.close();
      throw error;
    }
    return containerd;
  }

  private async startDaemon(): Promise<void> {
    const config = join(this.dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${join(this.dir, 'root')}"`,
        `state = "${join(this.dir, 'state')}"`,
        // The CRI plugin would set up networking and listen for the kubelet.
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${this.address}"`,
        '[ttrpc]',
        `  address = "${this.address}.ttrpc"`,
        '[debug]',
        '  address = ""',
        '[metrics]',
        '  address = ""',
        '',
      ].join('\n'),
    );
    const log = openSync(join(this.dir, 'containerd.log'), 'a');
    try {
      this.daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    const daemon = this.daemon;
    await waitFor('containerd to answer', async () => {
      if (daemon.exitCode !== null) throw new Error(`containerd exited ${daemon.exitCode}`);
      return (await this.ctr(['version'])).code === 0 ? true : undefined;
    });
  }

  ctr(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CommandResult> {
    return runCommand(
      'ctr',
      ['--address', this.address, '--namespace', this.namespace, ...args],
      options,
    );
  }

  checked(args: readonly string[]): Promise<string> {
    return runChecked('ctr', ['--address', this.address, '--namespace', this.namespace, ...args]);
  }

  /**
   * The options that make `ctr run` use `runtime`: --runc-binary is the runc-v2 shim's
   * BinaryName option (the one a Kubernetes node's runtime entry sets), --runc-root its Root
   * (the runtime's --root), and the IO fifos in our directory.
   */
  runtimeArgs(runtime: LoggedRuntime): string[] {
    return [
      '--runc-binary',
      runtime.path,
      '--runc-root',
      this.runtimeRoot,
      '--fifo-dir',
      join(this.dir, 'fifo'),
    ];
  }

  /** `ctr run <runtime options> <flags> busybox <id> <command>`. */
  run(
    runtime: LoggedRuntime,
    flags: readonly string[],
    id: string,
    command: readonly string[],
  ): Promise<CommandResult> {
    return this.ctr(['run', ...this.runtimeArgs(runtime), ...flags, BUSYBOX, id, ...command]);
  }

  /** ctr on a pty: `args` after the global flags. */
  terminal(args: readonly string[]): Terminal {
    return new Terminal(
      'ctr',
      ['--address', this.address, '--namespace', this.namespace, ...args],
      process.env,
    );
  }

  /** `ctr task ls`: the status of each task by id. */
  async tasks(): Promise<Map<string, { pid: number; status: string }>> {
    const rows = (await this.checked(['task', 'ls'])).split('\n').slice(1).filter(Boolean);
    return new Map(
      rows.map((row) => {
        const [id = '', pid = '', status = ''] = row.trim().split(/\s+/);
        return [id, { pid: Number(pid), status }];
      }),
    );
  }

  async leftovers(): Promise<ContainerdLeftovers> {
    return {
      tasks: [...(await this.tasks()).keys()],
      containers: (await this.checked(['containers', 'ls', '--quiet'])).split('\n').filter(Boolean),
      mounts: mountsBelow(this.dir),
      cgroups: cgroupChildren(`/${this.namespace}`),
      // Containers' state (a compiler's socket, dotted, is not one).
      runtimeState: existsSync(this.runtimeStateRoot)
        ? readdirSync(this.runtimeStateRoot).filter((name) => !name.startsWith('.'))
        : [],
    };
  }

  /** Ends every task, the daemon and its shims; unmounts, removes the cgroups and the directory. */
  async close(): Promise<void> {
    try {
      if (this.daemon?.exitCode === null) {
        for (const id of (await this.tasks()).keys()) {
          await this.ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id]);
          await this.ctr(['task', 'delete', '--force', id]);
        }
        for (const id of (await this.leftovers()).containers)
          await this.ctr(['containers', 'rm', id]);
        const daemon = this.daemon;
        const exited = new Promise((resolve) => daemon.once('exit', resolve));
        daemon.kill('SIGTERM');
        await exited;
      }
      await killShimsOf(this.dir);
      await unmountBelow(this.dir);
      removeCgroups(`/${this.namespace}`);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      // Shared with any other containerd on the host: removed only when nobody has a socket there.
      for (const dir of [SHIM_SOCKETS, '/run/containerd'])
        try {
          rmdirSync(dir);
        } catch {}
    }
  }
}

/** Shims (and whatever else) still running with our directory on their command line. */
async function killShimsOf(dir: string): Promise<void> {
  const ours = () =>
    readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${dir}/`);
        } catch {
          return false;
        }
      });
  for (const pid of ours()) process.kill(Number(pid), 'SIGKILL');
  await waitFor('the shims to exit', () => (ours().length === 0 ? true : undefined));
}
