import { openSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerLimits, RequestedEnd } from '@tocker/protocol/vocabulary';
import {
  type CgroupDriver,
  type CgroupStats,
  type ContainerCgroup,
  detectCgroupDriver,
} from './cgroups/index.js';
import { configure, type RootfsPolicy } from './config/configure.js';
import type { ImageRoot } from './config/image.js';
import { type RuntimeConfig, withLimits } from './config/runtime-config.js';
import {
  Container,
  type ContainerDeps,
  type CreateOptions,
  conclude,
  readExitFile,
  updateReleasing,
} from './container.js';
import { TockerError } from './errors.js';
import { connectContainer, disconnectContainer } from './network/connect.js';
import { NetworkStore, publishes, reconcileHostNetworks } from './network/index.js';
import { tockerRoot } from './paths.js';
import { execPlan } from './plans.js';
import { isAlive, processStartTime } from './proc.js';
import { SeccompProfiles } from './security/seccomp.js';
import { Shim, ShimStandby } from './shim/shim.js';
import type { ContainerSpec } from './spec.js';
import type { LogArchiveOptions } from './state/logs.js';
import type { ContainerRecord, CorruptRecord } from './state/record.js';
import { writingTo } from './state/storage.js';
import { type Change, type Discard, StateStore } from './state/store.js';
import { close, decodeWaitStatus, kill, pidfdOpen } from './sys/libc.js';
import { UserNamespaceRanges } from './userns/ranges.js';
import { VolumeStore } from './volumes.js';

export interface ExecOptions {
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Default: the container's working directory. */
  readonly workdir?: string;
  readonly tty?: boolean;
}

/** Where an exec'd process's stdio goes: relayed by its shim, or a pty slave. */
export type ExecIo =
  | {
      readonly kind: 'relay';
      readonly stdin: number | null;
      readonly stdout: number;
      readonly stderr: number;
    }
  | { readonly kind: 'terminal'; readonly slave: number };

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
  /**
   * Keep one shim started ahead (a process that starts containers one after another, as
   * the agent does): a start or an exec then hands it its plan instead of spawning one.
   * Not for a process that starts one container and ends (the CLI). close() ends it.
   */
  readonly keepShimReady?: boolean;
  /** How removed containers' directories are deleted (default 'background'; see Discard). */
  readonly discard?: Discard;
}

/**
 * The library API: what the CLI and the agent use. Containers are created (and then
 * supervised) by the calling process; every other operation works on any container of
 * the same root, whichever process supervises it.
 */
export class Runtime {
  /** The seccomp profiles of this root's containers, by digest. */
  readonly profiles: SeccompProfiles;
  /** Named volumes of this state root. */
  readonly volumes: VolumeStore;
  /** The networks of this state root, their address leases. */
  readonly networks: NetworkStore;
  /** The user-namespace ranges of this state root's containers (--userns=auto). */
  readonly userRanges: UserNamespaceRanges;

  private constructor(
    readonly store: StateStore,
    readonly cgroups: CgroupDriver,
    private readonly standby: ShimStandby | null,
  ) {
    this.profiles = new SeccompProfiles(join(store.root, 'seccomp'));
    this.volumes = new VolumeStore(join(store.root, 'volumes'), () => this.list());
    this.networks = new NetworkStore(join(store.root, 'networks'), store.root, () => this.list());
    this.userRanges = new UserNamespaceRanges(join(store.root, 'userns'));
  }

  /**
   * What a user asked for, as this runtime runs it: the one way to a RuntimeConfig (see
   * config/configure.ts), with its seccomp profile kept in this root. A request for an
   * image comes with that image, resolved by the caller's image store.
   */
  configure(
    spec: ContainerSpec,
    policy: RootfsPolicy,
    image: ImageRoot | null = null,
  ): RuntimeConfig {
    return writingTo(this.store.root, () =>
      configure(spec, policy, this.profiles, image, this.volumes),
    );
  }

