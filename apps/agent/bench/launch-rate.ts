/**
 * Launch rate through the agent: 200 detached containers (`sleep 3600`, no network)
 * started by a real agent on loopback, one request after another and with 50 requests in
 * flight, against `runc run -d` and `crun run -d` loops (the same two ways) on the same
 * image. Reports launches per second and each launch's median and p99 (request → reply,
 * which comes once the command runs; for runc and crun, until `run -d` returns).
 *
 * Run as root: node --import tsx apps/agent/bench/launch-rate.ts
 *   BENCH_LAUNCHES   containers per round (default 200)
 *   BENCH_ROUNDS     rounds, each agent build and runtime once per round (default 1)
 *   BENCH_AGENTS     builds to compare, interleaved round by round (an A/B):
 *                    name=path/to/dist/main.js,name=... (default this build's agent)
 *   BENCH_REFERENCES the reference runtimes (default runc,crun; none: the agents only)
 *   BENCH_CPU_PROF   a directory: each agent writes a V8 CPU profile there
 *   TOCKER_TRACE=1   the agents print each start's phases (packages/runtime/src/trace.ts)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectAgent } from '@tocker/agent-client';
import { callAgent } from '@tocker/protocol';
import { DEFAULT_IMAGE, Runtime } from '@tocker/runtime';
import {
  CRUN_WRAPPER,
  has,
  median,
  ociBundle,
  percentile,
  scratchDir,
} from '../../../packages/runtime/bench/measure.js';
import { agentBuilds, cpuSeconds, startAgent, stopAgent } from './agent-process.js';

const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const REFERENCES = (process.env.BENCH_REFERENCES ?? 'runc,crun').split(',');
const IN_FLIGHT = 50;
const COMMAND = ['sleep', '3600'];
const MODES = { sequential: 1, [`${IN_FLIGHT} concurrent`]: IN_FLIGHT } as const;

/** One series of launches: how long all took, and each one. */
interface Series {
  readonly seconds: number;
  readonly latencies: number[];
  /** The agent's CPU time per launch, in ms (its main thread's work and its threads'). */
  cpuPerLaunch?: number;
}

type Results = Record<string, Series>;

/** `count` launches, `inFlight` at a time. */
async function paced(
  count: number,
  inFlight: number,
  launch: (index: number) => Promise<void>,
): Promise<Series> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const before = performance.now();
      await launch(index);
      latencies.push(performance.now() - before);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return { seconds: (performance.now() - started) / 1000, latencies };
}

