import { writeSync } from 'node:fs';

const enabled = process.env.TOCKER_TRACE === '1';

/**
 * TOCKER_TRACE=1 prints when each phase of a start was reached (ms since this process
 * began) on stderr: the way to see where start-up time goes. Free when off.
 */
export function trace(phase: string): void {
  if (enabled) writeSync(2, `tocker-trace ${performance.now().toFixed(2)} ${phase}\n`);
}
