import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { ContainerLimits, ContainerSpec } from '@tocker/protocol';
import { type ContainerRecord, parseLimits, parseSignal, type Runtime } from '@tocker/runtime';
import type { EventJournal } from './journal.js';

/**
 * The containers this agent runs: started through the runtime library, supervised by the
 * agent process, every change of their life written to the journal.
 */
export class ContainerHost {
  constructor(
    private readonly runtime: Runtime,
    private readonly journal: EventJournal,
  ) {}

  async run(spec: ContainerSpec): Promise<ContainerRecord> {
    const container = await this.runtime.create(spec, { stdio: 'log', dieWithParent: false });
    const identity = { id: container.id, name: container.state.name };
    this.journal.append({ kind: 'created', container: identity });
    await container.start();
    this.journal.append({ kind: 'started', container: identity });
    void container.wait().then((exit) => {
      this.journal.append({
        kind: 'exited',
        container: identity,
        exit: {
          exitCode: exit.exitCode,
          signal: exit.signal,
          oomKilled: exit.oomKilled,
          memoryPeakBytes: exit.stats?.memoryPeakBytes ?? null,
          cpuTimeNs: exit.stats?.cpuTimeNs ?? null,
        },
      });
      if (spec.autoRemove) this.journal.append({ kind: 'removed', container: identity });
    });
    return this.runtime.inspect(container.id);
  }

  list(all: boolean): ContainerRecord[] {
    return this.runtime.list().filter((record) => all || record.status !== 'exited');
  }

  inspect(reference: string): ContainerRecord {
    return this.runtime.inspect(reference);
  }

  stop(reference: string, timeoutSeconds: number): Promise<ContainerRecord> {
    return this.runtime.stop(reference, timeoutSeconds);
  }

  kill(reference: string, signal: string): ContainerRecord {
    this.runtime.kill(reference, parseSignal(signal));
    return this.runtime.inspect(reference);
  }

  async remove(reference: string, force: boolean): Promise<void> {
    const record = this.runtime.inspect(reference);
    await this.runtime.remove(record.id, { force });
    this.journal.append({ kind: 'removed', container: { id: record.id, name: record.name } });
  }

  update(reference: string, limits: ContainerLimits): ContainerRecord {
    const updated = this.runtime.updateLimits(reference, parseLimits(limits));
    this.journal.append({
      kind: 'limits-updated',
      container: { id: updated.id, name: updated.name },
      limits: updated.spec.limits,
    });
    return updated;
  }

  /** The last `tailBytes` of a container's output (stdout and stderr, as written). */
  logs(reference: string, tailBytes: number): string {
    const path = this.runtime.store.logPath(this.runtime.inspect(reference).id);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return '';
    }
    const length = Math.min(size, tailBytes);
    const buffer = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  }
}
