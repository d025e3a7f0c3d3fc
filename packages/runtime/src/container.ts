import { closeSync, openSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import type { PublishedPort } from '@tocker/protocol/vocabulary';
import type { CgroupDriver, CgroupStats, CgroupUsage, ContainerCgroup } from './cgroups/index.js';
import type { RuntimeConfig } from './config/runtime-config.js';
import { TockerError } from './errors.js';
import { type JoinedNamespace, openContainerNamespace, openNamespacePaths } from './namespaces.js';
import {
  holdPorts,
  joinContainerNetwork,
  joinNetworks,
  type NetworkInterface,
  type NetworkStore,
  networkViewOf,
  publishes,
  writeEtcFiles,
} from './network/index.js';
import { CONCLUDE_ENTRY, INIT_BINARY } from './paths.js';
import { type Concluder, containerPlan, type ShimStdio } from './plans.js';
import { identify, isAlive, type ProcessIdentity } from './proc.js';
import { openMountSources } from './rootfs.js';
import type { SeccompProfiles } from './security/seccomp.js';
import { Shim, type ShimReport, type ShimStandby } from './shim/shim.js';
import type { ContainerRecord } from './state/record.js';
import type { Change, StateStore } from './state/store.js';
import { randomHex } from './sys/builtins.js';
import { decodeWaitStatus, kill } from './sys/libc.js';
import { trace } from './trace.js';
import { giveToContainerRoot, prepareUserNamespace } from './userns/container.js';
import type { UserNamespaceRanges } from './userns/ranges.js';

/** Where a container's stdin, stdout and stderr go. A container never gets a host file or a caller's terminal. */
export type ContainerIo =
  /** Output relayed by its shim into container.log (detached containers), stdin at its end. */
  | { readonly kind: 'log' }
  /** Relayed by its shim to these descriptors of this process (a CLI in the foreground). */
  | {
      readonly kind: 'relay';
      readonly stdin: number | null;
      readonly stdout: number;
      readonly stderr: number;
    }
  /**
   * A pty made for it: the slave is its stdio and /dev/console. `master`, when given, is
   * also held by its shim, so that the terminal outlives this process (the agent's).
   */
  | { readonly kind: 'terminal'; readonly slave: number; readonly master: number | null };

/** What creating a container takes from its runtime. */
export interface ContainerDeps {
  readonly store: StateStore;
  readonly cgroups: CgroupDriver;
  readonly profiles: SeccompProfiles;
  readonly networks: NetworkStore;
  readonly userRanges: UserNamespaceRanges;
  /** The shim kept started ahead, in a runtime that keeps one (RuntimeOptions.keepShimReady). */
  readonly standby: ShimStandby | null;
}

export interface CreateOptions {
  readonly io: ContainerIo;
  /** Kill the container when this process goes (a CLI in the foreground). */
  readonly foreground: boolean;
}

export interface ExitStatus {
  /** null when the exit was not observed (the shim was killed before it could tell). */
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly oomKilled: boolean;
  /** CPU time, peak memory and OOM kills as the cgroup saw them just before it was removed. */
  readonly usage: CgroupUsage | null;
}

/**
 * One container, as the process that created it (or that took it over) sees it. Its
 * supervisor is its tocker-shim, which outlives this process: this process starts the
 * container, hears of its end from the shim and records it; when nobody is left to hear,
 * the shim records it itself (it becomes `tocker __conclude`). Everything else (ps, stop,
 * kill, rm from other processes) goes through the state store.
 */
export class Container {
  private readonly exited: Promise<ExitStatus>;
  private startAsked = false;

  private constructor(
    private record: ContainerRecord,
    private readonly store: StateStore,
    private readonly held: Held,
    private readonly cgroup: ContainerCgroup | null,
    private shim: Shim | null,
    status: Promise<number | null>,
  ) {
    this.exited = status.then((raw) => this.finish(raw));
  }

  /**
   * A running container created by another process (an agent that restarted): its shim
   * records its end; this one only learns of it, within a second.
   */
  static watch(record: ContainerRecord, store: StateStore, held: Held): Container {
    return new Container(record, store, held, null, null, waitForEnd(record.supervisor));
  }

  get id(): string {
    return this.record.id;
  }

  get pid(): number {
    return this.record.process?.pid ?? -1;
  }

  get state(): ContainerRecord {
    return this.record;
  }

  /**
   * Everything up to the user's program: state, cgroup with its limits and devices, the
   * shim and, in new namespaces, the root filesystem and hostname. The container's
   * process then waits for start(). `startAtOnce`: the start is asked for with the
   * creation (run), so it follows the set-up without a round trip through this process;
   * start() then only waits for the command to run.
   */
  static async create(
    requested: RuntimeConfig,
    options: CreateOptions,
    deps: ContainerDeps,
    how: {
      /** An exited container to start again (restart): same id, name and writable layer. */
      readonly reuse?: ContainerRecord;
      readonly startAtOnce?: boolean;
    } = {},
  ): Promise<Container> {
    const reuse = how.reuse ?? null;
    const startAtOnce = how.startAtOnce ?? false;
    const id = reuse?.id ?? randomHex(32); // 64 hex digits, as docker's ids
    // With a user namespace of its own, its range once it is reserved (below).
    let config = requested;
    const creator = identify(process.pid);
    if (creator === null) throw new Error('cannot read this process in /proc');
    const record: ContainerRecord = {
      id,
      name: config.request.name ?? null,
      hostname: config.hostname ?? id.slice(0, 12),
      config,
      status: 'created',
      createdAt: reuse?.createdAt ?? new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      process: null,
      // Until its shim runs, the creator answers for it: if it dies, the container is collected.
      supervisor: creator,
      detached: !options.foreground,
      usage: null,
      exitCode: null,
      signal: null,
      oomKilled: false,
      error: null,
      requestedEnd: null,
      paused: false,
      // Its address once its interface is in (below).
      network: networkViewOf(config, []),
    };
    const { store, cgroups, profiles, networks, userRanges } = deps;
    trace('create');
    if (reuse === null) store.reserve(record);
    else if (store.update(id, (current) => restartable(current, record)) === null)
      throw new TockerError(`no such container: ${id}`);
    else store.clearExitFile(id); // the last run's status is not this one's
    // A failed start leaves nothing behind; a failed restart leaves the container as it was.
    const abandon = (why: string) => {
      try {
        updateReleasing(
          deps,
          (decide) => store.update(id, decide),
          (current) =>
            reuse === null
              ? { record: current, transitions: [], removal: 'discard-log' }
              : { record: { ...reuse, error: why }, transitions: [] },
        );
      } catch {
        // The next collection finds it abandoned (its creator is this process, soon gone).
      }
    };

    let cgroup: ContainerCgroup | undefined;
    let shim: Shim;
    let interfaces: NetworkInterface[] = [];
    let published: PublishedPort[] = [];
    let joined: JoinedNamespace | null = null;
    const opened: number[] = [];
    try {
      trace('reserved');
      const layout = store.rootfsLayout(id, config.root.layers);
      config = prepareUserNamespace(config, id, userRanges, layout.upper);
      interfaces = joinNetworks(
        config,
        id,
        networks,
        reuse?.network.mode === 'bridge' ? reuse.network.networks : null,
      );
      if (interfaces.length > 0) trace('network leased');
      joined = joinContainerNetwork(config, store, opened);
      const { pid } = config.linux.namespaces;
      const pidNamespace =
        typeof pid === 'object' && 'container' in pid
          ? openContainerNamespace(store, pid.container, 'pid', 'pid', opened)
          : null;
      const byPath = openNamespacePaths(config, opened);
      const ports = holdPorts(config, opened);
      published = ports.published;
      cgroup = cgroups.create(id, config.linux.resources.limits, config.linux.resources.devices);
      const cgroupProcs = cgroup.procsFiles.map((file) => remember(openSync(file, 'w'), opened));
      const etcFiles = writeEtcFiles(
        store.dir(id),
        config,
        record.hostname,
        interfaces[0]?.lease ?? null,
      );
      giveToContainerRoot(
        config,
        etcFiles.map(({ source }) => source),
        options.io.kind === 'terminal' ? [options.io.slave] : [],
      );
      const plan = containerPlan({
        config,
        hostname: record.hostname,
        env: [...config.process.env, `HOSTNAME=${record.hostname}`],
        layout,
        networkInterfaces: interfaces,
        heldSockets: ports.held,
        joined: {
          ...byPath,
          pid: pidNamespace?.fd ?? byPath.pid,
          net: joined?.fd ?? byPath.net,
        },
        etcFiles: etcFiles.map(({ source, target }) => ({
          fd: remember(openSync(source, 'r'), opened),
          target,
        })),
        mountSources: openMountSources(config, opened),
        cgroupProcs,
        cgroupDirs: cgroup.dirs,
        supervision: {
          kind: 'tocker',
          stdio: shimStdio(options.io, store.logPath(id), opened),
          exitFile: remember(openSync(store.exitFilePath(id), 'r+'), opened),
          // Only a container removed at its end (--rm) has its shim delete its directory.
          removal: config.request.autoRemove
            ? {
                parent: remember(openSync(store.containersDir, 'r'), opened),
                name: store.removedName(id),
              }
            : null,
          foreground: options.foreground,
          concluder: concluderFor(id, store.root),
        },
        initBinary: INIT_BINARY,
        seccomp: config.linux.seccomp && profiles.program(config.linux.seccomp.profile),
      });
      trace('cgroup created');
      shim = Shim.spawn(id.slice(0, 12), plan.steps, plan.fds, { standby: deps.standby });
      // The shim lets it through once the child is set up, in its cgroups and its interfaces
      // in; one that publishes ports waits for their rules too (below).
      if (startAtOnce && published.length === 0) shim.send('g');
    } catch (error) {
      cgroup?.remove();
      abandon((error as Error).message);
      throw error;
    } finally {
      for (const fd of opened) closeSync(fd);
    }

    trace('shim started');
    const born = await setUp(shim);
    if (born instanceof Error) {
      await shim.until();
      cgroup.remove();
      abandon(born.message);
      throw born;
    }
    trace('ready');
    const pid1 = identify(born) ?? { pid: born, startTime: 0 };
    const now = new Date().toISOString();
    const created = store.update(id, (current) =>
      current.status === 'created' && current.process === null
        ? {
            record: {
              ...current,
              config,
              process: pid1,
              supervisor: shim.identity,
              network: networkViewOf(config, interfaces, published, joined),
              ...(startAtOnce ? { status: 'running', startedAt: now } : {}),
            },
            transitions: startAtOnce ? ['created', 'started'] : ['created'],
          }
        : null,
    );
    if (created?.process?.pid !== born) {
      // Removed (rm -f) while it was being set up: nothing of it may stay.
      shim.release();
      await shim.until();
      cgroup.destroy();
      throw new TockerError(`container ${id.slice(0, 12)} was removed while it was being created`);
    }
    if (published.length > 0) {
      try {
        networks.refreshFirewall();
      } catch (error) {
        shim.release();
        await shim.until();
        cgroup.destroy();
        abandon((error as Error).message);
        throw error;
      }
    }
    if (startAtOnce && published.length > 0) shim.send('g');
    return new Container(created, store, deps, cgroup, shim, exitOf(shim));
  }

  /** Runs the user's program; resolves once it has been exec'd, rejects if it could not be. */
  async start(): Promise<void> {
    const shim = this.shim;
    if (shim === null || this.startAsked)
      throw new TockerError(`container ${this.id.slice(0, 12)} was already started`);
    this.startAsked = true;
    // Unless it was asked for with the creation (and the record already says running).
    if (this.record.status === 'created') {
      const started = this.store.update(this.id, (current) =>
        current.status === 'created'
          ? {
              record: { ...current, status: 'running', startedAt: new Date().toISOString() },
              transitions: ['started'],
            }
          : null,
      );
      if (started?.status !== 'running') {
        shim.release();
        throw new TockerError(`container ${this.id.slice(0, 12)} was stopped before it started`);
      }
      this.record = started;
      shim.send('g');
    }
    trace('start');
    const outcome = await shim.until('started', 'error');
    trace('running');
    if (outcome.kind !== 'started') {
      await this.exited;
      throw outcome.kind === 'error'
        ? new TockerError(outcome.message, outcome.exitCode)
        : new TockerError(`the shim of container ${this.id.slice(0, 12)} ended before it started`);
    }
  }

  /**
   * Lets the container go on without this process: its shim will record its end (a CLI's
   * `run -d`, which must not wait for it).
   */
  detach(): void {
    this.shim?.release();
  }

  /** Resolves when the container has exited and its end is recorded. */
  wait(): Promise<ExitStatus> {
    return this.exited;
  }

  kill(signal: number): void {
    if (this.record.status === 'exited' || this.record.process === null) return;
    kill(this.record.process.pid, signal);
  }

  stats(): CgroupStats {
    if (this.cgroup === null)
      throw new TockerError(`container ${this.id.slice(0, 12)} is not watched here`);
    return this.cgroup.stats();
  }

  private async finish(status: number | null): Promise<ExitStatus> {
    trace('exited');
    const observed = status === null ? readExitFile(this.store.exitFilePath(this.id)) : status;
    const exit = observed === null ? { exitCode: null, signal: null } : decodeWaitStatus(observed);
    let usage: CgroupUsage | null = null;
    // A container removed at its end (--rm): its shim deletes the directory once we let go.
    let handedOver = false;
    const handOver = () => {
      handedOver = this.shim?.send('r') ?? false;
      return handedOver;
    };
    try {
      const concluded = updateReleasing(
        this.held,
        (decide) => this.store.update(this.id, decide),
        (current) => {
          // Already concluded: by its shim's concluder, or by rm -f that gave up waiting.
          if (current.status === 'exited') return null;
          const conclusion = conclude(current, this.cgroup, exit, null);
          usage = conclusion.usage;
          return { ...conclusion.change, handOver };
        },
      );
      if (concluded !== null) this.record = concluded;
      else this.record = { ...this.record, status: 'exited', ...exit };
    } catch {
      // A damaged record, or a lock held for too long: the next collection concludes it.
      if (this.cgroup !== null) releaseCgroup(this.cgroup);
    }
    // Its ports go from the rules as they went from the host (with its shim).
    if (publishes(this.record))
      try {
        this.held.networks.refreshFirewall();
      } catch {
        // The next start or collection makes the rules again.
      }
    if (!handedOver) this.shim?.send('c');
    this.shim?.release();
    trace('cleaned up');
    const record = this.record;
    return {
      exitCode: record.exitCode ?? exit.exitCode,
      signal: record.signal ?? exit.signal,
      oomKilled: record.oomKilled,
      usage,
    };
  }
}

/** The wait status the shim reports when the container ends; null if the shim died first. */
async function exitOf(shim: Shim): Promise<number | null> {
  const report = await shim.until('exit');
  return report.kind === 'exit' ? report.status : null;
}

/** For a container another process created: resolves once its shim (or concluder) is gone. */
function waitForEnd(supervisor: ProcessIdentity): Promise<null> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (isAlive(supervisor)) return;
      clearInterval(timer);
      resolve(null);
    }, 1000);
  });
}

