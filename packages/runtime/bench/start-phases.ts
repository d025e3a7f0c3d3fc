/**
 * Where a start's time goes, phase by phase (TOCKER_TRACE=1): the library from a warm
 * process (/bin/true, no network, as runc and crun are measured) and the CLI's `run --rm`,
 * whose first phase is Node's own start plus loading the CLI. Medians over the runs.
 *
 * Run as root: npm run bench (or node --import tsx packages/runtime/bench/start-phases.ts).
 */
import { spawnSync } from 'node:child_process';
import { openSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMAGE } from '../src/paths.js';
import { removeStateRoot } from '../test/scratch.js';
import { median, RUNS, scratchDir, WARMUP } from './measure.js';

const here = fileURLToPath(import.meta.url);
const cli = join(dirname(here), '..', '..', 'cli', 'bin', 'tocker.cjs');

/** One start's phases, in the order they were reached: [phase, ms since the process began]. */
type Trace = [string, number][];

function parseTraces(stderr: string): Trace[] {
  const traces: Trace[] = [];
  for (const line of stderr.split('\n')) {
    if (line === 'start-phases: run') traces.push([]);
    const match = /^tocker-trace (\S+) (.+)$/.exec(line);
    if (match) traces.at(-1)?.push([match[2] ?? '', Number(match[1])]);
  }
  return traces;
}

/** Median time from each phase to the next, over traces that reached the same phases. */
function printPhases(title: string, traces: readonly Trace[], fromProcessStart: boolean): void {
  const shape = traces
    .at(-1)
    ?.map(([phase]) => phase)
    .join(' ');
  const complete = traces.filter((trace) => trace.map(([phase]) => phase).join(' ') === shape);
  const first = complete[0];
  if (first === undefined) throw new Error(`${title}: no complete trace`);
  console.log(`\n${title} (median of ${complete.length}):\n`);
  const row = (label: string, values: number[]) =>
    console.log(`  ${label.padEnd(40)} ${median(values).toFixed(2).padStart(7)} ms`);
  if (fromProcessStart)
    row(
      `process start → ${first[0]?.[0]}`,
      complete.map((trace) => trace[0]?.[1] ?? 0),
    );
  for (let index = 1; index < first.length; index++)
    row(
      `${first[index - 1]?.[0]} → ${first[index]?.[0]}`,
      complete.map((trace) => (trace[index]?.[1] ?? 0) - (trace[index - 1]?.[1] ?? 0)),
    );
  row(
    'total',
    complete.map(
      (trace) => (trace.at(-1)?.[1] ?? 0) - (fromProcessStart ? 0 : (trace[0]?.[1] ?? 0)),
    ),
  );
}

/** In the child: the library's starts, each announced on stderr before its trace lines. */
async function libraryChild(root: string): Promise<void> {
  // Imported here, after TOCKER_TRACE is set: the trace is switched on when it loads.
  const { Runtime } = await import('@tocker/runtime');
  const { timeLibraryRun, trueConfig } = await import('./library-start.js');
  // As the agent runs it: a shim started ahead of each container.
  const runtime = Runtime.open({ root, cgroupParent: 'tocker-bench', keepShimReady: true });
  const config = trueConfig(runtime, DEFAULT_IMAGE, 'none');
  for (let run = 0; run < WARMUP * 4 + RUNS; run++) {
    process.stderr.write('start-phases: run\n');
    await timeLibraryRun(runtime, config);
  }
  await runtime.close();
}

if (process.argv[2] === '--library') {
  await libraryChild(process.argv[3] ?? '');
} else {
  const scratch = scratchDir();
  const env = {
    ...process.env,
    TOCKER_TRACE: '1',
    TOCKER_ROOT: join(scratch, 'state'),
    TOCKER_CGROUP_PARENT: 'tocker-bench',
  };
  try {
    const library = spawnSync(
      process.execPath,
      [...process.execArgv, here, '--library', env.TOCKER_ROOT],
      { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (library.status !== 0) throw new Error(`the library's starts failed: ${library.stderr}`);
    // The warm-up starts are not counted: V8 has not optimized the path yet.
    printPhases(
      'The library, warm process: phases of a start',
      parseTraces(library.stderr).slice(WARMUP * 4),
      false,
    );
    const traces: Trace[] = [];
    const output = openSync('/dev/null', 'w');
    for (let run = 0; run < WARMUP + RUNS; run++) {
      const started = spawnSync(
        cli,
        ['run', '--rm', '--network', 'none', '--rootfs', DEFAULT_IMAGE, '/bin/true'],
        { env, encoding: 'utf8', stdio: ['ignore', output, 'pipe'] },
      );
      if (started.status !== 0) throw new Error(`tocker run failed: ${started.stderr}`);
      if (run >= WARMUP) traces.push(...parseTraces(`start-phases: run\n${started.stderr}`));
    }
    printPhases(
      'The CLI, `tocker run --rm /bin/true`: phases from its process start',
      traces,
      true,
    );
  } finally {
    removeStateRoot(env.TOCKER_ROOT);
    rmSync(scratch, { recursive: true, force: true });
  }
}
