import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CgroupDriver,
  type CgroupStats,
  type ContainerCgroup,
  detectCgroupDriver,
} from './cgroups/index.js';
import { Container, type CreateOptions, concludeContainer } from './container.js';
import { type ContainerStdio, prepareExec } from './container-process.js';
import { TockerError } from './errors.js';
import { containerEnvironment } from './exec.js';
import { assertForkable, forkIntoNamespacesOf } from './namespaces.js';
import { tockerRoot } from './paths.js';
import { isAlive, processStartTime } from './proc.js';
import { waitForChild } from './reaper.js';
import type { ContainerLimits, ContainerSpec } from './spec.js';
import { type ContainerRecord, type LogArchiveOptions, StateStore } from './state.js';
import { decodeWaitStatus, kill } from './sys/libc.js';

export interface ExecOptions {
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Default: the container's working directory. */
  readonly workdir?: string;
  readonly tty?: boolean;
}

export interface ExecProcess {
  /** On the host. */
  readonly pid: number;
  wait(): Promise<{ exitCode: number | null; signal: number | null }>;
  kill(signal: number): void;
}

export interface RuntimeOptions {
  /** Where state, logs and writable layers live (default TOCKER_ROOT or /var/lib/tocker). */
  readonly root?: string;
  /** Parent cgroup of all containers (default TOCKER_CGROUP_PARENT or "tocker"). */
  readonly cgroupParent?: string;
  /** How much of removed containers' logs is kept (default: the last MiB of the last 500). */
  readonly logArchive?: LogArchiveOptions;
}

/**
 * The library API: what the CLI and the agent use. Containers are created (and then
 * supervised) by the calling process; every other operation works on any container of
 * the same root, whichever process supervises it.
 */
export class Runtime {
  private constructor(
    readonly store: StateStore,
    readonly cgroups: CgroupDriver,
  ) {}

  /** Opens the state root and collects what crashed tocker processes left behind. */
  static open(options: RuntimeOptions = {}): Runtime {
    if (process.getuid?.() !== 0) throw new TockerError('tocker must run as root');
    const runtime = new Runtime(
      new StateStore(options.root ?? tockerRoot(), options.logArchive),
      detectCgroupDriver(
        options.cgroupParent === undefined ? {} : { parent: options.cgroupParent },
      ),
    );
    runtime.collectLeftovers();
    return runtime;
  }

  /** Creates a container supervised by this process; call start() on the result. */
  create(spec: ContainerSpec, options: CreateOptions): Promise<Container> {
    assertForkable();
    return Container.create(spec, options, { store: this.store, cgroups: this.cgroups });
  }

  /**
   * Becomes the supervisor of the detached containers whose supervisor died (the agent
   * after a restart): they keep running, and their end is recorded by this process.
   */
  adoptOrphans(): Container[] {
    const orphans = this.store
      .list()
      .filter(
        (record) => record.detached && record.status === 'running' && !isAlive(record.supervisor),
      );
    return orphans.flatMap((record) => {
      try {
        if (isAlive(record.process))
          return [Container.adopt(record, { store: this.store, cgroups: this.cgroups })];
      } catch {
        // Its cgroup is gone: nothing left to supervise.
      }
      this.collect(record, DIED_UNSUPERVISED);
      return [];
    });
  }

  /**
   * Stops a container if it runs, then starts it again with the same spec, id, name and
   * writable layer (as docker restart), supervised by this process.
   */
  async restart(
    reference: string,
    options: CreateOptions,
    timeoutSeconds = 10,
  ): Promise<Container> {
    const record = this.store.resolve(reference);
    if (record.status !== 'exited') await this.stop(record.id, timeoutSeconds);
    const exited = this.store.read(record.id);
    if (exited === null)
      throw new TockerError(`container ${short(record)} was removed when it stopped (--rm)`);
    const container = await Container.create(
      exited.spec,
      options,
      { store: this.store, cgroups: this.cgroups },
      exited,
    );
    await container.start();
    return container;
  }

  /** create() + start(): resolves once the user's program runs. */
  async run(spec: ContainerSpec, options: CreateOptions): Promise<Container> {
    const container = await this.create(spec, options);
    await container.start();
    return container;
  }

  /**
   * A new process in a running container: its namespaces, its cgroups, its environment
   * (plus `env`), as a child of this process.
   */
  exec(reference: string, options: ExecOptions, stdio: ContainerStdio): ExecProcess {
    const record = this.running(reference);
    if (!isAlive(record.process))
      throw new TockerError(`container ${short(record)} is not running`);
    const procsFds = this.cgroups.open(record.id).procsFiles.map((file) => openSync(file, 'w'));
    try {
      const env = containerEnvironment(
        { ...record.spec, tty: options.tty ?? false, env: { ...record.spec.env, ...options.env } },
        record.hostname,
      );
      const pid = forkIntoNamespacesOf(record.process.pid, () =>
        prepareExec({
          command: options.command,
          env,
          workdir: options.workdir ?? record.spec.workdir,
          stdio,
          cgroupProcsFds: procsFds,
        }),
      );
      const exited = waitForChild(pid).then((status) =>
        status === null ? { exitCode: null, signal: null } : decodeWaitStatus(status),
      );
      return { pid, wait: () => exited, kill: (signal) => kill(pid, signal) };
    } finally {
      for (const fd of procsFds) closeSync(fd);
    }
  }

  list(): ContainerRecord[] {
    return this.store.list();
  }

  inspect(reference: string): ContainerRecord {
    return this.store.resolve(reference);
  }

