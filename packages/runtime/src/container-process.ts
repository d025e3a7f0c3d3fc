import { mkdirSync, readSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { TockerError } from './errors.js';
import { execProgram, resolveExecutable } from './exec.js';
import { runInit } from './init.js';
import { bringUpLoopback } from './network.js';
import { enterRootfs, mountProc, type RootfsLayout } from './rootfs.js';
import type { ContainerSpec } from './spec.js';
import {
  CLONE_NEWCGROUP,
  chdir,
  close,
  dup2,
  exitImmediately,
  ioctl,
  PR_SET_PDEATHSIG,
  prctl,
  sethostname,
  setsid,
  TIOCSCTTY,
  unshare,
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

/**
 * The part of a start that can run on the creator's main thread inside the borrowed
 * namespaces (see forkIntoNewNamespaces): root filesystem, hostname, loopback, working
 * directory, and the lookup of the program, so that "not found" is a plain exception.
 * Returns the program's path inside the container.
 */
export function prepareContainer(plan: ContainerProcessPlan): string {
  enterRootfs(plan.rootfs);
  sethostname(plan.hostname);
  bringUpLoopback();
  mkdirSync(plan.spec.workdir, { recursive: true });
  chdir(plan.spec.workdir);
  return resolveExecutable(plan.spec.command[0] ?? '', plan.env);
}

/**
 * The container's PID 1 from fork() to the user's program: /proc for its PID namespace,
 * stdio and terminal; then it waits for "go" (start) and joins its cgroups as the very
 * last step, so that nothing of the user's runs unlimited, and execs. The parent learns
 * of success from the report pipe closing (it is close-on-exec).
 */
export function runContainerProcess(plan: ContainerProcessPlan, executable: string): never {
  const report = (message: ContainerReport) =>
    writeSync(plan.reportFd, `${JSON.stringify(message)}\n`);
  try {
    for (const fd of plan.parentFds) close(fd);
    if (plan.dieWithParent) prctl(PR_SET_PDEATHSIG, constants.signals.SIGKILL);
    mountProc();
    attachStdio(plan.stdio);
    report({ kind: 'ready' });

    if (!waitForGo(plan.goFd)) exitImmediately(125);
    for (const fd of plan.cgroupProcsFds) writeSync(fd, '0');
    unshare(CLONE_NEWCGROUP);
    if (plan.spec.init) runInit(executable, plan.spec.command, plan.env, plan.stdio.terminal);
    return execProgram(executable, plan.spec.command, plan.env);
  } catch (error) {
    const exitCode = error instanceof TockerError ? error.exitCode : 125;
    try {
      report({ kind: 'error', message: (error as Error).message, exitCode });
    } finally {
      exitImmediately(exitCode);
    }
  }
}

function attachStdio(stdio: ContainerStdio): void {
  dup2(stdio.stdin, 0);
  dup2(stdio.stdout, 1);
  dup2(stdio.stderr, 2);
  // Its own session either way: the container must not receive the signals that the
  // user's terminal sends to the CLI's process group; the CLI forwards what it should.
  setsid();
  if (stdio.terminal) ioctl(0, TIOCSCTTY, 0);
}

/** Blocks until the parent says "start"; false when the parent went away instead. */
function waitForGo(fd: number): boolean {
  const byte = Buffer.alloc(1);
  for (;;) {
    try {
      return readSync(fd, byte, 0, 1, null) === 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EINTR') throw error;
    }
  }
}