/** The container's process once it is set up (its interfaces in) and waits to be started. */
async function setUp(shim: Shim): Promise<number | Error> {
  const born = await shim.until('pid', 'error');
  if (born.kind !== 'pid') return setupFailure(born);
  const ready = await shim.until('ready', 'error');
  return ready.kind === 'ready' ? born.pid : setupFailure(ready);
}

function setupFailure(report: ShimReport): TockerError {
  if (report.kind === 'error') return new TockerError(report.message, report.exitCode);
  return new TockerError('the container process died during set-up');
}

/** What a container holds outside its directory, in stores of their own. */
export interface Held {
  readonly networks: NetworkStore;
  readonly userRanges: UserNamespaceRanges;
}

/**
 * A change of the store's (`update` runs `decide` under the container's lock) that gives
 * back what the container held outside its directory, its addresses and its
 * user-namespace range, when the change removes it: once its lock is let go (these take
 * locks of their own). Every removal goes through here.
 */
export function updateReleasing<R>(
  held: Held,
  update: (decide: (record: ContainerRecord) => Change | null) => R,
  decide: (record: ContainerRecord) => Change | null,
): R {
  let removed: ContainerRecord | null = null;
  const result = update((record) => {
    const change = decide(record);
    removed = change?.removal === undefined ? null : record;
    return change;
  });
  if (removed !== null) releaseHeld(removed, held);
  return result;
}