function run(argv: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: exit ${code}`)),
    );
  });
}

/**
 * The reference loops, in a process of their own (crun's must run in a mount namespace
 * that hides the cgroup2 mount): prints the results as JSON. Deletes what it made.
 */
async function referenceLoops(runtime: string, bundle: string): Promise<void> {
  const made: string[] = [];
  const results: Results = {};
  try {
    for (const [mode, inFlight] of Object.entries(MODES)) {
      results[mode] = await paced(LAUNCHES, inFlight, async (index) => {
        const id = `tocker-bench-launch-${process.pid}-${mode.replace(/\W/g, '')}-${index}`;
        made.push(id);
        await run([runtime, 'run', '-d', '--bundle', bundle, id]);
      });
      await removeReferences(runtime, made.splice(0));
    }
  } finally {
    await removeReferences(runtime, made);
  }
  process.stdout.write(JSON.stringify(results));
}

async function removeReferences(runtime: string, ids: readonly string[]): Promise<void> {
  await paced(ids.length, 8, (index) =>
    run([runtime, 'delete', '-f', ids[index] ?? '']).catch(() => {}),
  );
}

function referenceRuntime(scratch: string, runtime: string): Promise<Results> {
  const bundle = ociBundle(scratch, runtime, COMMAND);
  const wrapper = runtime === 'crun' ? CRUN_WRAPPER : [];
  const argv = [
    ...wrapper,
    process.execPath,
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--reference',
    runtime,
    bundle,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(output))
        : reject(new Error(`${runtime} loops: exit ${code}`)),
    );
  });
}

/** The same series through one agent build, with a fresh state root; removes what it made. */
async function agentRuns(scratch: string, name: string, main: string): Promise<Results> {
  const root = stateRootFor(scratch, name);
  const token = randomBytes(24).toString('base64url');
  const cgroupParent = `tocker-bench-launch-${process.pid}`;
  const profiles = process.env.BENCH_CPU_PROF;
  const { agent, url } = await startAgent({
    root,
    token,
    cgroupParent,
    main,
    ...(profiles ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profiles] } : {}),
  });
  const results: Results = {};
  try {
    const socket = connectAgent(url, token, { reconnect: false });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    for (const [mode, inFlight] of Object.entries(MODES)) {
      const ids: string[] = [];
      const cpuBefore = cpuSeconds(agent.pid ?? 0);
      const series = await paced(LAUNCHES, inFlight, async () => {
        const { container } = await callAgent(
          socket,
          'container:run',
          { spec: { rootfs: DEFAULT_IMAGE, command: COMMAND, network: 'none' } },
          120_000,
        );
        ids.push(container.id);
      });
      series.cpuPerLaunch = ((cpuSeconds(agent.pid ?? 0) - cpuBefore) * 1000) / LAUNCHES;
      results[mode] = series;
      const { containers } = await callAgent(socket, 'container:list', { all: false });
      if (containers.length !== LAUNCHES)
        throw new Error(`${containers.length} containers run, not ${LAUNCHES}`);
      await paced(ids.length, 8, (index) =>
        callAgent(socket, 'container:remove', { container: ids[index] ?? '', force: true }).then(
          () => {},
        ),
      );
    }
    socket.close();
  } finally {
    await stopAgent(agent);
    await removeAll(root, cgroupParent);
  }
  return results;
}

function stateRootFor(scratch: string, name: string): string {
  return join(scratch, `state-${name.replace(/\W+/g, '-')}-${randomBytes(4).toString('hex')}`);
}

/** Whatever a failed run left in a state root (the agent's containers outlive it), then the root. */
async function removeAll(root: string, cgroupParent: string): Promise<void> {
  const runtime = Runtime.open({ root, cgroupParent });
  for (const { id } of runtime.list()) await runtime.remove(id, { force: true });
  await runtime.close();
  rmSync(root, { recursive: true, force: true });
  for (const hierarchy of ['', ...readdirSync('/sys/fs/cgroup')]) {
    try {
      rmdirSync(join('/sys/fs/cgroup', hierarchy, cgroupParent));
    } catch {
      // Not in this hierarchy.
    }
  }
}

function describe(series: readonly Series[]): {
  rate: number;
  range: string;
  p50: number;
  p99: number;
  cpu: number | null;
} {
  const rates = series.map((one) => one.latencies.length / one.seconds);
  const all = series.flatMap((one) => one.latencies);
  return {
    rate: median(rates),
    range: `${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)}`,
    p50: median(all),
    p99: percentile(all, 0.99),
    cpu: series.some((one) => one.cpuPerLaunch === undefined)
      ? null
      : median(series.map((one) => one.cpuPerLaunch ?? 0)),
  };
}

async function main(): Promise<void> {
  const scratch = scratchDir();
  const runs = new Map<string, Results[]>();
  const keep = (name: string, results: Results) =>
    runs.set(name, [...(runs.get(name) ?? []), results]);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, main] of agentBuilds()) keep(name, await agentRuns(scratch, name, main));
      for (const runtime of REFERENCES.filter(has)) {
        rmSync(join(scratch, `bundle-${runtime}`), { recursive: true, force: true });
        keep(`${runtime} run -d`, await referenceRuntime(scratch, runtime));
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  for (const mode of Object.keys(MODES)) {
    console.log(
      `\n${LAUNCHES} detached containers (${COMMAND.join(' ')}), ${mode}, ${ROUNDS} round(s):\n`,
    );
    const rows = [...runs].map(([name, results]) => ({
      name,
      ...describe(results.map((one) => one[mode] as Series)),
    }));
    const crun = rows.find((row) => row.name.startsWith('crun'))?.rate;
    const runc = rows.find((row) => row.name.startsWith('runc'))?.rate;
    for (const row of rows) {
      const ratios = [
        runc && `${(row.rate / runc).toFixed(2)}x runc`,
        crun && `${(row.rate / crun).toFixed(2)}x crun`,
      ]
        .filter(Boolean)
        .join(', ');
      console.log(
        `  ${row.name.padEnd(30)} ${row.rate.toFixed(1).padStart(6)} launches/s (${row.range})   per launch p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms${row.cpu === null ? '' : `, agent CPU ${row.cpu.toFixed(1)} ms`}   ${ratios}`,
      );
    }
  }
}

if (process.argv[2] === '--reference')
  await referenceLoops(process.argv[3] ?? '', process.argv[4] ?? '');
else await main();
