import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { TockerError } from './errors.js';
import type { ContainerSpec } from './spec.js';
import { calls, type LibcCall } from './sys/libc.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A clean environment, never the host's: the basics a shell expects, then the user's -e. */
export function containerEnvironment(spec: ContainerSpec, hostname: string): string[] {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: '/root',
    HOSTNAME: hostname,
    ...(spec.tty ? { TERM: 'xterm' } : {}),
    ...spec.env,
  };
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

/**
 * Finds the program like execvp would, but in the container's root (call it after
 * pivot_root), so that "not found" is reported by name before anything runs.
 */
export function resolveExecutable(command: string, env: readonly string[]): string {
  const candidates = command.includes('/')
    ? [command]
    : (env.find((entry) => entry.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH)
        .split(':')
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, command));
  let denied: string | undefined;
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) {
        denied ??= candidate;
        continue;
      }
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') denied ??= candidate;
    }
  }
  if (denied !== undefined)
    throw new TockerError(`${command}: permission denied (${denied} is not executable)`, 126);
  throw new TockerError(`${command}: executable file not found in the container's $PATH`, 127);
}

/**
 * The calls that replace this process with the user's program. Node leaves traces a
 * program must not inherit: fds 0-2 marked close-on-exec, SIGPIPE ignored, a blocked
 * signal mask, and descriptors of its own (epoll, signal pipes).
 */
export function execCalls(
  executable: string,
  argv: readonly string[],
  env: readonly string[],
): LibcCall[] {
  return [
    ...[0, 1, 2].map((fd) => calls.clearCloseOnExec(fd)),
    calls.closeOnExecFrom(3),
    ...calls.resetSignals(),
    calls.execve(executable, argv, env),
  ];
}
