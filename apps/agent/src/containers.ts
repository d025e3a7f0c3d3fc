import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { ContainerLimits, ContainerSpec } from '@tocker/protocol';
import {
  type Container,
  type ContainerRecord,
  parseLimits,
  parseSignal,
  type Runtime,
} from '@tocker/runtime';

/**
 * The containers this agent runs. They are detached (they outlive the agent) and their
 * output goes to their log file; every transition is logged by the runtime, and
 * `changed` lets the journal pick it up at once rather than at its next poll.
 */
export class ContainerHost {
  private readonly supervised = new Map<string, Container>();

  constructor(
    private readonly runtime: Runtime,
    private readonly changed: () => void,
  ) {}

  /** Takes over the detached containers a previous agent left running. */
  adoptOrphans(): number {
    const adopted = this.runtime.adoptOrphans();
    for (const container of adopted) this.supervise(container);
    return adopted.length;
  }

  async run(spec: ContainerSpec): Promise<ContainerRecord> {
    const container = await this.runtime.create(spec, { stdio: 'log', dieWithParent: false });
    this.supervise(container);
    this.changed();
    await container.start();
    this.changed();
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
    await this.runtime.remove(reference, { force });
    this.changed();
  }

  update(reference: string, limits: ContainerLimits): ContainerRecord {
    const updated = this.runtime.updateLimits(reference, parseLimits(limits));
    this.changed();
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

  private supervise(container: Container): void {
    this.supervised.set(container.id, container);
    void container.wait().then(() => {
      this.supervised.delete(container.id);
      this.changed();
    });
  }
}