/** Best effort (a full disk): the next collection gives back whatever is left. */
function releaseHeld(record: ContainerRecord, held: Held): void {
  const releases = [
    ...(record.network.mode === 'bridge' ? [() => held.networks.release(record.id)] : []),
    ...(record.config.linux.namespaces.user === 'own'
      ? [() => held.userRanges.release(record.id)]
      : []),
  ];
  for (const release of releases)
    try {
      release();
    } catch {
      // Left for the next collection.
    }
}

function remember(fd: number, opened: number[]): number {
  opened.push(fd);
  return fd;
}

function shimStdio(io: ContainerIo, logPath: string, opened: number[]): ShimStdio {
  switch (io.kind) {
    case 'log': {
      const log = remember(openSync(logPath, 'a', 0o600), opened);
      return { kind: 'pipes', stdin: null, stdout: log, stderr: log, log: true };
    }
    case 'relay':
      return { kind: 'pipes', stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, log: false };
    case 'terminal':
      return { kind: 'terminal', slave: io.slave, keep: io.master };
  }
}

/** What the shim becomes to record the container's end when its creator is gone. */
function concluderFor(id: string, root: string): Concluder {
  const cgroupParent = process.env.TOCKER_CGROUP_PARENT;
  return {
    argv: [process.execPath, CONCLUDE_ENTRY, id],
    env: [
      `TOCKER_ROOT=${root}`,
      ...(cgroupParent === undefined ? [] : [`TOCKER_CGROUP_PARENT=${cgroupParent}`]),
    ],
  };
}