  /**
   * A piece of a container's output (from byte `from`, or the last `tail` bytes) and
   * whether more may come. A removed container is found by its full id only (names and
   * id prefixes get reused): its archived log, the tail kept when it was removed.
   */
  logs(
    reference: string,
    range: { from?: number; tail?: number },
  ): { text: string; next: number; running: boolean } {
    let record: ContainerRecord;
    try {
      record = this.store.resolve(reference);
    } catch (error) {
      if (!this.store.hasArchivedLog(reference)) throw error;
      return { ...this.store.readLog(reference, range), running: false };
    }
    return { ...this.store.readLog(record.id, range), running: record.status !== 'exited' };
  }

  kill(reference: string, signal: number = constants.signals.SIGKILL): void {
    const record = this.running(reference);
    if (!isAlive(record.process))
      throw new TockerError(`container ${short(record)} is not running`);
    kill(record.process.pid, signal);
  }

  /** SIGTERM, then SIGKILL after the timeout: a PID-1 shell ignores SIGTERM. */
  async stop(reference: string, timeoutSeconds = 10): Promise<ContainerRecord> {
    const record = this.store.resolve(reference);
    if (record.status !== 'running') return record;
    this.kill(record.id, constants.signals.SIGTERM);
    if (!(await this.waitForExit(record.id, timeoutSeconds * 1000))) {
      this.kill(record.id, constants.signals.SIGKILL);
      if (!(await this.waitForExit(record.id, 10_000))) {
        throw new TockerError(`container ${short(record)} did not exit after SIGKILL`);
      }
    }
    return this.store.read(record.id) ?? { ...record, status: 'exited' };
  }

  /** Removes an exited container (with force: kills it first). */
  async remove(reference: string, options: { force?: boolean } = {}): Promise<void> {
    let record = this.store.resolve(reference);
    if (record.status !== 'exited') {
      if (!options.force) {
        throw new TockerError(
          `container ${short(record)} is ${record.status}: stop it first or use rm -f`,
        );
      }
      if (isAlive(record.process)) kill(record.process.pid, constants.signals.SIGKILL);
      if (!(await this.waitForExit(record.id, 10_000))) {
        this.collect(record, 'removed while its supervisor was unresponsive');
      }
      record = this.store.read(record.id) ?? record;
    }
    this.store.remove(record);
    this.store.logTransition('removed', record);
  }

  /** Live usage; a created container already has its (empty) cgroup. */
  stats(reference: string): CgroupStats {
    const record = this.store.resolve(reference);
    if (record.status === 'exited')
      throw new TockerError(`container ${short(record)} is not running`);
    return this.cgroups.open(record.id).stats();
  }

  /** Changes the limits of a running container in place. */
  updateLimits(reference: string, limits: ContainerLimits): ContainerRecord {
    const record = this.running(reference);
    this.cgroups.open(record.id).setLimits(limits);
    const updated = {
      ...record,
      spec: { ...record.spec, limits: { ...record.spec.limits, ...limits } },
    };
    this.store.write(updated);
    this.store.logTransition('limits-updated', updated);
    return updated;
  }

  /**
   * Containers whose supervisor died (a SIGKILLed CLI) are killed if still there, their
   * cgroups removed and their end recorded; cgroups and staging directories that belong to
   * no container are removed. Every tocker command starts with this.
   */
  collectLeftovers(): void {
    const known = new Set<string>();
    for (const record of this.store.list()) {
      known.add(record.id);
      if (record.status === 'exited' || isAlive(record.supervisor)) continue;
      // A detached container that still runs waits for its next supervisor (adopt()).
      if (record.detached && record.status === 'running' && isAlive(record.process)) continue;
      this.collect(record, record.detached ? DIED_UNSUPERVISED : SUPERVISOR_LOST);
    }
    for (const name of this.cgroups.list()) {
      if (!known.has(name)) this.removeCgroup(name);
    }
    this.store.removeAbandonedStaging((pid) => processStartTime(pid) !== null);
  }

  /**
   * Ends a container whose supervisor is gone. If it still runs (a foreground container
   * that outlived its CLI) it is killed, which is then its known end; if it was already
   * gone, its exit was not observed.
   */
  private collect(record: ContainerRecord, reason: string): void {
    let killed = false;
    if (isAlive(record.process)) {
      try {
        kill(record.process.pid, constants.signals.SIGKILL);
        killed = true;
      } catch {
        // Exited in the meantime.
      }
    }
    let cgroup: ContainerCgroup | null = null;
    try {
      cgroup = this.cgroups.open(record.id);
    } catch {
      // Already removed.
    }
    const exit = killed
      ? { exitCode: 137, signal: constants.signals.SIGKILL }
      : { exitCode: null, signal: null };
    concludeContainer(record, cgroup, this.store, exit, reason);
  }

  private removeCgroup(name: string): void {
    try {
      const cgroup = this.cgroups.open(name);
      cgroup.killAll();
      cgroup.remove();
    } catch {
      // Left for the next collection; nothing else depends on it.
    }
  }

  private running(reference: string): ContainerRecord {
    const record = this.store.resolve(reference);
    if (record.status !== 'running')
      throw new TockerError(`container ${short(record)} is not running`);
    return record;
  }

  /** True once the container has exited (or was removed by --rm); false on timeout. */
  private async waitForExit(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const record = this.store.read(id);
      if (record === null || record.status === 'exited') return true;
      if (!isAlive(record.supervisor)) {
        this.collect(record, SUPERVISOR_LOST);
        return true;
      }
      if (Date.now() >= deadline) return false;
      await sleep(20);
    }
  }
}

const SUPERVISOR_LOST = 'its supervisor (the tocker process that ran it) was killed';
const DIED_UNSUPERVISED = 'it ended while no supervisor was watching (exit code unknown)';

function short(record: ContainerRecord): string {
  return record.name ?? record.id.slice(0, 12);
}
