import { closeSync, openSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_DEVICE_RULES } from './cgroups/devices.js';
import { detectCgroupDriver } from './cgroups/index.js';
import type { ContainerCgroup } from './cgroups/types.js';
import type { OciBundle, OciHook } from './config/oci-bundle.js';
import type { RuntimeConfig } from './config/runtime-config.js';
import { TockerError } from './errors.js';
import { openNamespacePaths } from './namespaces.js';
import { INIT_BINARY } from './paths.js';
import { containerPlan, type EngineHooks, execPlan } from './plans.js';
import { isAlive, type ProcessIdentity } from './proc.js';
import { openMountSources } from './rootfs.js';
import type { SeccompProfiles } from './security/seccomp.js';
import type { PlanStep } from './shim/plan.js';
import { Shim, type ShimReport } from './shim/shim.js';
import { O_PATH } from './sys/fs-at.js';
import { decodeWaitStatus, errno, pidfdOpen, SyscallError } from './sys/libc.js';
import { connectUnix } from './sys/sockets.js';

/** What an OCI engine's `create` asked for, besides the bundle. */
export interface EngineCreateRequest {
  readonly id: string;
  readonly bundle: OciBundle;
  /** The bundle's directory, as the hooks' state names it. */
  readonly bundleDir: string;
  /** The fifo the engine's `start` opens: the container waits on it. */
  readonly startFifo: string;
  /** --console-socket: where the pty's master goes (the bundle asks for a terminal). */
  readonly consoleSocket: string | null;
  readonly profiles: SeccompProfiles;
}

/** A container an engine created: its init waits for `start`, its parent is the engine's. */
export interface EngineContainer {
  readonly pid: number;
  readonly cgroup: ContainerCgroup;
}

/** A plan for an engine's shim, whoever runs it (this process, or the warm front end). */
export interface PreparedPlan {
  readonly steps: readonly PlanStep[];
  /** The plan's passed descriptors, in order (the shim's FIRST_PASSED_FD on). */
  readonly fds: readonly number[];
  /** Closes this process's copies of the descriptors, once the shim has its own. */
  release(): void;
}

/** An engine's container prepared up to its shim: its cgroups made, and its plan. */
export interface PreparedEngineContainer extends PreparedPlan {
  readonly cgroup: ContainerCgroup;
}

/** The descriptors a plan is built with, kept until the shim has its own copies. */
class OpenedFds {
  private readonly fds: number[] = [];

  /** `fd`, kept to be closed by release(). */
  keep(fd: number): number {
    this.fds.push(fd);
    return fd;
  }

  /** For helpers that push what they open (openNamespacePaths, openMountSources). */
  get list(): number[] {
    return this.fds;
  }

  release = (): void => {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  };
}

export function prepareForEngine(request: EngineCreateRequest): PreparedEngineContainer {
  const { bundle, id } = request;
  const { config } = bundle;
  if (config.process.terminal && request.consoleSocket === null)
    throw new TockerError('cannot allocate a tty without a console socket (--console-socket)');
  const cgroupsPath = bundle.cgroupsPath ?? `/${id}`;
  const cgroups = detectCgroupDriver({ parent: dirname(cgroupsPath) });
  const opened = new OpenedFds();
  // runc's rule: the spec's device rules, then the nodes every container may use.
  const devices = [
    ...config.linux.resources.devices,
    ...DEFAULT_DEVICE_RULES.filter((rule) => rule.allow),
  ];
  const cgroup = cgroups.create(basename(cgroupsPath), config.linux.resources.limits, devices);
  try {
    const plan = containerPlan({
      config,
      hostname: config.hostname,
      env: config.process.env,
      layout: {
        layers: config.root.layers,
        upper: '',
        work: '',
        merged: config.root.layers[0] ?? '/',
      },
      networkInterfaces: [],
      joined: openNamespacePaths(config, opened.list),
      etcFiles: [],
      heldSockets: [],
      mountSources: openMountSources(config, opened.list),
      cgroupProcs: cgroup.procsFiles.map((file) => opened.keep(openSync(file, 'w'))),
      cgroupDirs: cgroup.dirs,
      supervision: {
        kind: 'engine',
        startFifo: opened.keep(openSync(request.startFifo, O_PATH)),
        hooks: plannedHooks(request),
        console:
          request.consoleSocket === null || !config.process.terminal
            ? null
            : {
                socket: opened.keep(connectUnix(request.consoleSocket)),
                rows: bundle.consoleSize?.rows ?? 0,
                columns: bundle.consoleSize?.columns ?? 0,
              },
      },
      initBinary: INIT_BINARY,
      seccomp: config.linux.seccomp && request.profiles.program(config.linux.seccomp.profile),
    });
    return { steps: plan.steps, fds: plan.fds, cgroup, release: opened.release };
  } catch (error) {
    opened.release();
    cgroup.remove();
    throw error;
  }
}

/**
 * What became of a prepared container, from its shim's reports: the init's pid once it is
 * ready and blocked on the start fifo, or the reason it is not (its cgroups then removed).
 */
export function concludeEngineCreate(
  prepared: PreparedEngineContainer,
  born: ShimReport,
  outcome: ShimReport,
): EngineContainer {
  if (born.kind === 'pid' && outcome.kind === 'ready')
    return { pid: born.pid, cgroup: prepared.cgroup };
  prepared.cgroup.destroy();
  const failure = outcome.kind === 'error' ? outcome : born.kind === 'error' ? born : null;
  throw new TockerError(
    failure?.message ?? 'the container process died during set-up',
    failure?.exitCode ?? 125,
  );
}

/**
 * `create` for an OCI engine, run by this process: the prepared container's shim in
 * engine mode, which leaves once the init is ready and blocked on the start fifo. Nothing
 * of tocker's own state is touched: the engine owns the container's life. On failure
 * nothing is left behind.
 */
