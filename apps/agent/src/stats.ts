import { EventEmitter } from 'node:events';
import type { ContainerUsage, StatsBatch } from '@tocker/protocol';
import { type CpuSample, containerUsage, type Runtime } from '@tocker/runtime';
import type { EventJournal } from './journal.js';

/**
 * Samples the cgroups of the running containers about once a second while anyone
 * listens. The running set comes from the journal (no state file is read per tick) and
 * CPU use is the difference of two samples, relative to the container's CPU limit.
 */
export class StatsSampler extends EventEmitter<{ batch: [StatsBatch] }> {
  private timer: NodeJS.Timeout | undefined;
  private previous = new Map<string, CpuSample>();
  private readonly cgroups = new Map<string, ReturnType<Runtime['cgroups']['open']>>();
  private subscribers = 0;

  constructor(
    private readonly runtime: Runtime,
    private readonly journal: EventJournal,
    private readonly intervalMs = 1000,
  ) {
    super();
  }

  subscribe(): void {
    if (this.subscribers++ === 0) this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  unsubscribe(): void {
    if (this.subscribers > 0 && --this.subscribers === 0) {
      clearInterval(this.timer);
      this.previous.clear();
      this.cgroups.clear();
    }
  }

  private sample(): void {
    const now = process.hrtime.bigint();
    const current = new Map<string, CpuSample>();
    const containers: ContainerUsage[] = [];
    for (const [id, state] of this.journal.known) {
      if (state.status !== 'running') continue;
      let stats: ReturnType<Runtime['stats']>;
      try {
        let cgroup = this.cgroups.get(id);
        if (cgroup === undefined) {
          cgroup = this.runtime.cgroups.open(id);
          this.cgroups.set(id, cgroup);
        }
        stats = cgroup.stats();
      } catch {
        continue; // it ended between the journal and now
      }
      current.set(id, { cpuTimeNs: stats.cpuTimeNs, at: now });
      containers.push(containerUsage(id, stats, this.previous.get(id), now));
    }
    this.previous = current;
    for (const id of this.cgroups.keys()) if (!current.has(id)) this.cgroups.delete(id);
    this.emit('batch', { at: new Date().toISOString(), containers });
  }
}
