/**
 * A real agent process for the benchmarks: on a random loopback port, with its own state
 * root and token, ready once it prints where it listens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const agentMain = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

export interface AgentOptions {
  readonly root: string;
  readonly token: string;
  readonly cgroupParent: string;
  /** Another build of the agent (an A/B comparison); default this one. */
  readonly main?: string;
  /** Extra arguments for Node (a --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export function startAgent(options: AgentOptions): Promise<{ agent: ChildProcess; url: string }> {
  const agent = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), options.main ?? agentMain, '--listen', '127.0.0.1:0'],
    {
      env: {
        ...process.env,
        ...options.env,
        TOCKER_ROOT: options.root,
        TOCKER_TOKEN: options.token,
        TOCKER_CGROUP_PARENT: options.cgroupParent,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    agent.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (\S+)/.exec(output)?.[1];
      if (url) resolve({ agent, url });
    });
    agent.on('exit', () => reject(new Error(`the agent exited: ${output}`)));
  });
}

/** SIGTERM, and its exit. */
export async function stopAgent(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null || agent.signalCode !== null) return;
  const exited = new Promise((resolve) => agent.on('exit', resolve));
  agent.kill('SIGTERM');
  await exited;
}

/** CPU time a process has used so far (user + system), in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

/**
 * The agent builds a benchmark compares, interleaved round by round (an A/B): BENCH_AGENTS
 * is name=path/to/dist/main.js,name=...; without it, this build's agent alone.
 */
export function agentBuilds(): [string, string][] {
  const given = process.env.BENCH_AGENTS;
  if (!given) return [['tocker agent', agentMain]];
  return given.split(',').map((pair) => {
    const [name, path] = pair.split('=');
    if (!name || !path) throw new Error(`BENCH_AGENTS: ${pair} is not name=path`);
    return [`tocker agent (${name})`, path];
  });
}
