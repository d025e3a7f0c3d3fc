import { mkdirSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { TockerError } from './errors.js';
import { execCalls, resolveExecutable } from './exec.js';
import { runInit } from './init.js';
import type { ChildProgram } from './namespaces.js';
import { bringUpLoopback } from './network.js';
import { enterRootfs, procMountCalls, type RootfsLayout } from './rootfs.js';
import type { ContainerSpec } from './spec.js';
import {
  CLONE_NEWCGROUP,
  calls,
  chdir,
  exitImmediately,
  type LibcCall,
  PR_SET_PDEATHSIG,
  SyscallError,
  sethostname,
  TIOCSCTTY,
} from './sys/libc.js';

/** The container's stdio, as descriptors of the creating process (inherited by fork). */
export interface ContainerStdio {
  readonly stdin: number;
  readonly stdout: number;
  readonly stderr: number;
  /** All three are the slave of a pty that becomes the controlling terminal. */
  readonly terminal: boolean;
}

/** Everything the container's first process needs, computed before it exists. */
export interface ContainerProcessPlan {
  readonly spec: ContainerSpec;
  readonly hostname: string;
  readonly env: readonly string[];
  readonly rootfs: RootfsLayout;
  readonly stdio: ContainerStdio;
  /** cgroup.procs of each hierarchy, opened on the host before the root changes. */
  readonly cgroupProcsFds: readonly number[];
  /** Foreground containers die with their supervisor; detached ones outlive it. */
  readonly dieWithParent: boolean;
  readonly reportFd: number;
  readonly goFd: number;
  /** The parent's ends of the two pipes, which the child must not keep open. */
  readonly parentFds: readonly number[];
}

/** What the container process tells its parent over the report pipe, one JSON line each. */
export type ContainerReport =
  | { kind: 'ready' }
  | { kind: 'error'; message: string; exitCode: number };

const READY = Buffer.from(`${JSON.stringify({ kind: 'ready' } satisfies ContainerReport)}\n`);
const JOIN = Buffer.from('0');

/**
 * Runs on the creator's main thread inside the borrowed namespaces (forkIntoNewNamespaces):
 * root filesystem, hostname, loopback, working directory and the lookup of the program, so
 * that "not found" is a plain exception here. Returns what the container's PID 1 does
 * after fork(), as prepared calls: /proc for its PID namespace, stdio and terminal, report
 * "ready", wait for "go" (start), join the cgroups as the very last step (so that nothing
 * of the user's runs unlimited), exec. The parent learns of the exec from the report pipe
 * closing (it is close-on-exec).
 */
export function prepareContainer(plan: ContainerProcessPlan): ChildProgram {
  enterRootfs(plan.rootfs);
  sethostname(plan.hostname);
  bringUpLoopback();
  mkdirSync(plan.spec.workdir, { recursive: true });
  chdir(plan.spec.workdir);
  const executable = resolveExecutable(plan.spec.command[0] ?? '', plan.env);
  const exec = execCalls(executable, plan.spec.command, plan.env);
  const { stdio } = plan;
  const childCalls: LibcCall[] = [
    ...plan.parentFds.map((fd) => calls.close(fd)),
    ...(plan.dieWithParent ? [calls.prctl(PR_SET_PDEATHSIG, constants.signals.SIGKILL)] : []),
    ...procMountCalls(),
    calls.dup2(stdio.stdin, 0),
    calls.dup2(stdio.stdout, 1),
    calls.dup2(stdio.stderr, 2),
    // Its own session either way: the container must not receive the signals that the
    // user's terminal sends to the CLI's process group; the CLI forwards what it should.
    calls.setsid(),
    ...(stdio.terminal ? [calls.ioctl(0, TIOCSCTTY, 0)] : []),
    calls.write(plan.reportFd, READY, 'ready report'),
    calls.readByte(plan.goFd, 'start signal'),
    ...plan.cgroupProcsFds.map((fd) => calls.write(fd, JOIN, 'cgroup.procs')),
    calls.unshare(CLONE_NEWCGROUP),
    ...(plan.spec.init ? [] : exec),
  ];
  return {
    calls: childCalls,
    afterCalls: plan.spec.init ? () => runInit(exec, stdio.terminal) : undefined,
    fail: (error) => reportFailure(plan.reportFd, error),
  };
}

function reportFailure(reportFd: number, error: unknown): never {
  // No start signal: the creator gave up on this container (or died); nothing to report.
  if (error instanceof SyscallError && error.subject === 'start signal') exitImmediately(125);
  const exitCode = error instanceof TockerError ? error.exitCode : execFailureStatus(error);
  const message: ContainerReport = { kind: 'error', message: (error as Error).message, exitCode };
  try {
    writeSync(reportFd, `${JSON.stringify(message)}\n`);
  } finally {
    exitImmediately(exitCode);
  }
}

/** Like a shell: 127 when the program is missing, 126 when it cannot be executed. */
function execFailureStatus(error: unknown): number {
  if (!(error instanceof SyscallError) || error.call !== 'execve') return 125;
  return error.errno === 2 ? 127 : 126;
}

/** A new process in a running container (exec). */
export interface ExecPlan {
  readonly command: readonly string[];
  readonly env: readonly string[];
  readonly workdir: string;
  readonly stdio: ContainerStdio;
  /** cgroup.procs of the container's cgroups, opened on the host. */
  readonly cgroupProcsFds: readonly number[];
}

/**
 * Runs on the main thread inside the container's namespaces (forkIntoNamespacesOf):
 * working directory and program are checked there, so that mistakes are exceptions. The
 * child then wires its stdio and terminal, joins the container's cgroups and execs.
 */
export function prepareExec(plan: ExecPlan): ChildProgram {
  try {
    chdir(plan.workdir);
  } catch {
    throw new TockerError(`${plan.workdir}: no such directory in the container`);
  }
  const executable = resolveExecutable(plan.command[0] ?? '', plan.env);
  const { stdio } = plan;
  return {
    calls: [
      calls.dup2(stdio.stdin, 0),
      calls.dup2(stdio.stdout, 1),
      calls.dup2(stdio.stderr, 2),
      calls.setsid(),
      ...(stdio.terminal ? [calls.ioctl(0, TIOCSCTTY, 0)] : []),
      ...plan.cgroupProcsFds.map((fd) => calls.write(fd, JOIN, 'cgroup.procs')),
      ...execCalls(executable, plan.command, plan.env),
    ],
    afterCalls: undefined,
    fail: (error) => {
      writeSync(2, `tocker exec: ${(error as Error).message}\n`);
      exitImmediately(execFailureStatus(error));
    },
  };
}
