import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerLimitsInput, ContainerUsage } from '@tocker/protocol';
import type { Runtime } from '../runtime.js';
import { parseSignal } from '../signals.js';
import { parseLimits } from '../spec.js';
import type { ContainerRecord } from '../state.js';
import { cpuPercent } from '../usage.js';

/**
 * What the CLI's commands do to containers, on this machine (the runtime) or through an
 * agent (TOCKER_HOST): the same commands, flags and output either way.
 */
export interface Backend {
  list(): Promise<ContainerRecord[]>;
  inspect(reference: string): Promise<ContainerRecord>;
  stop(reference: string, timeoutSeconds: number): Promise<void>;
  kill(reference: string, signal: string): Promise<void>;
  remove(reference: string, force: boolean): Promise<void>;
  update(reference: string, limits: ContainerLimitsInput): Promise<void>;
  /** From byte `from`, or the last `tail` bytes; `running` says whether more may come. */
  readLog(
    reference: string,
    range: { from?: number; tail?: number },
  ): Promise<{ text: string; next: number; running: boolean }>;
  /** One sample of the running containers (CPU measured over about a second). */
  stats(): Promise<ContainerUsage[]>;
  close(): void;
}

export class LocalBackend implements Backend {
  constructor(private readonly runtime: Runtime) {}

  async list(): Promise<ContainerRecord[]> {
    return this.runtime.list();
  }

  async inspect(reference: string): Promise<ContainerRecord> {
    return this.runtime.inspect(reference);
  }

  async stop(reference: string, timeoutSeconds: number): Promise<void> {
    await this.runtime.stop(reference, timeoutSeconds);
  }

  async kill(reference: string, signal: string): Promise<void> {
    this.runtime.kill(reference, parseSignal(signal));
  }

  remove(reference: string, force: boolean): Promise<void> {
    return this.runtime.remove(reference, { force });
  }

  async update(reference: string, limits: ContainerLimitsInput): Promise<void> {
    this.runtime.updateLimits(reference, parseLimits(limits));
  }

  async readLog(reference: string, range: { from?: number; tail?: number }) {
    const record = this.runtime.inspect(reference);
    return { ...this.runtime.store.readLog(record.id, range), running: record.status !== 'exited' };
  }

  async stats(): Promise<ContainerUsage[]> {
    const sample = () =>
      new Map(
        this.runtime
          .list()
          .filter((record) => record.status === 'running')
          .flatMap((record) => {
            try {
              return [
                [
                  record.id,
                  { stats: this.runtime.stats(record.id), at: process.hrtime.bigint() },
                ] as const,
              ];
            } catch {
              return [];
            }
          }),
      );
    const before = sample();
    await sleep(1000);
    return [...sample()].flatMap(([id, { stats, at }]) => {
      const start = before.get(id);
      if (start === undefined) return [];
      return [
        {
          id,
          cpuPercent: cpuPercent(
            stats.cpuTimeNs - start.stats.cpuTimeNs,
            Number(at - start.at),
            stats.cpuLimit,
          ),
          cpuLimit: stats.cpuLimit,
          memoryBytes: stats.memoryBytes,
          memoryLimitBytes: stats.memoryLimitBytes,
          memoryPeakBytes: stats.memoryPeakBytes,
          pids: stats.pids,
          pidsLimit: stats.pidsLimit,
        },
      ];
    });
  }

  close(): void {}
}
