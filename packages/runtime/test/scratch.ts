import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temporary directory of this test process, named after it (tocker-NAME-PID-XXXXXX):
 * should the process be killed before its clean-up, the next run's sweep
 * (scripts/sweep-tests.mjs) knows whose it was and removes it.
 */
export function scratchDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `tocker-${name}-${process.pid}-`));
}
