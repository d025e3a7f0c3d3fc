import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type { CgroupDriver, CgroupStats, ContainerCgroup } from './cgroups/index.js';
import {
  type ContainerProcessPlan,
  type ContainerStdio,
  prepareContainer,
} from './container-process.js';
import { TockerError } from './errors.js';
import { containerEnvironment } from './exec.js';
import { forkIntoNewNamespaces } from './namespaces.js';
import { identify } from './proc.js';
import { waitForChild, waitForExitOf } from './reaper.js';
import { ReportChannel } from './report-channel.js';
import type { ContainerSpec } from './spec.js';
import type { ContainerRecord } from './state/record.js';
import type { Change, StateStore } from './state/store.js';
import { close, decodeWaitStatus, kill, pipe, waitpid } from './sys/libc.js';
import { trace } from './trace.js';

export interface CreateOptions {
  /** Descriptors of this process, or 'log': stdin from /dev/null, output to container.log. */
  readonly stdio: ContainerStdio | 'log';
  /** The host path of the pty slave when stdio is a terminal (becomes /dev/console). */
  readonly consolePath?: string | null;
  /** Kill the container if this process dies (foreground CLI); detached ones outlive it. */
  readonly dieWithParent?: boolean;
}

export interface ExitStatus {
  /** null when the exit was not observed (the container was adopted after a restart). */
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly oomKilled: boolean;
  /** Peak memory and CPU time as the cgroup saw them just before it was removed. */
  readonly stats: CgroupStats | null;
}

/**
 * One container, held by the process that created it (its supervisor): the only process
 * that can start it and wait for it, because the container's PID 1 is its child.
 * Everything else (ps, stop, kill, rm from other processes) goes through the state store.
 */
export class Container {
  private readonly exited: Promise<ExitStatus>;

  /**
   * `startup` is the pipe pair of a container this process created and has not started
   * yet; `status` resolves with the raw wait status when it ends (null: not observable).
   */
  private constructor(
    private record: ContainerRecord,
    private readonly store: StateStore,
    private readonly cgroup: ContainerCgroup,
    private startup: { reports: ReportChannel; goFd: number } | null,
    status: Promise<number | null>,
  ) {
    this.exited = status.then((raw) => this.finish(raw));
  }

