import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
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
import { waitForChild } from './reaper.js';
import { ReportChannel } from './report-channel.js';
import type { ContainerSpec } from './spec.js';
import type { ContainerRecord, StateStore } from './state.js';
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
  readonly exitCode: number;
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

  private constructor(
    private record: ContainerRecord,
    private readonly store: StateStore,
    private readonly cgroup: ContainerCgroup,
    private readonly reports: ReportChannel,
    private goFd: number | null,
  ) {
    const pid = record.process?.pid ?? -1;
    this.exited = waitForChild(pid).then((status) => this.finish(status));
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
  ): Promise<Container> {
    checkRootfs(spec.rootfs);
    const id = randomId();
    const supervisor = identify(process.pid);
    if (supervisor === null) throw new Error('cannot read this process in /proc');
    const record: ContainerRecord = {
      id,
      name: spec.name ?? null,
      hostname: spec.hostname ?? id.slice(0, 12),
      spec,
      status: 'created',
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      process: null,
      supervisor,
      exitCode: null,
      signal: null,
      oomKilled: false,
      error: null,
    };
    const { store, cgroups } = deps;
    trace('create');
    store.reserve(record);
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
      store.remove(record);
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
      store.remove(record);
      if (first === 'closed') {
        throw new TockerError(
          `container process died during set-up (exit ${decodeWaitStatus(status).exitCode})`,
        );
      }
      throw new TockerError(
        first.message,
        first.exitCode === 126 || first.exitCode === 127 ? first.exitCode : 125,
      );
    }
    trace('ready');
    const created = { ...record, process: identify(pid) ?? { pid, startTime: 0 } };
    store.write(created);
    return new Container(created, store, cgroup, reports, go.write);
  }

  /** Runs the user's program; resolves once it has been exec'd, rejects if it could not be. */
  async start(): Promise<void> {
    if (this.goFd === null) throw new TockerError(`container ${this.id} was already started`);
    const goFd = this.goFd;
    this.goFd = null;
    this.record = { ...this.record, status: 'running', startedAt: new Date().toISOString() };
    this.store.write(this.record);
    trace('start');
    writeSync(goFd, 'g');
    close(goFd);
    const outcome = await this.reports.next();
    this.reports.close();
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
    if (this.goFd !== null) close(this.goFd);
    this.reports.close();
    const { exitCode, signal } =
      status === null ? { exitCode: 137, signal: null } : decodeWaitStatus(status);
    let stats: CgroupStats | null = null;
    try {
      stats = this.cgroup.stats();
    } catch {
      // Stats are a courtesy; the exit status is what matters.
    }
    const oomKilled = (stats?.oomKills ?? 0) > 0;
    let cleanupError: string | null = null;
    try {
      this.cgroup.killAll();
      this.cgroup.remove();
    } catch (error) {
      // Recorded, and retried by the next tocker command's garbage collection.
      cleanupError = (error as Error).message;
    }
    this.record = {
      ...this.record,
      status: 'exited',
      finishedAt: new Date().toISOString(),
      exitCode,
      signal,
      oomKilled,
      error: cleanupError,
    };
    if (this.record.spec.autoRemove) this.store.remove(this.record);
    else this.store.write(this.record);
    trace('cleaned up');
    return { exitCode, signal, oomKilled, stats };
  }
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
