import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import {
  closeFrom,
  decodeWaitStatus,
  errno,
  exitImmediately,
  fork,
  kill,
  type LibcCall,
  runCalls,
  SyscallError,
  WNOHANG,
  waitForAnySignal,
  waitpid,
} from './sys/libc.js';

const { SIGCHLD, SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH } = constants.signals;

/** With a terminal these reach the foreground process group from the kernel already. */
const terminalSignals = new Set([SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH]);

/**
 * `--init`: stays PID 1, runs the command as its child, forwards signals to it and reaps
 * every zombie that is re-parented to it, then exits with the command's status. It is the
 * forked container process itself (all signals still blocked since the fork), driven by
 * sigwaitinfo(), so it costs no new Node process.
 */
export function runInit(exec: readonly LibcCall[], terminal: boolean): never {
  const command = fork();
  if (command === 0) {
    try {
      runCalls(exec);
    } catch (error) {
      writeSync(2, `tocker-init: ${(error as Error).message}\n`);
      exitImmediately(127);
    }
  }
  closeFrom(3);
  for (;;) {
    const signal = waitForAnySignal();
    if (signal === SIGCHLD) {
      reapChildren(command);
    } else if (!(terminal && terminalSignals.has(signal))) {
      try {
        kill(command, signal);
      } catch {
        // The command is already gone; its SIGCHLD is on the way.
      }
    }
  }
}

function reapChildren(command: number): void {
  for (;;) {
    let reaped: { pid: number; status: number };
    try {
      reaped = waitpid(-1, WNOHANG);
    } catch (error) {
      if (error instanceof SyscallError && error.errno === errno.ECHILD) return;
      throw error;
    }
    if (reaped.pid === 0) return;
    if (reaped.pid === command) exitImmediately(decodeWaitStatus(reaped.status).exitCode);
  }
}
