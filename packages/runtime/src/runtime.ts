import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CgroupDriver, type CgroupStats, detectCgroupDriver } from './cgroups/index.js';
import { Container, type CreateOptions } from './container.js';
import { TockerError } from './errors.js';
import { assertForkable } from './namespaces.js';
import { tockerRoot } from './paths.js';
import { isAlive, processStartTime } from './proc.js';
import type { ContainerLimits, ContainerSpec } from './spec.js';
import { type ContainerRecord, StateStore } from './state.js';
import { kill } from './sys/libc.js';

export interface RuntimeOptions {
  /** Where state, logs and writable layers live (default TOCKER_ROOT or /var/lib/tocker). */
  readonly root?: string;
  /** Parent cgroup of all containers (default TOCKER_CGROUP_PARENT or "tocker"). */
  readonly cgroupParent?: string;
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
      new StateStore(options.root ?? tockerRoot()),
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

  /** create() + start(): resolves once the user's program runs. */
  async run(spec: ContainerSpec, options: CreateOptions): Promise<Container> {
    const container = await this.create(spec, options);
    await container.start();
    return container;
  }

  list(): ContainerRecord[] {
    return this.store.list();
  }

  inspect(reference: string): ContainerRecord {
    return this.store.resolve(reference);
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
      if (record.status !== 'exited' && !isAlive(record.supervisor)) {
        this.collect(record, SUPERVISOR_LOST);
      }
    }
    for (const name of this.cgroups.list()) {
      if (!known.has(name)) this.removeCgroup(name);
    }
    this.store.removeAbandonedStaging((pid) => processStartTime(pid) !== null);
  }

  private collect(record: ContainerRecord, reason: string): void {
    if (isAlive(record.process)) {
      try {
        kill(record.process.pid, constants.signals.SIGKILL);
      } catch {
        // Exited in the meantime.
      }
    }
    let oomKilled = false;
    try {
      oomKilled = this.cgroups.open(record.id).stats().oomKills > 0;
    } catch {
      // The cgroup is already gone.
    }
    this.removeCgroup(record.id);
    const collected: ContainerRecord = {
      ...record,
      status: 'exited',
      finishedAt: new Date().toISOString(),
      exitCode: record.exitCode ?? 137,
      signal: record.signal ?? constants.signals.SIGKILL,
      oomKilled,
      error: reason,
    };
    if (record.spec.autoRemove) this.store.remove(collected);
    else this.store.write(collected);
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

function short(record: ContainerRecord): string {
  return record.name ?? record.id.slice(0, 12);
}
