import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ContainerEvent } from '@tocker/protocol';

type NewEvent = Omit<ContainerEvent, 'seq' | 'at'>;

/**
 * The agent's persistent event journal: one JSON line per event, with a sequence number
 * that only grows. A client that was away asks for everything after the last sequence
 * number it saw (its cursor) and misses nothing, across agent restarts too.
 */
export class EventJournal extends EventEmitter<{ event: [ContainerEvent] }> {
  private readonly events: ContainerEvent[];

  constructor(private readonly file: string) {
    super();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.events = readLines(file);
  }

  get lastSeq(): number {
    return this.events.at(-1)?.seq ?? 0;
  }

  append(event: NewEvent): ContainerEvent {
    const recorded: ContainerEvent = {
      seq: this.lastSeq + 1,
      at: new Date().toISOString(),
      ...event,
    };
    appendFileSync(this.file, `${JSON.stringify(recorded)}\n`, { mode: 0o600 });
    this.events.push(recorded);
    this.emit('event', recorded);
    return recorded;
  }

  since(cursor: number, limit: number): ContainerEvent[] {
    const first = this.events.findIndex((event) => event.seq > cursor);
    return first < 0 ? [] : this.events.slice(first, first + limit);
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
