import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import type { ContainerEventKind, ContainerTransition } from '@tocker/protocol';
import type { ContainerRecord } from './record.js';

/** Every line of the log starts so (`at` comes first): what a reader salvages torn lines by. */
export const TRANSITION_LINE_START = '{"at":';

const MADE_KEPT = 256;

/** The line that says `record` went through `kind` (no newline). */
function transitionLine(kind: ContainerEventKind, record: ContainerRecord): string {
  const transition: ContainerTransition = {
    at: new Date().toISOString(),
    kind,
    container: { id: record.id, name: record.name },
    ...(kind === 'created' || kind === 'limits-updated'
      ? { limits: record.config.request.limits }
      : {}),
    ...(kind === 'networks-changed' && record.network.mode === 'bridge'
      ? { networks: record.network.networks.map((attachment) => attachment.network) }
      : {}),
    ...(kind === 'created'
      ? { spec: record.config.request, hostname: record.hostname, image: record.config.root.image }
      : {}),
    ...(kind === 'exited'
      ? {
          exit: {
            exitCode: record.exitCode,
            signal: record.signal,
            oomKilled: record.oomKilled,
            requestedEnd: record.requestedEnd,
            memoryPeakBytes: record.usage?.memoryPeakBytes ?? null,
            cpuTimeNs: record.usage?.cpuTimeNs ?? null,
          },
        }
      : {}),
  };
  return JSON.stringify(transition);
}

/**
 * transitions.jsonl: every transition of every container, appended by whichever tocker
 * process made it (CLI, supervisor, agent). The agent turns it into its numbered event
 * journal, so containers run from the command line, and ends nobody watched, reach it too.
 * One write per append (O_APPEND): concurrent writers do not interleave.
 */
export class TransitionLog {
  /**
   * Lines this process made, until a reader in it (the agent's follower) finds them in the
   * file: it can take them as they are, where another process's lines are validated.
   */
  private readonly made = new Set<string>();

  constructor(readonly file: string) {}

  /** The line that says `record` went through `kind` (no newline), made by this process. */
  line(kind: ContainerEventKind, record: ContainerRecord): string {
    const line = transitionLine(kind, record);
    this.made.add(line);
    // Bounded: lines nobody in this process reads (a CLI's) are let go, oldest first.
    if (this.made.size > MADE_KEPT) this.made.delete(this.made.values().next().value as string);
    return line;
  }

  /** Whether this process made `line` (each is found once: it is forgotten here). */
  madeHere(line: string): boolean {
    return this.made.delete(line);
  }

  size(): number {
    try {
      const fd = openSync(this.file, 'r');
      try {
        return fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
    } catch {
      return 0;
    }
  }

  /**
   * A full disk can leave a torn line (a short write): what follows it then starts on a
   * line of its own. (Between concurrent appenders that check can be late; readers
   * salvage a good line glued to a torn one.)
   */
  append(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    // One descriptor for the check and the write ('a+': O_APPEND, readable).
    const fd = openSync(this.file, 'a+', 0o600);
    try {
      writeFileSync(fd, endsTorn(fd) ? `\n${text}` : text);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Which of `lines` are already in the log, at or after byte `since` (where the log
   * ended before they were first tried): an interrupted append may or may not have
   * happened, and each line must be there exactly once.
   */
  alreadyLogged(lines: readonly string[], since: number): Set<string> {
    let text: string;
    try {
      const fd = openSync(this.file, 'r');
      try {
        const size = fstatSync(fd).size;
        const from = since <= size ? since : 0; // the log was replaced meanwhile
        const bytes = Buffer.alloc(size - from);
        readSync(fd, bytes, 0, bytes.length, from);
        text = bytes.toString('utf8');
      } finally {
        closeSync(fd);
      }
    } catch {
      return new Set();
    }
    // A line may sit behind another writer's torn one (readers salvage it the same way).
    const logged = text.split('\n');
    return new Set(lines.filter((line) => logged.some((entry) => entry.endsWith(line))));
  }
}

function endsTorn(fd: number): boolean {
  const size = fstatSync(fd).size;
  const last = Buffer.alloc(1);
  return size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
}