/** The wait status a shim left in the exit file; null when it wrote none. */
export function readExitFile(path: string): number | null {
  try {
    const fd = openSync(path, 'r');
    try {
      const bytes = Buffer.alloc(64);
      const length = readSync(fd, bytes, 0, bytes.length, 0);
      const status = /^status (-?\d+)\n/.exec(bytes.toString('latin1', 0, length))?.[1];
      return status === undefined ? null : Number(status);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * The end of a container, whoever noticed it: its last usage and any OOM kill read from
 * the cgroup, the cgroup removed, and the change that records it (and removes it, with
 * --rm). An OOM kill is a SIGKILL: that much is known even when the exit was not observed.
 * Runs under the container's lock (inside StateStore.update).
 */
export function conclude(
  record: ContainerRecord,
  cgroup: ContainerCgroup | null,
  exit: { exitCode: number | null; signal: number | null },
  reason: string | null,
): { change: Change; usage: CgroupUsage | null } {
  let usage: CgroupUsage | null = null;
  let error = reason;
  try {
    usage = cgroup?.usage() ?? null;
  } catch {
    // Already gone: nothing more to learn from it.
  }
  try {
    cgroup?.destroy();
  } catch (cleanup) {
    // Recorded, and retried by the next tocker command's garbage collection.
    error = [reason, (cleanup as Error).message].filter(Boolean).join('; ');
  }
  const oomKilled = (usage?.oomKills ?? 0) > 0;
  const unobservedOom = exit.exitCode === null && oomKilled;
  const concluded: ContainerRecord = {
    ...record,
    status: 'exited',
    paused: false,
    finishedAt: new Date().toISOString(),
    exitCode: unobservedOom ? 137 : exit.exitCode,
    signal: unobservedOom ? constants.signals.SIGKILL : exit.signal,
    oomKilled,
    usage:
      usage === null
        ? null
        : { cpuTimeNs: usage.cpuTimeNs, memoryPeakBytes: usage.memoryPeakBytes },
    error,
  };
  const change: Change = concluded.config.request.autoRemove
    ? { record: concluded, transitions: ['exited', 'removed'], removal: 'archive-log' }
    : { record: concluded, transitions: ['exited'] };
  return { change, usage };
}

function releaseCgroup(cgroup: ContainerCgroup): void {
  try {
    cgroup.destroy();
  } catch {
    // The next collection removes cgroups that belong to no live container.
  }
}

/** A restart starts an exited container again under the same id (the record is reused). */
function restartable(current: ContainerRecord, fresh: ContainerRecord): Change {
  if (current.status !== 'exited')
    throw new TockerError(`container ${current.id.slice(0, 12)} is ${current.status}`);
  return { record: fresh, transitions: [] };
}
