/**
 * The terminal flood, shared by the agent benchmark and the flood A/B: a shell in a
 * container attached as a terminal, its output read and acknowledged by a socket.io client
 * as the dashboard does, and the same flood read from a host pty with no agent at all.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { callAgent, type TerminalExit, type TerminalOutput } from '@tocker/protocol';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import { has } from '../../../packages/runtime/bench/measure.js';
import { cpuSeconds } from './agent-process.js';

/** The flood: 20 MB of random bytes as base64 (27 MB on a terminal, CRs included). */
export const FLOOD_INPUT_BYTES = Number(process.env.BENCH_FLOOD_BYTES ?? 20_000_000);
export const FLOOD_COMMAND = floodCommand(FLOOD_INPUT_BYTES);

function floodCommand(inputBytes: number, source = '/dev/urandom'): string {
  return `head -c ${inputBytes} ${source} | base64`;
}

export function memoryStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return (
    Number(
      new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ??
        0,
    ) * 1024
  );
}

/**
 * A container running `command` on a terminal, attached: its session, and what its output
 * had already been when the attach was answered (the scrollback it returns).
 */
export async function shell(
  socket: Socket,
  command: string[],
): Promise<{ session: string; scrollback: Uint8Array }> {
  const { container } = await callAgent(socket, 'container:run', {
    spec: {
      rootfs: DEFAULT_IMAGE,
      command,
      tty: true,
      interactive: true,
      autoRemove: true,
      network: 'none',
    },
  });
  const { session, scrollback } = await callAgent(socket, 'terminal:attach', {
    container: container.id,
  });
  return { session, scrollback: new Uint8Array(scrollback) };
}

export interface FloodResult {
  readonly mbPerSecond: number;
  readonly megabytes: number;
  readonly frames: number;
  /** From the request to the first output (the container's start), in ms. */
  readonly firstOutputMs: number;
  /** From the first output to the last, in MB/s (the container's start left out). */
  readonly streamMbPerSecond: number;
  /** The agent's peak RSS during the flood, and its RSS before it. */
  readonly peakRss: number;
  readonly rssBefore: number;
  /** CPU seconds used during the flood by the agent and by this client. */
  readonly agentCpu: number;
  readonly clientCpu: number;
  /** Idle CPU seconds of the whole machine during the flood, all cores together. */
  readonly idleCpu: number;
}

/** Idle time of all cores so far, in seconds (/proc/stat's idle and iowait, in clock ticks). */
function idleSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.split(/\s+/) ?? [];
  return (Number(fields[4]) + Number(fields[5])) / 100;
}

/** The flood through a terminal to a viewer that acknowledges as it goes. */
export async function flood(
  socket: Socket,
  agentPid: number,
  inputBytes = FLOOD_INPUT_BYTES,
): Promise<FloodResult> {
  const rssBefore = memoryStatus(agentPid, 'VmRSS');
  const agentCpuBefore = cpuSeconds(agentPid);
  const clientCpuBefore = process.cpuUsage();
  const idleBefore = idleSeconds();
  const started = performance.now();
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, memoryStatus(agentPid, 'VmRSS'));
  }, 50);
  // Listening before the session is known: output can come in the same read as the reply
  // to the attach, before the code awaiting that reply runs again.
  const output = new Map<string, { bytes: number; frames: number; first: number; last: number }>();
  const onOutput = ({ session: from, data }: TerminalOutput) => {
    const now = performance.now();
    const seen = output.get(from) ?? { bytes: 0, frames: 0, first: now, last: now };
    output.set(from, {
      bytes: seen.bytes + data.byteLength,
      frames: seen.frames + 1,
      first: seen.first,
      last: now,
    });
    socket.emit('terminal:ack', { session: from, bytes: data.byteLength });
  };
  const exited = new Set<string>();
  let heardExit = () => {};
  const onExit = ({ session: from }: TerminalExit) => {
    exited.add(from);
    heardExit();
  };
  socket.on('terminal:output', onOutput);
  socket.on('terminal:exit', onExit);
  const { session, scrollback } = await shell(socket, ['sh', '-c', floodCommand(inputBytes)]);
  await new Promise<void>((resolve) => {
    heardExit = () => {
      if (exited.has(session)) resolve();
    };
    heardExit();
  });
  socket.off('terminal:output', onOutput);
  socket.off('terminal:exit', onExit);
  const seen = output.get(session) ?? { bytes: 0, frames: 0, first: started, last: started };
  const received = scrollback.length + seen.bytes;
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  return {
    mbPerSecond: received / 1e6 / seconds,
    megabytes: received / 1e6,
    frames: seen.frames,
    firstOutputMs: seen.first - started,
    streamMbPerSecond: seen.bytes / 1e6 / ((seen.last - seen.first) / 1000),
    peakRss,
    rssBefore,
    agentCpu: cpuSeconds(agentPid) - agentCpuBefore,
    clientCpu: (clientCpu.user + clientCpu.system) / 1e6,
    idleCpu: idleSeconds() - idleBefore,
  };
}

/**
 * The same flood read from a host pty by script(1), with no agent and no container: what the
 * kernel's pty allows on this machine now. `programs` says whose head and base64 write it:
 * the image's (busybox, in a chroot: the very programs the container runs) or the host's
 * (GNU coreutils, which encode faster and read their input in larger pieces). Null without
 * script(1).
 */
export function ptyCeiling(programs: 'image' | 'host'): number | null {
  if (!has('script')) return null;
  // The image has no /dev: its head reads the host's /dev/urandom from its standard input.
  const command =
    programs === 'image'
      ? `chroot ${DEFAULT_IMAGE} sh -c '${floodCommand(FLOOD_INPUT_BYTES, '-')}' < /dev/urandom`
      : FLOOD_COMMAND;
  const started = performance.now();
  spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: 'ignore' });
  // base64's lines of 76 characters, each ended by CR LF on a terminal.
  const shown = FLOOD_INPUT_BYTES * (4 / 3) * (78 / 76);
  return shown / 1e6 / ((performance.now() - started) / 1000);
}
