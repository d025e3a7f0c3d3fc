/**
 * The 27 MB terminal flood through the agent alone, as an A/B: each agent build
 * (BENCH_AGENTS) runs the flood once per round, the builds interleaved, and script(1) reads
 * the same flood from a host pty in each round, with the image's programs and the host's, for
 * the ceiling. Reports the median and the range of each: MB/s from the request (and from the
 * first output, the container's start left out), the frames, the agent's RSS growth, the CPU
 * the agent and the client used, and how much CPU the machine left idle meanwhile (none: the
 * flood is CPU-bound, and every process's CPU per flood counts).
 *
 * Run as root: node --import tsx apps/agent/bench/terminal-flood.ts
 *   BENCH_ROUNDS      rounds (default 5)
 *   BENCH_AGENTS      builds to compare: name=path/to/dist/main.js,name=... (default this build)
 *   BENCH_FLOOD_BYTES random bytes base64 encodes (default 20000000: 27 MB on the terminal)
 *   BENCH_CPU_PROF    a directory: each agent writes a V8 CPU profile there
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectAgent } from '@tocker/agent-client';
import { median, scratchDir } from '../../../packages/runtime/bench/measure.js';
import { agentBuilds, startAgent, stopAgent } from './agent-process.js';
import { FLOOD_COMMAND, type FloodResult, flood, ptyCeiling } from './flood.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_FLOOD_BYTES = 1_000_000;

async function floodThrough(scratch: string, main: string): Promise<FloodResult> {
  const token = randomBytes(24).toString('base64url');
  const profiles = process.env.BENCH_CPU_PROF;
  const { agent, url } = await startAgent({
    root: join(scratch, 'state'),
    token,
    cgroupParent: `tocker-bench-flood-${process.pid}`,
    main,
    ...(profiles ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profiles] } : {}),
  });
  try {
    const socket = connectAgent(url, token);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // A short flood first: the builds are compared warm, as a daemon runs.
    await flood(socket, agent.pid ?? 0, WARMUP_FLOOD_BYTES);
    const result = await flood(socket, agent.pid ?? 0);
    socket.close();
    return result;
  } finally {
    await stopAgent(agent);
  }
}

const range = (values: readonly number[], digits = 1) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`;

const scratch = scratchDir();
const results = new Map<string, FloodResult[]>();
const ceilings = { image: [] as number[], host: [] as number[] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, main] of agentBuilds())
      results.set(name, [...(results.get(name) ?? []), await floodThrough(scratch, main)]);
    for (const programs of ['image', 'host'] as const) {
      const ceiling = ptyCeiling(programs);
      if (ceiling !== null) ceilings[programs].push(ceiling);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`\n${FLOOD_COMMAND} through a terminal, ${ROUNDS} round(s), median (range):\n`);
for (const [name, runs] of results) {
  console.log(
    `  ${name.padEnd(28)} ${range(runs.map((run) => run.mbPerSecond))} MB/s of ${runs[0]?.megabytes.toFixed(1)} MB, ` +
      `streaming ${range(runs.map((run) => run.streamMbPerSecond))} MB/s, first output after ${range(
        runs.map((run) => run.firstOutputMs),
        0,
      )} ms, ${range(
        runs.map((run) => run.frames),
        0,
      )} frames, agent RSS +${range(
        runs.map((run) => (run.peakRss - run.rssBefore) / 1048576),
        0,
      )} MiB, ` +
      `CPU s agent ${range(
        runs.map((run) => run.agentCpu),
        2,
      )}, client ${range(
        runs.map((run) => run.clientCpu),
        2,
      )}, machine idle ${range(
        runs.map((run) => run.idleCpu),
        2,
      )}`,
  );
}
const ceilingNames = {
  image: "script(1), the image's busybox",
  host: "script(1), the host's coreutils",
};
for (const programs of ['image', 'host'] as const)
  if (ceilings[programs].length > 0)
    console.log(
      `  ${ceilingNames[programs].padEnd(28)} ${range(ceilings[programs])} MB/s (no agent)`,
    );
