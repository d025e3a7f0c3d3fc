import { isAlive, type ProcessIdentity } from './proc.js';
import { errno, SyscallError, WNOHANG, waitpid } from './sys/libc.js';

/**
 * Collects the exit status of the children this process forked itself. libuv only reaps
 * the children it spawned, so these are waited for by pid on every SIGCHLD. Signal
 * watchers do not keep Node alive, so a slow timer does while anything is watched (and
 * catches a SIGCHLD that arrived before the watch began).
 */
const watched = new Map<number, (status: number | null) => void>();
let timer: NodeJS.Timeout | undefined;

function collect(): void {
  for (const [pid, settle] of watched) {
    let result: { pid: number; status: number };
    try {
      result = waitpid(pid, WNOHANG);
    } catch (error) {
      if (!(error instanceof SyscallError && error.errno === errno.ECHILD)) throw error;
      result = { pid, status: -1 }; // reaped elsewhere: the status is lost
    }
    if (result.pid !== pid) continue;
    watched.delete(pid);
    settle(result.status === -1 ? null : result.status);
  }
  if (watched.size === 0 && timer !== undefined) {
    clearInterval(timer);
    process.off('SIGCHLD', collect);
    timer = undefined;
  }
}

/** Resolves with the raw wait status of a child of this process (null if it was lost). */
export function waitForChild(pid: number): Promise<number | null> {
  return new Promise((resolve) => {
    watched.set(pid, resolve);
    if (timer === undefined) {
      process.on('SIGCHLD', collect);
      timer = setInterval(collect, 250);
    }
    collect();
  });
}

/**
 * For a process that is not our child (a container adopted after a restart): there is
 * no wait status to collect, only the moment it is gone, noticed within a second.
 */
export function waitForExitOf(process: ProcessIdentity): Promise<null> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (isAlive(process)) return;
      clearInterval(timer);
      resolve(null);
    }, 1000);
  });
}
