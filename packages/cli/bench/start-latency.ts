/**
 * Start-to-exit latency of /bin/true on the default image: the tocker CLI, the tocker
 * library from a warm process, runc and crun on the same rootfs, and a bare `node -e 0`
 * for scale, all in one run. Prints medians and ratios.
 *
 * Run as root: npm run bench (installs runc, crun and hyperfine from apt first).
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMAGE, Runtime } from '@tocker/runtime';
import { timeLibraryRun, trueConfig } from '../../runtime/bench/library-start.js';
import {
  has,
  hyperfine,
  median,
  printLatencies,
  RUNS,
  referenceRuntimes,
  scratchDir,
  WARMUP,
} from '../../runtime/bench/measure.js';
import { removeStateRoot } from '../../runtime/test/scratch.js';

const tockerBin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tocker.cjs');
const scratch = scratchDir();
const env = {
  ...process.env,
  TOCKER_ROOT: join(scratch, 'state'),
  TOCKER_CGROUP_PARENT: 'tocker-bench',
};

/** `keepShimReady`: as the agent runs it, with a shim started ahead of each container. */
async function libraryWarm(keepShimReady: boolean): Promise<number> {
  const runtime = Runtime.open({
    root: env.TOCKER_ROOT,
    cgroupParent: env.TOCKER_CGROUP_PARENT,
    keepShimReady,
  });
  // No network, as runc and crun run it here: the bridge's cost has a row of its own.
  const config = trueConfig(runtime, DEFAULT_IMAGE, 'none');
  const times: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const ms = await timeLibraryRun(runtime, config);
    if (run >= WARMUP) times.push(ms);
  }
  await runtime.close();
  return median(times);
}

const results = new Map<string, number>();
try {
  if (!has('hyperfine'))
    throw new Error('hyperfine is missing: run `npm run bench`, which installs it');
  results.set('node -e 0', hyperfine(scratch, 'node', ['node', '-e', '0'], env));
  results.set(
    'tocker CLI (run --rm)',
    hyperfine(
      scratch,
      'tocker',
      [tockerBin, 'run', '--rm', '--network', 'none', '--rootfs', DEFAULT_IMAGE, '/bin/true'],
      env,
    ),
  );
  results.set(
    'tocker CLI (run --rm, on the bridge network)',
    hyperfine(
      scratch,
      'tocker-bridge',
      [tockerBin, 'run', '--rm', '--rootfs', DEFAULT_IMAGE, '/bin/true'],
      env,
    ),
  );
  results.set(
    'tocker CLI (run -d --rm), until detached',
    hyperfine(
      scratch,
      'tocker-detached',
      [tockerBin, 'run', '-d', '--rm', '--network', 'none', '--rootfs', DEFAULT_IMAGE, '/bin/true'],
      env,
    ),
  );
  results.set('tocker library, warm process', await libraryWarm(false));
  results.set('tocker library, warm process, shim kept ready (the agent)', await libraryWarm(true));
  for (const [name, ms] of referenceRuntimes(scratch)) results.set(name, ms);
} finally {
  removeStateRoot(env.TOCKER_ROOT);
  rmSync(scratch, { recursive: true, force: true });
}
printLatencies(`Start-to-exit of /bin/true, median of ${RUNS} runs:`, results, 'node -e 0');