  /**
   * Takes over a running detached container whose supervisor died (an agent restart). It
   * is not this process's child, so its end is noticed by polling and its exit code is
   * unknown; OOM kills, peak memory and CPU time still come from its cgroup.
   */
  static adopt(record: ContainerRecord, store: StateStore, cgroup: ContainerCgroup): Container {
    const ended = record.process === null ? Promise.resolve(null) : waitForExitOf(record.process);
    return new Container(record, store, cgroup, null, ended);
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
   * Everything up to the user's program: state, cgroup with its limits, namespaces, root
   * filesystem, hostname. The container process then waits for start().
   */
  static async create(
    spec: ContainerSpec,
    options: CreateOptions,
    deps: { store: StateStore; cgroups: CgroupDriver },
    /** An exited container to start again (restart): same id, name and writable layer. */
    reuse: ContainerRecord | null = null,
  ): Promise<Container> {
    checkRootfs(spec.rootfs);
    const id = reuse?.id ?? randomId();
    const supervisor = identify(process.pid);
    if (supervisor === null) throw new Error('cannot read this process in /proc');
    const record: ContainerRecord = {
      id,
      name: spec.name ?? null,
      hostname: spec.hostname ?? id.slice(0, 12),
      spec,
      status: 'created',
      createdAt: reuse?.createdAt ?? new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      process: null,
      supervisor,
      detached: !(options.dieWithParent ?? true),
      usage: null,
      exitCode: null,
      signal: null,
      oomKilled: false,
      error: null,
    };
    const { store, cgroups } = deps;
    trace('create');
    if (reuse === null) store.reserve(record);
    else if (store.update(id, (current) => restartable(current, record)) === null)
      throw new TockerError(`no such container: ${id}`);
    // A failed start leaves nothing behind; a failed restart leaves the container as it was.
    const abandon = (why: string) => {
      try {
        store.update(id, (current) =>
          reuse === null
            ? { record: current, transitions: [], removal: 'discard-log' }
            : { record: { ...reuse, error: why }, transitions: [] },
        );
      } catch {
        // The next collection finds it abandoned (its creator is this process, soon gone).
      }
    };
    let cgroup: ContainerCgroup | undefined;
    const report = pipe();
    const go = pipe();
    const fdsToClose = [report.write, go.read];
    let pid: number;
    try {
      trace('reserved');
      cgroup = cgroups.create(id, spec.limits);
      const cgroupProcsFds = cgroup.procsFiles.map((file) => openSync(file, 'w'));
      fdsToClose.push(...cgroupProcsFds);
      const stdio =
        options.stdio === 'log' ? openLog(store.logPath(id), fdsToClose) : options.stdio;
      const plan: ContainerProcessPlan = {
        spec,
        hostname: record.hostname,
        env: containerEnvironment(spec, record.hostname),
        rootfs: store.rootfsLayout(id, spec.rootfs, options.consolePath ?? null),
        stdio,
        cgroupProcsFds,
        dieWithParent: options.dieWithParent ?? true,
        reportFd: report.write,
        goFd: go.read,
        parentFds: [report.read, go.write],
      };
      trace('cgroup created');
      pid = forkIntoNewNamespaces(() => prepareContainer(plan));
    } catch (error) {
      close(report.read);
      close(go.write);
      cgroup?.remove();
      abandon((error as Error).message);
      throw error;
    } finally {
      for (const fd of fdsToClose) close(fd);
    }

    trace('forked');
    const reports = new ReportChannel(report.read);
    const first = await reports.next();
    if (first === 'closed' || first.kind === 'error') {
      reports.close();
      close(go.write);
      const status = waitpid(pid, 0).status;
      cgroup.remove();
      const failure =
        first === 'closed'
          ? new TockerError(
              `container process died during set-up (exit ${decodeWaitStatus(status).exitCode})`,
            )
          : new TockerError(
              first.message,
              first.exitCode === 126 || first.exitCode === 127 ? first.exitCode : 125,
            );
      abandon(failure.message);
      throw failure;
    }
    trace('ready');
    const process1 = identify(pid) ?? { pid, startTime: 0 };
    const exited = waitForChild(pid);
    const created = store.update(id, (current) =>
      current.status === 'created' && current.process === null
        ? { record: { ...current, process: process1 }, transitions: ['created'] }
        : null,
    );
    if (created?.process?.pid !== pid) {
      // Removed (rm -f) while it was being set up: nothing of it may stay.
      kill(pid, constants.signals.SIGKILL);
      reports.close();
      close(go.write);
      await exited;
      cgroup.killAll();
      cgroup.remove();
      throw new TockerError(`container ${id.slice(0, 12)} was removed while it was being created`);
    }
    return new Container(created, store, cgroup, { reports, goFd: go.write }, exited);
  }

  /** Runs the user's program; resolves once it has been exec'd, rejects if it could not be. */
  async start(): Promise<void> {
    if (this.startup === null) throw new TockerError(`container ${this.id} was already started`);
    const { reports, goFd } = this.startup;
    this.startup = null;
    const started = this.store.update(this.id, (current) =>
      current.status === 'created'
        ? {
            record: { ...current, status: 'running', startedAt: new Date().toISOString() },
            transitions: ['started'],
          }
        : null,
    );
    if (started?.status !== 'running') {
      reports.close();
      close(goFd);
      throw new TockerError(`container ${this.id.slice(0, 12)} was stopped before it started`);
    }
    this.record = started;
    trace('start');
    writeSync(goFd, 'g');
    close(goFd);
    const outcome = await reports.next();
    reports.close();
    trace('running');
    if (outcome !== 'closed' && outcome.kind === 'error') {
      await this.exited;
      throw new TockerError(
        outcome.message,
        outcome.exitCode === 126 || outcome.exitCode === 127 ? outcome.exitCode : 125,
      );
    }
  }

  /** Resolves when the container has exited and its cgroup is gone. */
  wait(): Promise<ExitStatus> {
    return this.exited;
  }

  kill(signal: number): void {
    if (this.record.status === 'exited') return;
    kill(this.pid, signal);
  }

  stats(): CgroupStats {
    return this.cgroup.stats();
  }

  private async finish(status: number | null): Promise<ExitStatus> {
    trace('exited');
    if (this.startup !== null) {
      close(this.startup.goFd);
      this.startup.reports.close();
    }
    const exit = status === null ? { exitCode: null, signal: null } : decodeWaitStatus(status);
    let stats: CgroupStats | null = null;
    let concluded: ContainerRecord | null = null;
    try {
      concluded = this.store.update(this.id, (current) => {
        // Already concluded by another process (rm -f gave up waiting for us).
        if (current.status === 'exited') return null;
        const conclusion = conclude(current, this.cgroup, exit, null);
        stats = conclusion.stats;
        return conclusion.change;
      });
    } catch {
      // A damaged record, or a lock held for too long: the next collection concludes it.
      releaseCgroup(this.cgroup);
    }
    if (concluded !== null) this.record = concluded;
    trace('cleaned up');
    const record = this.record;
    const known = record.status === 'exited';
    return {
      exitCode: known ? record.exitCode : exit.exitCode,
      signal: known ? record.signal : exit.signal,
      oomKilled: record.oomKilled,
      stats,
    };
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
): { change: Change; stats: CgroupStats | null } {
  let stats: CgroupStats | null = null;
  let error = reason;
  try {
    stats = cgroup?.stats() ?? null;
  } catch {
    // Already gone: nothing more to learn from it.
  }
  try {
    cgroup?.killAll();
    cgroup?.remove();
  } catch (cleanup) {
    // Recorded, and retried by the next tocker command's garbage collection.
    error = [reason, (cleanup as Error).message].filter(Boolean).join('; ');
  }
  const oomKilled = (stats?.oomKills ?? 0) > 0;
  const unobservedOom = exit.exitCode === null && oomKilled;
  const concluded: ContainerRecord = {
    ...record,
    status: 'exited',
    finishedAt: new Date().toISOString(),
    exitCode: unobservedOom ? 137 : exit.exitCode,
    signal: unobservedOom ? constants.signals.SIGKILL : exit.signal,
    oomKilled,
    usage:
      stats === null
        ? null
        : { cpuTimeNs: stats.cpuTimeNs, memoryPeakBytes: stats.memoryPeakBytes },
    error,
  };
  const change: Change = concluded.spec.autoRemove
    ? { record: concluded, transitions: ['exited', 'removed'], removal: 'archive-log' }
    : { record: concluded, transitions: ['exited'] };
  return { change, stats };
}

function releaseCgroup(cgroup: ContainerCgroup): void {
  try {
    cgroup.killAll();
    cgroup.remove();
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

function openLog(path: string, opened: number[]): ContainerStdio {
  const stdin = openSync('/dev/null', 'r');
  opened.push(stdin);
  const output = openSync(path, 'a', 0o600);
  opened.push(output);
  return { stdin, stdout: output, stderr: output, terminal: false };
}

/**
 * 64 hex digits, as docker's ids. Read from /dev/urandom rather than node:crypto, whose
 * loading alone costs the CLI ~10 ms on every start.
 */
function randomId(): string {
  const bytes = Buffer.alloc(32);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
}

function checkRootfs(rootfs: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(rootfs).isDirectory();
  } catch {
    throw new TockerError(`rootfs ${rootfs} does not exist`);
  }
  if (!isDirectory) throw new TockerError(`rootfs ${rootfs} is not a directory`);
  // overlayfs takes its layers as a comma- and colon-separated option string.
  if (/[,:\\]/.test(rootfs))
    throw new TockerError(`rootfs ${rootfs}: paths with ",", ":" or "\\" are not supported`);
}
