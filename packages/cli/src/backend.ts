import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ContainerLimitsInput,
  ContainerUsage,
  ContainerView,
  CorruptContainer,
} from '@tocker/protocol/vocabulary';
import { containerUsage, parseLimits, parseSignal, type Runtime, viewOf } from '@tocker/runtime';

/**
 * What the CLI's commands do to containers, on this machine (the runtime) or through an
 * agent (TOCKER_HOST): the same commands, flags and output either way.
 */
export interface Backend {
  /** Every container, and those whose record cannot be read. */
  list(): Promise<{ records: ContainerView[]; corrupt: CorruptContainer[] }>;
  inspect(reference: string): Promise<ContainerView>;
  stop(reference: string, timeoutSeconds: number): Promise<void>;
  /** Stops it if it runs, then starts it again, detached: same id, name, writable layer and address. */
  restart(reference: string, timeoutSeconds: number): Promise<void>;
  kill(reference: string, signal: string): Promise<void>;
  pause(reference: string): Promise<void>;
  unpause(reference: string): Promise<void>;
  remove(reference: string, force: boolean): Promise<void>;
  update(reference: string, limits: ContainerLimitsInput): Promise<void>;
  /** From byte `from`, or the last `tail` bytes; `running` says whether more may come. */
  readLog(
    reference: string,
    range: { from?: number; tail?: number },
  ): Promise<{ text: string; next: number; running: boolean }>;
  /** One sample of the running containers (CPU measured over about a second). */
  stats(): Promise<ContainerUsage[]>;
  /** Once the command is done: waits for what runs in the background, lets go of the agent. */
  close(): Promise<void>;
}

export class LocalBackend implements Backend {
  constructor(private readonly runtime: Runtime) {}

  async list(): Promise<{ records: ContainerView[]; corrupt: CorruptContainer[] }> {
    const { records, corrupt } = this.runtime.scan();
    return { records: records.map(viewOf), corrupt };
  }

  async inspect(reference: string): Promise<ContainerView> {
    return viewOf(this.runtime.inspect(reference));
  }

  async stop(reference: string, timeoutSeconds: number): Promise<void> {
    await this.runtime.stop(reference, timeoutSeconds);
  }

  async restart(reference: string, timeoutSeconds: number): Promise<void> {
    const container = await this.runtime.restart(
      reference,
      { io: { kind: 'log' }, foreground: false },
      timeoutSeconds,
    );
    container.detach();
  }

  async kill(reference: string, signal: string): Promise<void> {
    this.runtime.kill(reference, parseSignal(signal));
  }

  async pause(reference: string): Promise<void> {
    this.runtime.pause(reference);
  }

  async unpause(reference: string): Promise<void> {
    this.runtime.unpause(reference);
  }

  remove(reference: string, force: boolean): Promise<void> {
    return this.runtime.remove(reference, { force });
  }

  async update(reference: string, limits: ContainerLimitsInput): Promise<void> {
    this.runtime.updateLimits(reference, parseLimits(limits));
  }

  async readLog(reference: string, range: { from?: number; tail?: number }) {
    return this.runtime.logs(reference, range);
  }

  async stats(): Promise<ContainerUsage[]> {
    const sample = () =>
      new Map(
        this.runtime
          .list()
          .filter((record) => record.status === 'running')
          .flatMap((record) => {
            try {
              return [[record.id, this.runtime.stats(record.id)] as const];
            } catch {
              return []; // it ended meanwhile
            }
          }),
      );
    const first = sample();
    const firstAt = process.hrtime.bigint();
    await sleep(1000);
    const now = process.hrtime.bigint();
    return [...sample()].flatMap(([id, stats]) => {
      const before = first.get(id);
      return before === undefined
        ? []
        : [containerUsage(id, stats, { cpuTimeNs: before.cpuTimeNs, at: firstAt }, now)];
    });
  }

  close(): Promise<void> {
    return this.runtime.close();
  }
}
