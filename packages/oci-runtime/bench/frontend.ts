/**
 * tocker-runtime's front end commands, timed as an engine sees them (a process spawned and
 * waited for), on create-like fixtures (test/fixture.ts): state, start, kill, delete, each
 * the median of BENCH_RUNS (20). For scale, in the same run: /bin/true, and crun's and
 * runc's `state` of an unknown id (their start plus a failed lookup).
 * Run: node --import tsx packages/oci-runtime/bench/frontend.ts
 */
import { spawnSync } from 'node:child_process';
import { FixtureHost } from '../test/fixture.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function timedSpawn(command: string, args: readonly string[]): number {
  const start = process.hrtime.bigint();
  spawnSync(command, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const host = new FixtureHost('ocibench');
try {
  const times: Record<string, number[]> = { state: [], start: [], kill: [], delete: [] };
  const timedRuntime = (command: string, ...args: string[]): number => {
    const start = process.hrtime.bigint();
    const result = host.runtime(command, ...args);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`);
    return elapsed;
  };
  for (let run = 0; run < RUNS; run++) {
    const fixture = await host.create(`bench-${run}`);
    times.state?.push(timedRuntime('state', fixture.id));
    times.start?.push(timedRuntime('start', fixture.id));
    times.kill?.push(timedRuntime('kill', fixture.id, 'KILL'));
    // delete waits for the init's end (its pidfd) and removes two cgroups and the state.
    times.delete?.push(timedRuntime('delete', '--force', fixture.id));
  }
  const reference = (command: string, args: readonly string[]): number =>
    median(Array.from({ length: RUNS }, () => timedSpawn(command, args)));
  const rows: [string, number][] = [
    ...Object.entries(times).map(([name, values]): [string, number] => [
      `tocker-runtime ${name}`,
      median(values),
    ]),
    ['/bin/true', reference('/bin/true', [])],
    ['crun state (unknown id)', reference('crun', ['--root', host.scratch, 'state', 'none'])],
    ['runc state (unknown id)', reference('runc', ['--root', host.scratch, 'state', 'none'])],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(28)} ${value.toFixed(2)} ms`);
} finally {
  host.dispose();
}
