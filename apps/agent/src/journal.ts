import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ContainerEvent, containerEventSchema, parseJsonLines } from '@tocker/protocol';
import { z } from 'zod';

type NewEvent = Omit<ContainerEvent, 'seq'>;

/** What the journal has said about a container so far. */
export interface JournaledState {
  readonly status: 'created' | 'running' | 'exited';
  readonly limits: string;
  /** The networks it is on, as the last networks-changed said (JSON). */
  readonly networks: string;
  readonly paused: boolean;
}

const statusAfter: Partial<Record<ContainerEvent['kind'], JournaledState['status']>> = {
  created: 'created',
  started: 'running',
  exited: 'exited',
};

/**
 * A line of the journal: the event, and how far into the runtime's transitions log the
 * journal has read once it is written. Both in one line, one write: the journal and its
 * resume point can never disagree, whenever the agent is killed.
 */
const journalLine = containerEventSchema
  .extend({ through: z.number().int().nonnegative().optional() })
  .strict();
const LINE_START = '{"seq":';

/** Events kept in memory for clients that resume; older ones are read from the file. */
const EVENTS_IN_MEMORY = 2000;

/**
 * The agent's persistent event journal: one JSON line per event, with a sequence number
 * that only grows. A client that was away asks for everything after the last sequence
 * number it saw (its cursor) and misses nothing, across agent restarts too. Replaying it
 * also tells what was last said about each container, so that a change is journaled once.
 * Only the agent writes it (one agent per state root).
 */
export class EventJournal extends EventEmitter<{ event: [ContainerEvent] }> {
  private readonly recent: ContainerEvent[] = [];
  private last = 0;
  readonly known = new Map<string, JournaledState>();
  /** Where the transitions log has been read up to (the follower resumes there). */
  through = 0;
  /** Damaged lines found when the journal was opened (skipped). */
  readonly skipped: number;

  /** Held open for appending: only this agent writes the file (an open per event cost ~40 µs). */
  private readonly fd: number;

  constructor(private readonly file: string) {
    super();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const torn = cutTornTail(file);
    const { lines, skipped } = readJournal(file);
    this.skipped = skipped + torn;
    for (const line of lines) {
      const { through, ...event } = line;
      if (through !== undefined) this.through = Math.max(this.through, through);
      this.remember(event);
    }
    this.fd = openSync(file, 'a', 0o600);
  }

  close(): void {
    closeSync(this.fd);
  }

  get lastSeq(): number {
    return this.last;
  }

  /**
   * Journals an event; `through` is where the transitions log was read up to once it is
   * in. Throws when it cannot be written (a full disk), and then nothing changed.
   */
  append(event: NewEvent, through?: number): ContainerEvent {
    const recorded: ContainerEvent = { seq: this.last + 1, ...event };
    const line = through === undefined ? recorded : { ...recorded, through };
    writeFileSync(this.fd, `${JSON.stringify(line)}\n`);
    if (through !== undefined) this.through = through;
    this.remember(recorded);
    this.emit('event', recorded);
    return recorded;
  }

  since(cursor: number, limit: number): ContainerEvent[] {
    const oldest = this.recent[0]?.seq ?? this.last + 1;
    const source = cursor + 1 >= oldest ? this.recent : readJournal(this.file).lines;
    const first = source.findIndex((event) => event.seq > cursor);
    return first < 0
      ? []
      : source.slice(first, first + limit).map(({ through: _, ...event }: JournalEntry) => event);
  }

  private remember(event: ContainerEvent): void {
    this.last = event.seq;
    this.recent.push(event);
    if (this.recent.length > EVENTS_IN_MEMORY) this.recent.splice(0, this.recent.length / 2);
    const { id } = event.container;
    if (event.kind === 'removed') {
      this.known.delete(id);
      return;
    }
    const previous = this.known.get(id);
    this.known.set(id, {
      status: statusAfter[event.kind] ?? previous?.status ?? 'created',
      limits:
        event.limits === undefined ? (previous?.limits ?? '{}') : JSON.stringify(event.limits),
      networks:
        event.networks === undefined
          ? (previous?.networks ?? '[]')
          : JSON.stringify(event.networks),
      paused:
        event.kind === 'paused' ||
        (event.kind !== 'unpaused' && event.kind !== 'exited' && (previous?.paused ?? false)),
    });
  }
}

type JournalEntry = ContainerEvent & { through?: number };

/** Every readable line; damaged ones are counted. */
function readJournal(file: string): { lines: JournalEntry[]; skipped: number } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { lines: [], skipped: 0 };
  }
  const { values, skipped } = parseJsonLines(text, journalLine, LINE_START);
  return { lines: values, skipped };
}

/**
 * A last line cut short by a crash or a full disk is cut off the file, so that the next
 * event starts on a line of its own. Returns how many lines that cut (0 or 1).
 */
function cutTornTail(file: string): number {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return 0;
  }
  const complete = bytes.lastIndexOf(0x0a) + 1;
  if (complete === bytes.length) return 0;
  truncateSync(file, complete);
  return 1;
}
