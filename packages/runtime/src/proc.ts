import { readFileSync } from 'node:fs';

/**
 * A process's start time (clock ticks since boot, /proc/<pid>/stat field 22). Stored next
 * to a pid, it tells a live process from a recycled pid.
 */
export function processStartTime(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: count after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]);
  if (state === 'Z' || state === 'X' || !Number.isFinite(startTime)) return null;
  return startTime;
}

export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: number;
}

export function identify(pid: number): ProcessIdentity | null {
  const startTime = processStartTime(pid);
  return startTime === null ? null : { pid, startTime };
}

export function isAlive(identity: ProcessIdentity | null): identity is ProcessIdentity {
  return identity !== null && processStartTime(identity.pid) === identity.startTime;
}
