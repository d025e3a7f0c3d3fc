import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  type ContainerTransition,
  containerTransitionSchema,
  readJsonLine,
} from '@tocker/protocol';
import { TRANSITION_LINE_START, type TransitionLog } from '@tocker/runtime';
import type { EventJournal } from './journal.js';

/**
 * Follows the runtime's transitions log (written by every tocker process) into the
 * agent's numbered journal, exactly once: each journaled event carries the log position
 * it was read up to, so after a crash or a restart the follower resumes exactly after the
 * last transition that made it into the journal, including what happened while the agent
 * was down. Damaged lines are skipped and counted; a journal that cannot be written (a
 * full disk) stops the follower where it is, and the next poll retries.
 */
export class TransitionFollower {
  private timer: NodeJS.Timeout | undefined;
  /** Damaged lines skipped in the transitions log. */
  skipped = 0;
  /** Where reading resumes; past the journal's own mark when only repeats followed it. */
  private offset: number;

  constructor(
    private readonly log: TransitionLog,
    private readonly journal: EventJournal,
    private readonly onSkipped: (count: number) => void = () => {},
  ) {
    this.offset = journal.through;
  }

  start(intervalMs: number): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads what was appended since the last call; only whole lines. */
  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.log.file, 'r');
    } catch {
      return; // nothing has happened yet
    }
    let chunk: Buffer;
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) this.offset = 0; // the log was replaced
      if (size === this.offset) return;
      chunk = Buffer.alloc(size - this.offset);
      readSync(fd, chunk, 0, chunk.length, this.offset);
    } finally {
      closeSync(fd);
    }
    let start = 0;
    let skipped = 0;
    for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
      const line = chunk.toString('utf8', start, end);
      // A line this agent's own runtime made came from a record it validated: parsed as it is.
      const read = this.log.madeHere(line)
        ? { value: JSON.parse(line) as ContainerTransition, skipped: 0 }
        : readJsonLine(line, containerTransitionSchema, TRANSITION_LINE_START);
      skipped += read.skipped;
      const through = this.offset + end + 1;
      if (read.value !== undefined && !this.ingest(read.value, through)) break;
      start = end + 1;
    }
    this.offset += start;
    if (skipped > 0) {
      this.skipped += skipped;
      this.onSkipped(skipped);
    }
  }

  /** false when the journal could not take it: stop here, the next poll comes back. */
  private ingest(transition: ContainerTransition, through: number): boolean {
    const known = this.journal.known.get(transition.container.id);
    const repeated =
      (transition.kind === 'created' && known !== undefined) ||
      (transition.kind === 'started' && (known === undefined || known.status === 'running')) ||
      (transition.kind === 'exited' && known?.status === 'exited') ||
      (transition.kind === 'removed' && known === undefined) ||
      (transition.kind === 'limits-updated' &&
        known?.limits === JSON.stringify(transition.limits)) ||
      (transition.kind === 'paused' && known?.paused === true) ||
      (transition.kind === 'unpaused' && known?.paused !== true) ||
      (transition.kind === 'networks-changed' &&
        known?.networks === JSON.stringify(transition.networks));
    if (repeated) return true;
    try {
      this.journal.append(transition, through);
      return true;
    } catch {
      return false;
    }
  }
}
