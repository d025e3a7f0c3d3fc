import { availableParallelism } from 'node:os';
import type { ContainerUsage } from '@tocker/protocol/vocabulary';
import type { CgroupStats } from './cgroups/index.js';

/** A cgroup's CPU time at a moment (process.hrtime.bigint()). */
export interface CpuSample {
  readonly cpuTimeNs: number;
  readonly at: bigint;
}

/**
 * A container's usage from its cgroup stats, CPU measured since an earlier sample as a
 * percentage of what the container may use: its CPU limit, or the whole host without one
 * (100 = all of it). No earlier sample: 0 %.
 */
export function containerUsage(
  id: string,
  stats: CgroupStats,
  since: CpuSample | undefined,
  now: bigint,
): ContainerUsage {
  const elapsedNs = since === undefined ? 0 : Number(now - since.at);
  const share = stats.cpuLimit ?? availableParallelism();
  const cpu =
    elapsedNs <= 0 || since === undefined
      ? 0
      : (stats.cpuTimeNs - since.cpuTimeNs) / elapsedNs / share;
  return {
    id,
    cpuPercent: Math.max(0, Math.round(cpu * 1000) / 10),
    cpuLimit: stats.cpuLimit,
    memoryBytes: stats.memoryBytes,
    memoryLimitBytes: stats.memoryLimitBytes,
    memoryPeakBytes: stats.memoryPeakBytes,
    pids: stats.pids,
    pidsLimit: stats.pidsLimit,
  };
}
