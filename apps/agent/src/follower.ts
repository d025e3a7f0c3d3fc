import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import type { ContainerTransition } from '@tocker/runtime';
import type { EventJournal } from './journal.js';

/**
 * Follows the runtime's transitions log (written by every tocker process) into the
 * agent's numbered journal. Where it stopped is kept beside the journal, so after a
 * restart it continues with what happened while the agent was down. A transition that
 * repeats what the journal already says (two processes collecting the same container)
 * is journaled once.
 */
export class TransitionFollower {
  private offset: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: string,
    private readonly offsetFile: string,
    private readonly journal: EventJournal,
  ) {
    this.offset = readOffset(offsetFile);
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
      fd = openSync(this.log, 'r');
    } catch {
      return; // nothing has happened yet
    }
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) this.offset = 0; // the log was replaced
      if (size === this.offset) return;
      const chunk = Buffer.alloc(size - this.offset);
      readSync(fd, chunk, 0, chunk.length, this.offset);
      const complete = chunk.lastIndexOf(0x0a) + 1;
      for (const line of chunk.subarray(0, complete).toString('utf8').split('\n')) {
        if (line !== '') this.ingest(JSON.parse(line) as ContainerTransition);
      }
      this.offset += complete;
      writeFileSync(`${this.offsetFile}.tmp`, String(this.offset));
      renameSync(`${this.offsetFile}.tmp`, this.offsetFile);
    } finally {
      closeSync(fd);
    }
  }

  private ingest(transition: ContainerTransition): void {
    const known = this.journal.known.get(transition.container.id);
    const repeated =
      (transition.kind === 'created' && known !== undefined) ||
      (transition.kind === 'started' && (known === undefined || known.status === 'running')) ||
      (transition.kind === 'exited' && known?.status === 'exited') ||
      (transition.kind === 'removed' && known === undefined) ||
      (transition.kind === 'limits-updated' && known?.limits === JSON.stringify(transition.limits));
    if (!repeated) this.journal.append(transition);
  }
}

function readOffset(file: string): number {
  try {
    const offset = Number(readFileSync(file, 'utf8'));
    return Number.isSafeInteger(offset) && offset >= 0 ? offset : 0;
  } catch {
    return 0;
  }
}
