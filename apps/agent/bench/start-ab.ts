/**
 * Start-to-exit of /bin/true through the agent (request → exit event) against `crun run`,
 * round by round: agent builds (an A/B) and crun take turns, the builds' order reversed
 * every other round, so that a busy moment of the machine falls on all of them alike.
 * Prints each round and the medians of the rounds' medians, with their ratios to crun.
 *
 * Run as root: node --import tsx apps/agent/bench/start-ab.ts
 *   BENCH_AGENTS  builds to compare: name=path/to/dist/main.js,name=... (default this build)
 *   BENCH_ROUNDS  rounds (default 6) of BENCH_RUNS starts per build (default 100)
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectAgent } from '@tocker/agent-client';
import {
  CRUN_WRAPPER,
  has,
  hyperfine,
  median,
  ociBundle,
  scratchDir,
} from '../../../packages/runtime/bench/measure.js';
import { agentBuilds, startAgent, stopAgent } from './agent-process.js';
import { AGENT_WARMUP, startLatencies } from './starts.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const RUNS = Number(process.env.BENCH_RUNS ?? 100);

if (!has('crun')) throw new Error('crun is not installed (npm run bench installs it)');
const scratch = scratchDir();
const token = randomBytes(24).toString('base64url');
const agents = [];
try {
  for (const [index, [name, main]] of agentBuilds().entries()) {
    const { agent, url } = await startAgent({
      root: join(scratch, `state-${index}`),
      token,
      cgroupParent: `tocker-bench-ab-${index}`,
      main,
    });
    const socket = connectAgent(url, token, { reconnect: true });
    agents.push({ name, agent, socket });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await startLatencies(socket, AGENT_WARMUP);
  }
  const bundle = ociBundle(scratch, 'crun', undefined, false);
  const rounds = new Map<string, number[]>(
    [...agents.map(({ name }) => name), 'crun run'].map((name) => [name, []]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    const line: string[] = [];
    for (const { name, socket } of round % 2 === 0 ? agents : [...agents].reverse()) {
      const ms = median(await startLatencies(socket, RUNS));
      rounds.get(name)?.push(ms);
      line.push(`${name} ${ms.toFixed(2)} ms`);
    }
    const crun = hyperfine(
      scratch,
      'crun',
      ['crun', 'run', '--bundle', bundle, 'tocker-bench-ab'],
      process.env,
      CRUN_WRAPPER,
    );
    rounds.get('crun run')?.push(crun);
    console.log(`round ${round + 1}: ${line.join(', ')}, crun run ${crun.toFixed(2)} ms`);
  }
  const crun = median(rounds.get('crun run') ?? []);
  console.log(`\nStart-to-exit of /bin/true, medians of ${ROUNDS} rounds of ${RUNS}:\n`);
  for (const [name, values] of rounds)
    console.log(
      `  ${name.padEnd(28)} ${median(values).toFixed(2).padStart(6)} ms  ${(median(values) / crun).toFixed(2)}x crun`,
    );
} finally {
  for (const { agent, socket } of agents) {
    socket.close();
    await stopAgent(agent);
  }
  rmSync(scratch, { recursive: true, force: true });
}
