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

/** "exit 0", "killed by SIGKILL", "OOMKilled (exit 137)"... */
export function describeExit(run: {
  exitCode: number | null;
  signal: number | null;
  oomKilled: boolean;
}): string {
  const code =
    run.signal !== null
      ? `killed by ${signalName(run.signal)}`
      : run.exitCode !== null
        ? `exit ${run.exitCode}`
        : 'exit unknown';
  return run.oomKilled ? `OOMKilled (${code})` : code;
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