export async function createForEngine(request: EngineCreateRequest): Promise<EngineContainer> {
  const prepared = prepareForEngine(request);
  let shim: Shim;
  try {
    shim = Shim.spawn(request.id.slice(0, 12), prepared.steps, prepared.fds, {
      inheritStdio: true,
    });
  } catch (error) {
    prepared.cgroup.remove();
    throw error;
  } finally {
    prepared.release();
  }
  const born = await shim.until('pid', 'error');
  const outcome = await shim.until('ready', 'error');
  if (outcome.kind !== 'ready') await shim.until('closed');
  shim.release();
  return concludeEngineCreate(prepared, born, outcome);
}

/**
 * The bundle's hooks as the plan runs them, each with the state the spec gives it on
 * stdin ("creating" until the start, then "created"), the pid filled in where it runs.
 */
function plannedHooks({ id, bundle, bundleDir }: EngineCreateRequest): EngineHooks {
  const state = (status: string): [string, string] => {
    const text = JSON.stringify({
      ociVersion: bundle.config.ociVersion,
      id,
      status,
      pid: 0,
      bundle: bundleDir,
      annotations: bundle.annotations,
    });
    const at = text.indexOf('"pid":0') + '"pid":'.length;
    return [text.slice(0, at), text.slice(at + 1)];
  };
  const planned = (kind: string, status: string) => (hook: OciHook, index: number) => {
    const [stateBefore, stateAfter] = state(status);
    return {
      name: `${kind} hook #${index}`,
      stateBefore,
      stateAfter,
      path: hook.path,
      args: hook.args ?? [hook.path],
      env: hook.env ?? [],
      timeout: hook.timeout ?? 0,
    };
  };
  const { hooks } = bundle;
  return {
    runtime: [
      ...hooks.prestart.map(planned('prestart', 'creating')),
      ...hooks.createRuntime.map(planned('createRuntime', 'creating')),
    ],
    createContainer: hooks.createContainer.map(planned('createContainer', 'creating')),
    startContainer: hooks.startContainer.map(planned('startContainer', 'created')),
  };
}

/** What an OCI engine's `exec` asked for. */
export interface EngineExecRequest {
  /** The container's configuration, its process the exec's (withExecProcess). */
  readonly config: RuntimeConfig;
  readonly init: ProcessIdentity;
  /** The container's cgroup directories. */
  readonly cgroupDirs: readonly string[];
  readonly consoleSocket: string | null;
  readonly consoleSize: { readonly rows: number; readonly columns: number } | null;
  /** Left to the engine's subreaper once it runs; otherwise the caller waits for its end. */
  readonly detach: boolean;
  readonly profiles: SeccompProfiles;
}

/**
 * `exec` for an OCI engine, up to its shim: a process to be born in the container's PID
 * namespace, joining its cgroups and namespaces through a pidfd of its init (checked to
 * still be that init), made like the container's own process.
 */
export function prepareExecForEngine(request: EngineExecRequest): PreparedPlan {
  const { config } = request;
  if (config.process.terminal && request.consoleSocket === null)
    throw new TockerError('cannot allocate a tty without a console socket (--console-socket)');
  const opened = new OpenedFds();
  try {
    const pidfd = opened.keep(pidfdOpen(request.init.pid));
    if (!isAlive(request.init)) throw new TockerError('container not running');
    const plan = execPlan({
      config,
      args: config.process.args,
      env: config.process.env,
      cwd: config.process.cwd,
      pidfd,
      stdio: {
        kind: 'engine',
        detach: request.detach,
        console:
          request.consoleSocket === null || !config.process.terminal
            ? null
            : {
                socket: opened.keep(connectUnix(request.consoleSocket)),
                rows: request.consoleSize?.rows ?? 0,
                columns: request.consoleSize?.columns ?? 0,
              },
      },
      cgroupProcs: request.cgroupDirs.map((dir) =>
        opened.keep(openSync(join(dir, 'cgroup.procs'), 'w')),
      ),
      seccomp: config.linux.seccomp && request.profiles.program(config.linux.seccomp.profile),
    });
    return { steps: plan.steps, fds: plan.fds, release: opened.release };
  } catch (error) {
    opened.release();
    if (error instanceof SyscallError && error.errno === errno.ESRCH)
      throw new TockerError('container not running');
    throw error;
  }
}

/** The exec'd process's pid from its shim's reports, or the reason it did not run. */
export function concludeEngineExec(born: ShimReport, started: ShimReport): number {
  if (born.kind === 'pid' && started.kind === 'started') return born.pid;
  const failure = started.kind === 'error' ? started : born.kind === 'error' ? born : null;
  throw new TockerError(
    failure?.message ?? 'the process died before it ran',
    failure?.exitCode ?? 125,
  );
}

/**
 * `exec` for an OCI engine, run by this process: its pid, and (not detached) its exit
 * code to come.
 */
export async function execForEngine(
  request: EngineExecRequest,
): Promise<{ pid: number; exitCode: Promise<number> }> {
  const prepared = prepareExecForEngine(request);
  let shim: Shim;
  try {
    shim = Shim.spawn('exec', prepared.steps, prepared.fds, { inheritStdio: true });
  } finally {
    prepared.release();
  }
  const born = await shim.until('pid', 'error');
  const started = await shim.until('started', 'error');
  if (started.kind !== 'started') await shim.until('closed');
  const pid = concludeEngineExec(born, started);
  const exitCode = shim
    .until('exit')
    .then((report) => (report.kind === 'exit' ? decodeWaitStatus(report.status).exitCode : 255));
  if (request.detach) shim.release();
  return { pid, exitCode };
}
