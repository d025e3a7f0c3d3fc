import { DEFAULT_PIDS_LIMIT, formatBytes, type RequestedEnd } from '@tocker/protocol';

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

export const signalName = (signal: number) => SIGNALS[signal] ?? `signal ${signal}`;

export interface Ending {
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly oomKilled: boolean;
  readonly requestedEnd: RequestedEnd | null;
}

/**
 * How a run ended, in a user's words: `text` says what happened ("stopped" when the user
 * stopped it, "OOMKilled", "exit 3"), `detail` how exactly ("killed by SIGKILL"), `bad`
 * whether it is worth a red badge (a user's own stop is not).
 */
export function describeExit(run: Ending): { text: string; detail: string; bad: boolean } {
  const detail =
    run.signal !== null
      ? `killed by ${signalName(run.signal)}`
      : run.exitCode !== null
        ? `exit ${run.exitCode}`
        : 'exit unknown';
  if (run.oomKilled) return { text: 'OOMKilled', detail, bad: true };
  if (run.requestedEnd !== null)
    return { text: run.requestedEnd === 'stop' ? 'stopped' : 'killed', detail, bad: false };
  return { text: detail, detail, bad: run.exitCode !== 0 };
}

/** "stopped (killed by SIGKILL)": the words and, when they differ, the detail. */
export function describeExitFully(run: Ending): string {
  const { text, detail } = describeExit(run);
  return text === detail ? text : `${text} (${detail})`;
}

/** 3s, 4m 05s, 2h 03m, 3d 4h. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export const formatCpuTime = (ns: number) =>
  ns < 1e9 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e9).toFixed(2)} s`;

export const formatDate = (iso: string) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export const shortId = (id: string) => id.slice(0, 12);

/** argv as a shell user would read it: arguments with spaces are quoted. */
export const formatCommand = (command: readonly string[]) =>
  command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');

/** "0.5 CPU · 64 MiB · 2048 PIDs (default)". */
export function formatLimits(limits: {
  readonly cpus?: number | undefined;
  readonly memory?: number | undefined;
  readonly pidsLimit?: number | null | undefined;
}): string {
  return [
    limits.cpus === undefined ? 'no CPU limit' : `${limits.cpus} CPU`,
    limits.memory === undefined ? 'no memory limit' : formatBytes(limits.memory),
    limits.pidsLimit === undefined
      ? `${DEFAULT_PIDS_LIMIT} PIDs (default)`
      : limits.pidsLimit === null
        ? 'no PIDs limit'
        : `${limits.pidsLimit} PIDs`,
  ].join(' · ');
}

/** "1 layer", "3 layers". */
export const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