  private get deps(): ContainerDeps {
    return {
      store: this.store,
      cgroups: this.cgroups,
      profiles: this.profiles,
      networks: this.networks,
      userRanges: this.userRanges,
      standby: this.standby,
    };
  }

  /**
   * Waits for what runs off the callers' path (deleting removed containers' files); the
   * shared cgroup parents go if no container is left in them.
   */
  close(): Promise<void> {
    this.standby?.close();
    this.cgroups.removeEmptyParents();
    return this.store.settled();
  }

  /** Opens the state root and collects what crashed tocker processes left behind. */
  static open(options: RuntimeOptions = {}): Runtime {
    if (process.getuid?.() !== 0) throw new TockerError('tocker must run as root');
    const runtime = new Runtime(
      new StateStore(options.root ?? tockerRoot(), options.logArchive, options.discard),
      detectCgroupDriver(
        options.cgroupParent === undefined ? {} : { parent: options.cgroupParent },
      ),
      options.keepShimReady === true ? new ShimStandby() : null,
    );
    runtime.collectLeftovers();
    return runtime;
  }

  /** Creates a container (supervised by its shim); call start() on the result. */
  create(config: RuntimeConfig, options: CreateOptions): Promise<Container> {
    return Container.create(config, options, this.deps);
  }

  /**
   * The running containers other processes started and left (an agent that restarted):
   * their shims record their ends; the returned containers only learn of them.
   */
  watchDetached(): Container[] {
    return this.store
      .list()
      .filter(
        (record) => record.status === 'running' && record.detached && isAlive(record.supervisor),
      )
      .map((record) => Container.watch(record, this.store, this));
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
    if (exited.status !== 'exited')
      throw new TockerError(`container ${short(record)} is ${exited.status}`);
    const container = await Container.create(exited.config, options, this.deps, {
      reuse: exited,
      startAtOnce: true,
    });
    await container.start();
    return container;
  }

  /** create() + start() in one: resolves once the user's program runs. */
  async run(config: RuntimeConfig, options: CreateOptions): Promise<Container> {
    const container = await Container.create(config, options, this.deps, { startAtOnce: true });
    await container.start();
    return container;
  }

  /**
   * A new process in a running container: its namespaces, cgroups, capabilities, seccomp
   * filter and environment (plus `env`), supervised by a shim of its own.
   */
  async exec(reference: string, options: ExecOptions, io: ExecIo): Promise<ExecProcess> {
    const record = this.running(reference);
    if (!isAlive(record.process))
      throw new TockerError(`container ${short(record)} is not running`);
    if (record.paused)
      throw new TockerError(`container ${short(record)} is paused: unpause it first`);
    const { config } = record;
    const opened: number[] = [];
    let shim: Shim;
    try {
      const pidfd = pidfdOpen(record.process.pid);
      opened.push(pidfd);
      // The pidfd names this process for good; the check rules out a pid reused before it.
      if (!isAlive(record.process))
        throw new TockerError(`container ${short(record)} is not running`);
      const cgroupProcs = this.cgroups.open(record.id).procsFiles.map((file) => {
        const fd = openSync(file, 'w');
        opened.push(fd);
        return fd;
      });
      const tty = options.tty ?? false;
      const plan = execPlan({
        config,
        args: options.command,
        env: execEnvironment(config, record.hostname, tty, options.env ?? {}),
        cwd: options.workdir ?? config.process.cwd,
        pidfd,
        stdio:
          io.kind === 'terminal'
            ? { kind: 'terminal', slave: io.slave, keep: null }
            : { kind: 'pipes', stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, log: false },
        cgroupProcs,
        seccomp: config.linux.seccomp && this.profiles.program(config.linux.seccomp.profile),
      });
      shim = Shim.spawn(`exec-${record.id.slice(0, 12)}`, plan.steps, plan.fds, {
        standby: this.standby,
      });
    } finally {
      for (const fd of opened) close(fd);
    }
    const born = await shim.until('pid', 'error');
    if (born.kind !== 'pid') {
      await shim.until();
      throw born.kind === 'error'
        ? new TockerError(born.message, born.exitCode)
        : new TockerError('tocker-shim ended before the process started');
    }
    const exited = shim
      .until('exit')
      .then((report) =>
        report.kind === 'exit' ? decodeWaitStatus(report.status) : { exitCode: null, signal: null },
      );
    const started = await shim.until('started', 'error');
    if (started.kind !== 'started') {
      await exited;
      throw started.kind === 'error'
        ? new TockerError(started.message, started.exitCode)
        : new TockerError('tocker-shim ended before the process started');
    }
    return {
      pid: born.pid,
      wait: () => exited,
      kill: (signal) => {
        try {
          kill(born.pid, signal);
        } catch {
          // Already gone.
        }
      },
    };
  }

