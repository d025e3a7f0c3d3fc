import { TockerError } from '../errors.js';
import type { CgroupLimits } from './types.js';

/** Controller names shared by v1 and v2: what each kind of limit needs. */

export type LimitController = 'cpu' | 'memory' | 'pids';

/** 100 ms, the kernel's default CFS period (and docker's). */
export const CPU_PERIOD_US = 100_000;

export function cpuQuotaUs(cpus: number): number {
  return Math.round(cpus * CPU_PERIOD_US);
}

/** A negative (v1 -1) or missing quota means unlimited. */
export function cpuLimitFrom(quotaUs: number | null, periodUs: number | null): number | null {
  if (quotaUs === null || quotaUs < 0 || !periodUs) return null;
  return quotaUs / periodUs;
}

export function requiredControllers(limits: CgroupLimits): LimitController[] {
  const needed: LimitController[] = [];
  if (limits.cpus !== undefined) needed.push('cpu');
  if (limits.memory !== undefined) needed.push('memory');
  if (limits.pidsLimit !== undefined) needed.push('pids');
  return needed;
}

export function controllerUnavailable(controller: string, why: string): TockerError {
  return new TockerError(`the ${controller} cgroup controller is not available (${why})`);
}
