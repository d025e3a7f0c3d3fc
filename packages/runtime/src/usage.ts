import { availableParallelism } from 'node:os';

/**
 * CPU use over an interval as a percentage of what the container may use: its CPU limit,
 * or the whole host without one (100 = all of it).
 */
export function cpuPercent(cpuNs: number, elapsedNs: number, cpuLimit: number | null): number {
  const share = cpuLimit ?? availableParallelism();
  return elapsedNs <= 0 ? 0 : Math.max(0, Math.round((cpuNs / elapsedNs / share) * 1000) / 10);
}
