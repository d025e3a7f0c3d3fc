/**
 * `tocker run --rm /bin/true` against `node -e 0`, interleaved run by run: builds of the CLI
 * (an A/B) and bare Node take turns, the order reversed every other round, so that a busy
 * moment of the machine falls on all of them alike. Prints each one's wall time (median,
 * p10, p90, range), its ratio to `node -e 0`, and its CPU per run (the process and its
 * children: Node, the shim, the container).
 *
 * Run as root: node --import tsx packages/cli/bench/start-ab.ts
 *   BENCH_CLIS  builds to compare: name=path/to/bin/tocker.cjs,name=... (default this build)
 *   BENCH_RUNS  runs of each (default 60), after 5 rounds of warm-up
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import { median, percentile, scratchDir, timed } from '../../runtime/bench/measure.js';
import { removeStateRoot } from '../../runtime/test/scratch.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const WARMUP_ROUNDS = 5;
const thisBuild = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tocker.cjs');

function cliBuilds(): [string, string][] {
  const given = process.env.BENCH_CLIS;
  if (!given) return [['tocker', thisBuild]];
  return given.split(',').map((pair) => {
    const [name, path] = pair.split('=');
    if (!name || !path) throw new Error(`BENCH_CLIS: ${pair} is not name=path`);
    return [`tocker (${name})`, path];
  });
}

/** CPU time of this process's waited-for children so far, in ms (/proc: clock ticks). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // cutime and cstime, fields 16 and 17 of proc(5); USER_HZ is 100 on Linux.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

interface Samples {
  readonly wall: number[];
  cpu: number;
}

const scratch = scratchDir();
const env = {
  ...process.env,
  TOCKER_ROOT: join(scratch, 'state'),
  TOCKER_CGROUP_PARENT: 'tocker-bench-ab',
};
const runArgs = ['run', '--rm', '--network', 'none', '--rootfs', DEFAULT_IMAGE, '/bin/true'];
const contenders: [string, string, string[]][] = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ...cliBuilds().map(([name, bin]): [string, string, string[]] => [name, bin, runArgs]),
];
const samples = new Map<string, Samples>(contenders.map(([name]) => [name, { wall: [], cpu: 0 }]));

try {
  for (let round = 0; round < WARMUP_ROUNDS + RUNS; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [name, command, args] of order) {
      const cpuBefore = childrenCpuMs();
      let status: number | null = null;
      const ms = timed(() => {
        status = spawnSync(command, args, { env, stdio: 'ignore' }).status;
      });
      if (status !== 0) throw new Error(`${name} exited ${status}`);
      if (round < WARMUP_ROUNDS) continue;
      const kept = samples.get(name);
      kept?.wall.push(ms);
      if (kept) kept.cpu += childrenCpuMs() - cpuBefore;
    }
  }
} finally {
  removeStateRoot(env.TOCKER_ROOT);
  rmSync(scratch, { recursive: true, force: true });
}

const node = median(samples.get('node -e 0')?.wall ?? []);
console.log(`\nStart-to-exit of run --rm /bin/true, interleaved, ${RUNS} runs each:\n`);
for (const [name, { wall, cpu }] of samples) {
  const [p10, p50, p90] = [0.1, 0.5, 0.9].map((fraction) => percentile(wall, fraction));
  console.log(
    `  ${name.padEnd(24)} median ${p50?.toFixed(1).padStart(6)} ms (p10 ${p10?.toFixed(1)}, p90 ${p90?.toFixed(1)}, ${Math.min(...wall).toFixed(1)}-${Math.max(...wall).toFixed(1)})  ${((p50 ?? 0) / node).toFixed(2)}x node -e 0  CPU ${(cpu / wall.length).toFixed(1)} ms/run`,
  );
}
