import { Runtime } from '@tocker/runtime';

/**
 * This machine's runtime, as a CLI command uses it: the process waits for its clean-up
 * before it exits anyway, so removed containers' directories go at once (see Discard).
 */
export function openLocalRuntime(): Runtime {
  return Runtime.open({ discard: 'at-once' });
}