  list(): ContainerRecord[] {
    return this.store.list();
  }

  /** Every container, and the records that cannot be read (rm -f removes them). */
  scan(): { records: ContainerRecord[]; corrupt: CorruptRecord[] } {
    return this.store.scan();
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

  /**
   * Sends `signal` to PID 1. SIGKILL is an end the user asked for, recorded as such
   * (`requestedEnd: 'kill'`); any other signal is a message its process may answer.
   */
  kill(reference: string, signal: number = constants.signals.SIGKILL): void {
    const record = this.running(reference);
    if (!isAlive(record.process))
      throw new TockerError(`container ${short(record)} is not running`);
    const ending = signal === constants.signals.SIGKILL || signal === constants.signals.SIGTERM;
    if (record.paused && !ending)
      throw new TockerError(`container ${short(record)} is paused: unpause it first`);
    if (signal === constants.signals.SIGKILL) this.requestEnd(record.id, 'kill');
    kill(record.process.pid, signal);
    if (record.paused) this.thawForItsEnd(record.id);
  }

  /** Freezes every process of a running container (docker's pause), until unpause(). */
  pause(reference: string): ContainerRecord {
    return this.setPaused(this.running(reference).id, true);
  }

  unpause(reference: string): ContainerRecord {
    return this.setPaused(this.running(reference).id, false);
  }

  /** A frozen process acts on its end only once it runs again: a paused one is let go. */
  private thawForItsEnd(id: string): void {
    this.store.update(id, (record) => {
      if (record.status !== 'running' || !record.paused) return null;
      this.cgroups.open(id).setFrozen(false);
      return { record: { ...record, paused: false }, transitions: ['unpaused'] };
    });
  }

  private setPaused(id: string, paused: boolean): ContainerRecord {
    const updated = this.store.update(id, (record) => {
      if (record.status !== 'running')
        throw new TockerError(`container ${short(record)} is not running`);
      if (record.paused === paused)
        throw new TockerError(`container ${short(record)} is ${paused ? 'already' : 'not'} paused`);
      this.cgroups.open(id).setFrozen(paused);
      return { record: { ...record, paused }, transitions: [paused ? 'paused' : 'unpaused'] };
    });
    if (updated === null) throw new TockerError(`no such container: ${id.slice(0, 12)}`);
    return updated;
  }

  /** SIGTERM, then SIGKILL after the timeout: a PID-1 shell ignores SIGTERM. */
  async stop(reference: string, timeoutSeconds = 10): Promise<ContainerRecord> {
    const record = this.store.resolve(reference);
    if (record.status !== 'running') return record;
    this.requestEnd(record.id, 'stop');
    this.kill(record.id, constants.signals.SIGTERM);
    if (!(await this.waitForExit(record.id, timeoutSeconds * 1000))) {
      this.kill(record.id, constants.signals.SIGKILL); // still a stop: the record keeps it
      if (!(await this.waitForExit(record.id, 10_000))) {
        throw new TockerError(`container ${short(record)} did not exit after SIGKILL`);
      }
    }
    return this.store.read(record.id) ?? { ...record, status: 'exited' };
  }

  /** Written before the signal, so that whoever records the exit knows it was asked for. */
  private requestEnd(id: string, end: RequestedEnd): void {
    this.store.update(id, (current) =>
      current.status === 'running' && current.requestedEnd !== 'stop'
        ? { record: { ...current, requestedEnd: end }, transitions: [] }
        : null,
    );
  }

  /** Removes an exited container (with force: kills it first, or a damaged record). */
  async remove(reference: string, options: { force?: boolean } = {}): Promise<void> {
    const stored = this.store.resolveStored(reference);
    if (!stored.ok) {
      if (!options.force)
        throw new TockerError(
          `container ${stored.corrupt.id.slice(0, 12)} has a damaged record (${stored.corrupt.problem}): use rm -f`,
        );
      this.store.removeCorrupt(stored.corrupt.id, () => this.removeCgroup(stored.corrupt.id));
      return;
    }
    const record = stored.record;
    if (record.status !== 'exited') {
      if (!options.force) {
        throw new TockerError(
          `container ${short(record)} is ${record.status}: stop it first or use rm -f`,
        );
      }
      if (isAlive(record.process)) {
        kill(record.process.pid, constants.signals.SIGKILL);
        if (record.paused) attempt(() => this.thawForItsEnd(record.id));
      }
      if (!(await this.waitForExit(record.id, 10_000))) {
        this.collect(record.id, 'removed while its supervisor was unresponsive', 'force');
      }
    }
    const removed = updateReleasing(
      this,
      (decide) => this.store.update(record.id, decide),
      (current) => {
        if (current.status !== 'exited')
          throw new TockerError(`container ${short(current)} was started again meanwhile`);
        return { record: current, transitions: ['removed'], removal: 'archive-log' };
      },
    );
    if (removed === null) throw new TockerError(`no such container: ${reference}`);
  }

  /** Puts the container on one more network (`network connect`), with `aliases` there. */
  connect(reference: string, network: string, aliases: readonly string[] = []): ContainerRecord {
    return writingTo(this.store.root, () =>
      connectContainer(this.store, this.networks, reference, network, aliases),
    );
  }

  /** Takes the container off a network (`network disconnect`) and gives back its address. */
  disconnect(reference: string, network: string): ContainerRecord {
    return writingTo(this.store.root, () =>
      disconnectContainer(this.store, this.networks, reference, network),
    );
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
    const { id } = this.running(reference);
    const updated = this.store.update(id, (record) => {
      if (record.status !== 'running')
        throw new TockerError(`container ${short(record)} is not running`);
      this.cgroups.open(record.id).setLimits(limits);
      return {
        record: { ...record, config: withLimits(record.config, limits) },
        transitions: ['limits-updated'],
      };
    });
    if (updated === null) throw new TockerError(`no such container: ${reference}`);
    return updated;
  }

  /**
   * Records the end of a container whose creator is gone: what its shim runs (as
   * `tocker __conclude`) once the container has ended, from the exit file it wrote.
   */
  recordEnd(id: string): void {
    this.collect(id, null, 'force');
  }

  /**
   * What killed tocker processes left behind, collected at the start of every command:
   * containers whose supervisor died are killed if still there and their end recorded
   * (detached ones that still run wait for the next agent to adopt them); transitions a
   * full disk or a crash kept in an outbox are appended; cgroups and directories that
   * belong to no container are removed. It never acts on a container another live
   * process is creating or supervising (each is re-checked under its lock), and never on
   * a damaged record. Best effort: whatever fails here is retried by the next command.
   */
  collectLeftovers(): void {
    // Cgroups first: a container's directory exists before its cgroup and goes after it,
    // so a cgroup listed here whose directory is missing below can only be a leftover.
    const cgroups = attempt(() => this.cgroups.list()) ?? [];
    for (const id of attempt(() => this.store.ids()) ?? []) {
      const record = attempt(() => this.store.read(id));
      if (record != null && needsCollection(record))
        attempt(() => this.collect(id, null, 'skip-busy'));
    }
    attempt(() => this.store.flushOutboxes());
    for (const name of cgroups) {
      if (!this.store.exists(name)) this.removeCgroup(name);
    }
    attempt(() => this.cgroups.removeEmptyParents());
    attempt(() => this.store.removeAbandonedStaging((pid) => processStartTime(pid) !== null));
    // Addresses of containers removed by a process that died before it gave them back.
    attempt(() => this.networks.releaseUnless((id) => this.store.exists(id)));
    // ...and their user-namespace ranges.
    attempt(() => this.userRanges.releaseUnless((id) => this.store.exists(id)));
    attempt(() => reconcileHostNetworks());
  }

  /**
   * Ends a container whose supervisor is gone, under its lock. If it still runs (a
   * foreground container that outlived its CLI) it is killed, which is then its known
   * end. 'force': also when its supervisor lives but does not answer (rm -f).
   */
  private collect(id: string, reason: string | null, mode: 'wait' | 'skip-busy' | 'force'): void {
    const decide = (record: ContainerRecord): Change | null => {
      if (record.status === 'exited') return null;
      if (mode !== 'force' && !needsCollection(record)) return null;
      // Reserved but never set up: nobody heard of it, so it goes without a trace.
      if (record.process === null) return { record, transitions: [], removal: 'discard-log' };
      let cgroup: ContainerCgroup | null = null;
      try {
        cgroup = this.cgroups.open(record.id);
      } catch {
        // Already removed.
      }
      // Its shim wrote the wait status before it went: the end is known exactly.
      const status = readExitFile(this.store.exitFilePath(record.id));
      if (status !== null) return conclude(record, cgroup, decodeWaitStatus(status), reason).change;
      let killed = false;
      if (isAlive(record.process)) {
        try {
          kill(record.process.pid, constants.signals.SIGKILL);
          killed = true;
        } catch {
          // Exited in the meantime.
        }
      }
      // Its shim was killed before it could tell, which killed it too (PR_SET_PDEATHSIG).
      const exit = { exitCode: 137, signal: constants.signals.SIGKILL };
      const why = reason ?? (killed ? SUPERVISOR_LOST : DIED_UNSUPERVISED);
      return conclude(record, cgroup, exit, why).change;
    };
    const ended = updateReleasing(
      this,
      (checked) =>
        mode === 'skip-busy' ? this.store.tryUpdate(id, checked) : this.store.update(id, checked),
      decide,
    );
    if (ended !== null && ended !== 'busy' && publishes(ended))
      attempt(() => this.networks.refreshFirewall());
  }

  private removeCgroup(name: string): void {
    try {
      this.cgroups.open(name).destroy();
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
      if (needsCollection(record)) {
        this.collect(id, null, 'wait');
        continue;
      }
      if (Date.now() >= deadline) return false;
      await sleep(20);
    }
  }
}

/** Its shim (or, before there was one, its creator) is gone: nobody else will record its end. */
function needsCollection(record: ContainerRecord): boolean {
  return record.status !== 'exited' && !isAlive(record.supervisor);
}

/** Collection goes on past whatever one container's failure is; it is retried later. */
function attempt<T>(work: () => T): T | undefined {
  try {
    return work();
  } catch {
    return undefined;
  }
}

const SUPERVISOR_LOST = 'its shim (the process that supervised it) was killed';
const DIED_UNSUPERVISED = 'its shim was killed, and it with it';

/** The container's environment, for a process exec'd into it. */
function execEnvironment(
  config: RuntimeConfig,
  hostname: string,
  tty: boolean,
  extra: Readonly<Record<string, string>>,
): string[] {
  const env = new Map(
    config.process.env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry] as const),
  );
  env.set('HOSTNAME', `HOSTNAME=${hostname}`);
  if (tty && !env.has('TERM')) env.set('TERM', 'TERM=xterm');
  for (const [key, value] of Object.entries(extra)) env.set(key, `${key}=${value}`);
  return [...env.values()];
}

function short(record: ContainerRecord): string {
  return record.name ?? record.id.slice(0, 12);
}
