import { spawn } from 'node:child_process';
import { identify, isAlive, type ProcessIdentity } from './proc.js';
import { kill, takeFd } from './sys/libc.js';

/** Where the kept descriptor sits in the keeper. */
const KEPT_FD = 3;
const SIGKILL = 9;

/**
 * Keeps a file descriptor open in a small detached process, so that it outlives the
 * process that opened it, for as long as `owner` lives: the agent hands each terminal's
 * pty master to one, and an agent that starts after a crash or a restart takes the
 * master back (pidfd_getfd) instead of the kernel hanging up the shell when the old
 * agent's descriptors closed. The keeper is coreutils' `tail --pid` (~1 MiB): it ends by
 * itself within 0.2 s of its owner, so no keeper outlives its container, agent or not.
 */
export function keepFd(fd: number, owner: ProcessIdentity): ProcessIdentity {
  const keeper = spawn('tail', ['-f', '-s', '0.2', `--pid=${owner.pid}`, '/dev/null'], {
    detached: true, // its own session: a ^C or the agent's process group never reaches it
    stdio: ['ignore', 'ignore', 'ignore', fd],
  });
  keeper.unref();
  const identity = keeper.pid === undefined ? null : identify(keeper.pid);
  if (identity === null) throw new Error('could not start a process to keep a terminal open');
  return identity;
}

/** The kept descriptor, duplicated into this process; null when its keeper is gone. */
export function reclaimFd(keeper: ProcessIdentity): number | null {
  if (!isAlive(keeper)) return null;
  try {
    return takeFd(keeper.pid, KEPT_FD);
  } catch {
    return null;
  }
}

/** Ends the keeper: the descriptor is closed (once no one else holds it). */
export function releaseFd(keeper: ProcessIdentity): void {
  if (!isAlive(keeper)) return;
  try {
    kill(keeper.pid, SIGKILL);
  } catch {
    // Gone meanwhile.
  }
}
