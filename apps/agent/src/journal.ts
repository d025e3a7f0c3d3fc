import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ContainerEvent } from '@tocker/protocol';

type NewEvent = Omit<ContainerEvent, 'seq'>;

/** What the journal has said about a container so far. */
export interface JournaledState {
  readonly status: 'created' | 'running' | 'exited';
  readonly limits: string;
}

const statusAfter: Partial<Record<ContainerEvent['kind'], JournaledState['status']>> = {
  created: 'created',
  started: 'running',
  exited: 'exited',
};

/**
 * The agent's persistent event journal: one JSON line per event, with a sequence number
 * that only grows. A client that was away asks for everything after the last sequence
 * number it saw (its cursor) and misses nothing, across agent restarts too. Replaying it
 * also tells what was last said about each container, so that a change is journaled once.
 */
export class EventJournal extends EventEmitter<{ event: [ContainerEvent] }> {
  private readonly events: ContainerEvent[] = [];
  readonly known = new Map<string, JournaledState>();

  constructor(private readonly file: string) {
    super();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    for (const event of readLines(file)) this.remember(event);
  }

  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  append(event: NewEvent): ContainerEvent {
    const recorded: ContainerEvent = { seq: this.lastSeq + 1, ...event };
    appendFileSync(this.file, `${JSON.stringify(recorded)}\n`, { mode: 0o600 });
    this.remember(recorded);
    this.emit('event', recorded);
    return recorded;
  }

  since(cursor: number, limit: number): ContainerEvent[] {
    const first = this.events.findIndex((event) => event.seq > cursor);
    return first < 0 ? [] : this.events.slice(first, first + limit);
  }

  private remember(event: ContainerEvent): void {
    this.events.push(event);
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
    });
  }
}

function readLines(file: string): ContainerEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  // A line cut short by a crash mid-append is dropped; everything before it stands.
  return text.split('\n').flatMap((line) => {
    try {
      return line === '' ? [] : [JSON.parse(line) as ContainerEvent];
    } catch {
      return [];
    }
  });
}
