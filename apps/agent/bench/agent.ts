import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectAgent } from '@tocker/agent-client';
import { callAgent, type StatsBatch, type TerminalOutput } from '@tocker/protocol';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import {
  median,
  percentile,
  printLatencies,
  RUNS,
  referenceRuntimes,
  scratchDir,
} from '../../../packages/runtime/bench/measure.js';
import { cpuSeconds, startAgent, stopAgent } from './agent-process.js';
import { FLOOD_COMMAND, flood, memoryStatus, ptyCeiling, shell } from './flood.js';
import { AGENT_WARMUP, startLatencies } from './starts.js';

const scratch = scratchDir();
const token = randomBytes(24).toString('base64url');
const IDLE_CONTAINERS = Number(process.env.BENCH_IDLE ?? 200);

/** One character typed, its echo back: p50 and p99 over 300 keystrokes. */
async function keystrokes(socket: Socket): Promise<{ p50: number; p99: number }> {
  const { session } = await shell(socket, ['cat']);
  let echoed: (() => void) | undefined;
  socket.on('terminal:output', ({ data }: TerminalOutput) => {
    socket.emit('terminal:ack', { session, bytes: data.byteLength });
    echoed?.();
  });
  const times: number[] = [];
  for (let key = 0; key < 300; key++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      echoed = resolve;
      socket.emit('terminal:input', { session, data: 'x' });
    });
    times.push(performance.now() - started);
  }
  echoed = undefined;
  await callAgent(socket, 'terminal:close', { session });
  return { p50: median(times), p99: percentile(times, 0.99) };
}

/** Many sleeping containers while a client streams their stats: the agent's cost. */
async function idle(
  socket: Socket,
  agentPid: number,
): Promise<{ cpuPercent: number; rss: number; perTick: number }> {
  const ids: string[] = [];
  for (let n = 0; n < IDLE_CONTAINERS; n++) {
    const { container } = await callAgent(socket, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        command: ['sleep', '3600'],
        limits: { memory: '16m' },
        network: 'none',
      },
    });
    ids.push(container.id);
  }
  let batches = 0;
  let lastSize = 0;
  socket.on('stats', (batch: StatsBatch) => {
    batches++;
    lastSize = batch.containers.length;
  });
  await callAgent(socket, 'stats:subscribe', {});
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const cpuBefore = cpuSeconds(agentPid);
  const before = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const cpuPercent =
    ((cpuSeconds(agentPid) - cpuBefore) / ((performance.now() - before) / 1000)) * 100;
  const rss = memoryStatus(agentPid, 'VmRSS');
  await callAgent(socket, 'stats:unsubscribe', {});
  if (batches < 8 || lastSize !== IDLE_CONTAINERS)
    throw new Error(`stats: ${batches} batches of ${lastSize}`);
  for (const id of ids) await callAgent(socket, 'container:remove', { container: id, force: true });
  return { cpuPercent, rss, perTick: lastSize };
}

const { agent, url } = await startAgent({
  root: join(scratch, 'state'),
  token,
  cgroupParent: 'tocker-bench',
});
try {
  const socket = connectAgent(url, token, { reconnect: true });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const latencies = new Map<string, number>([
    [
      'tocker agent: run /bin/true → exit event',
      median((await startLatencies(socket, AGENT_WARMUP + RUNS)).slice(AGENT_WARMUP)),
    ],
  ]);
  for (const [name, ms] of referenceRuntimes(scratch)) latencies.set(name, ms);
  printLatencies(`Start-to-exit of /bin/true, median of ${RUNS} runs:`, latencies, 'crun run');

  const keys = await keystrokes(socket);
  console.log(
    `\nKeystroke echo through socket.io and the pty: p50 ${keys.p50.toFixed(2)} ms, p99 ${keys.p99.toFixed(2)} ms`,
  );
  const flow = await flood(socket, agent.pid ?? 0);
  console.log(
    `${flow.megabytes.toFixed(1)} MB flood (${FLOOD_COMMAND}) through a terminal: ${flow.mbPerSecond.toFixed(1)} MB/s; ` +
      `agent RSS ${(flow.rssBefore / 1048576).toFixed(0)} MiB before, peak ${(flow.peakRss / 1048576).toFixed(0)} MiB during (+${((flow.peakRss - flow.rssBefore) / 1048576).toFixed(0)} MiB)`,
  );
  for (const programs of ['image', 'host'] as const) {
    const ceiling = ptyCeiling(programs);
    if (ceiling !== null)
      console.log(
        `the same flood read from a host pty by script(1), no agent, the ${programs}'s head and base64: ${ceiling.toFixed(1)} MB/s`,
      );
  }
  const quiet = await idle(socket, agent.pid ?? 0);
  console.log(
    `${quiet.perTick} idle containers with stats streaming at 1 Hz: agent CPU ${quiet.cpuPercent.toFixed(1)} % of one core, RSS ${(quiet.rss / 1048576).toFixed(0)} MiB`,
  );
  socket.close();
} finally {
  await stopAgent(agent);
  rmSync(scratch, { recursive: true, force: true });
}
