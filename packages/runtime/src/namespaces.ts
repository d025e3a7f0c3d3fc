import { closeSync, openSync } from 'node:fs';
import {
  blockAllSignals,
  CLONE_FS,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUTS,
  exitImmediately,
  fork,
  type LibcCall,
  restoreSignalMask,
  runCalls,
  setns,
  unshare,
} from './sys/libc.js';
import { trace } from './trace.js';

/** The namespaces a process joins; pid last: it only applies to the children. */
const borrowed = [
  ['mnt', CLONE_NEWNS],
  ['uts', CLONE_NEWUTS],
  ['ipc', CLONE_NEWIPC],
  ['net', CLONE_NEWNET],
  ['cgroup', CLONE_NEWCGROUP],
  ['pid', CLONE_NEWPID],
] as const;

type NamespaceFds = { fd: number; type: number }[];

function openNamespaces(pid: number | 'thread-self'): NamespaceFds {
  return borrowed.map(([name, type]) => ({ fd: openSync(`/proc/${pid}/ns/${name}`, 'r'), type }));
}

/**
 * What the child does after fork(): prepared calls (see LibcCall), then optionally more
 * work; on failure `fail` reports and exits. It never returns to the event loop.
 */
export interface ChildProgram {
  readonly calls: readonly LibcCall[];
  readonly afterCalls: (() => never) | undefined;
  readonly fail: (error: unknown) => never;
}

let ownNamespaces: { fd: number; type: number }[] | undefined;

/**
 * Starts a container's PID 1 without a new Node process (one costs ~90 ms here, more than
 * a whole container start should).
 *
 * The main thread borrows fresh mount, UTS, IPC and network namespaces (unshare() changes
 * only the calling thread) and runs `prepare` in them: mounts, pivot_root, hostname. Then
 * it forks, with a fresh PID namespace for the child, and goes back to its own namespaces,
 * root and working directory. Everything between unshare and the return is synchronous,
 * so no other JavaScript, and no new thread, ever runs in the borrowed namespaces.
 *
 * The child inherits the prepared namespaces and root, runs the program `prepare` returned
 * synchronously to its end (execve or _exit) and never returns to the event loop, so the parent's loop,
 * sockets and timers are never touched twice. Only the forking thread exists in the
 * child: Node must run with --single-threaded so that no V8 background thread could have
 * held a lock at fork time (assertForkable). Every page the child writes is copied first
 * (~40 us each on this kind of VM), which is why the child's part is kept small.
 */
export function forkIntoNewNamespaces(prepare: () => ChildProgram): number {
  return borrowAndFork(null, prepare);
}

/**
 * The same for a new process in a running container (exec): the main thread joins the
 * namespaces of the container's PID 1 (its root comes with the mount namespace), the
 * child is forked into its PID namespace, and the main thread goes home.
 */
export function forkIntoNamespacesOf(pid: number, prepare: () => ChildProgram): number {
  const target = openNamespaces(pid);
  try {
    return borrowAndFork(target, prepare);
  } finally {
    for (const { fd } of target) closeSync(fd);
  }
}

/** `target` null: fresh namespaces; otherwise those to join. */
function borrowAndFork(target: NamespaceFds | null, prepare: () => ChildProgram): number {
  assertForkable();
  ownNamespaces ??= openNamespaces('thread-self');
  const cwd = process.cwd();
  let pid = -1;
  try {
    // Inside the try: a failure half-way still sends the main thread home.
    if (target === null) {
      unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET);
    } else {
      unshare(CLONE_FS); // joining a mount namespace needs a filesystem context of our own
      for (const { fd, type } of target) if (type !== CLONE_NEWPID) setns(fd, type);
    }
    trace('namespaces borrowed');
    const program = prepare();
    trace('root prepared');
    // Node's signal handlers must never run in the child: it sets its own signal state.
    const previousMask = blockAllSignals();
    try {
      const pidNamespace = target?.find(({ type }) => type === CLONE_NEWPID);
      if (pidNamespace === undefined) unshare(CLONE_NEWPID);
      else setns(pidNamespace.fd, CLONE_NEWPID);
      pid = fork();
    } finally {
      if (pid !== 0) restoreSignalMask(previousMask);
    }
    if (pid === 0) {
      try {
        runCalls(program.calls);
        program.afterCalls?.();
      } catch (error) {
        program.fail(error);
      } finally {
        exitImmediately(125);
      }
    }
  } finally {
    if (pid !== 0) {
      for (const { fd, type } of ownNamespaces) setns(fd, type);
      process.chdir(cwd);
    }
  }
  return pid;
}

let forkable: boolean | undefined;

export function assertForkable(): void {
  forkable ??= process.execArgv.includes('--single-threaded');
  if (!forkable) {
    throw new Error(
      'tocker starts containers by fork(): run Node with --single-threaded (node --single-threaded ...)',
    );
  }
}
