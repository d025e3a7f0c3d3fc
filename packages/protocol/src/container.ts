import type { ContainerSpec } from './spec.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

/**
 * A container as the agent's replies show it (`container:list`, `container:inspect`...):
 * the runtime's record without its host-side bookkeeping. Browser-safe.
 */
export interface ContainerView {
  readonly id: string;
  readonly name: string | null;
  readonly hostname: string;
  readonly spec: ContainerSpec;
  readonly status: ContainerStatus;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** null while it runs, and when it ended unobserved (no supervisor saw its exit). */
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly oomKilled: boolean;
  /** Why it ended abnormally (failed start, supervisor lost). */
  readonly error: string | null;
}

/** A container whose record cannot be read: listed as such; `rm -f` removes it. */
export interface CorruptContainer {
  readonly id: string;
  /** What is wrong with its record. */
  readonly problem: string;
}
