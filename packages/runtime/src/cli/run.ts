import { openSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { ContainerSpecInput } from '@tocker/protocol';
import { formatBytes } from '@tocker/protocol';
import type { Container } from '../container.js';
import type { ContainerStdio } from '../container-process.js';
import { TockerError } from '../errors.js';
import { DEFAULT_IMAGE } from '../paths.js';
import { openTerminal } from '../pty.js';
import { Runtime } from '../runtime.js';
import { type ContainerSpec, parseContainerSpec } from '../spec.js';
import { close } from '../sys/libc.js';
import { trace } from '../trace.js';
import type { AgentClient } from './agent-client.js';
import {
  booleanFlag,
  type FlagSpec,
  flag,
  formatHelp,
  listFlag,
  type ParsedFlags,
  parseFlags,
} from './flags.js';
import { attachTerminal, currentTerminalSize } from './terminal.js';

/** Flags that run and exec share. */
export const envFlag: FlagSpec = {
  name: 'env',
  short: 'e',
  value: 'list',
  placeholder: 'KEY=VALUE',
  help: 'Set an environment variable (repeatable)',
};
export const workdirFlag: FlagSpec = {
  name: 'workdir',
  short: 'w',
  value: 'string',
  placeholder: 'DIR',
  help: 'Working directory inside the container',
};

/** -e KEY=VALUE, and docker's -e NAME, which passes the caller's value through. */
export function environmentFrom(parsed: ParsedFlags): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of listFlag(parsed, 'env')) {
    const equals = entry.indexOf('=');
    const value = equals >= 0 ? entry.slice(equals + 1) : process.env[entry];
    if (value !== undefined) env[equals >= 0 ? entry.slice(0, equals) : entry] = value;
  }
  return env;
}

export const runFlags: readonly FlagSpec[] = [
  { name: 'interactive', short: 'i', help: 'Keep stdin open and connect it to the container' },
  { name: 'tty', short: 't', help: 'Allocate a terminal (with -i: an interactive shell)' },
  { name: 'detach', short: 'd', help: 'Run in the background and print the container id' },
  { name: 'rm', help: 'Remove the container when it exits' },
  { name: 'name', value: 'string', placeholder: 'NAME', help: 'Name the container' },
  {
    name: 'hostname',
    short: 'h',
    value: 'string',
    placeholder: 'NAME',
    help: 'Host name (default: the short id)',
  },
  {
    name: 'rootfs',
    value: 'string',
    placeholder: 'DIR',
    help: `Root filesystem (default: ${DEFAULT_IMAGE})`,
  },
  { name: 'cpus', value: 'string', placeholder: 'N', help: 'CPU limit, fractional (0.5, 1.5)' },
  {
    name: 'memory',
    short: 'm',
    value: 'string',
    placeholder: 'SIZE',
    help: 'Memory limit: 64m, 1g, 104857600b; a bare number is MiB (as in gocker)',
  },
  { name: 'pids-limit', value: 'string', placeholder: 'N', help: 'Maximum number of processes' },
  envFlag,
  workdirFlag,
  { name: 'init', help: 'Run a minimal init as PID 1 (forwards signals, reaps zombies)' },
  { name: 'help', help: 'Show this help' },
];

export const runHelp = formatHelp(
  'tocker run [OPTIONS] [--rootfs DIR] COMMAND [ARG...]',
  'Run a command in a new container.',
  runFlags,
);

/** Turns the command line into the one validated spec, plus how the CLI should attach. */
export function parseRunArgs(
  args: readonly string[],
): { spec: ContainerSpec; detach: boolean } | 'help' {
  const parsed = parseFlags(args, runFlags, 'run');
  if (booleanFlag(parsed, 'help')) return 'help';
  const env = environmentFrom(parsed);
  const optional = <T>(value: T | undefined, key: string) =>
    value === undefined ? {} : { [key]: value };
  const input: ContainerSpecInput = {
    rootfs: flag(parsed, 'rootfs') ?? DEFAULT_IMAGE,
    command: [...parsed.positionals],
    env,
    tty: booleanFlag(parsed, 'tty'),
    interactive: booleanFlag(parsed, 'interactive'),
    init: booleanFlag(parsed, 'init'),
    autoRemove: booleanFlag(parsed, 'rm'),
    ...optional(flag(parsed, 'name'), 'name'),
    ...optional(flag(parsed, 'hostname'), 'hostname'),
    ...optional(flag(parsed, 'workdir'), 'workdir'),
    limits: {
      ...optional(flag(parsed, 'cpus'), 'cpus'),
      ...optional(flag(parsed, 'memory'), 'memory'),
      ...optional(flag(parsed, 'pids-limit'), 'pidsLimit'),
    },
  };
  return { spec: parseContainerSpec(input), detach: booleanFlag(parsed, 'detach') };
}

export async function runCommand(
  args: readonly string[],
  remote: (() => Promise<AgentClient>) | null,
): Promise<number> {
  const parsed = parseRunArgs(args);
  if (parsed === 'help') {
    process.stdout.write(runHelp);
    return 0;
  }
  const { spec, detach } = parsed;
  if (remote !== null) return runThroughAgent(spec, detach, await remote());
  if (detach && spec.tty) {
    throw new TockerError(
      '-d with -t needs a terminal to come back to: run it through the agent (-H)',
    );
  }
  return detach ? runDetached(spec) : runInForeground(spec);
}

/**
 * run against an agent: -d leaves it there; -t attaches to its terminal; otherwise its
 * output is followed to its end. A foreground --rm container is removed only after its
 * output has been read.
 */
async function runThroughAgent(
  spec: ContainerSpec,
  detach: boolean,
  agent: AgentClient,
): Promise<number> {
  try {
    if (spec.interactive && !spec.tty)
      throw new TockerError('-i without -t is not supported through the agent');
    const record = await agent.run(
      detach ? spec : { ...spec, autoRemove: false },
      spec.tty ? currentTerminalSize() : undefined,
    );
    if (detach) {
      process.stdout.write(`${record.id}\n`);
      return 0;
    }
    let exitCode: number | null;
    if (spec.tty) {
      exitCode = await agent.attach({ container: record.id });
    } else {
      const forward = (signal: NodeJS.Signals) =>
        void agent.kill(record.id, signal).catch(() => {});
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      let from = 0;
      for (;;) {
        const piece = await agent.readLog(record.id, { from });
        process.stdout.write(piece.text);
        from = piece.next;
        if (!piece.running) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      exitCode = (await agent.inspect(record.id)).exitCode;
    }
    if (spec.autoRemove) await agent.remove(record.id, true);
    return exitCode ?? 125;
  } finally {
    agent.close();
  }
}

async function runInForeground(spec: ContainerSpec): Promise<number> {
  trace('spec parsed');
  const runtime = Runtime.open();
  trace('runtime opened');
  const terminal = spec.tty ? openTerminal(currentTerminalSize()) : null;
  const stdio: ContainerStdio = terminal
    ? { stdin: terminal.slave, stdout: terminal.slave, stderr: terminal.slave, terminal: true }
    : {
        stdin: spec.interactive ? 0 : openSync('/dev/null', 'r'),
        stdout: 1,
        stderr: 2,
        terminal: false,
      };

  const signals = new SignalForwarder();
  let container: Container;
  try {
    container = await runtime.create(spec, {
      stdio,
      consolePath: terminal?.slavePath ?? null,
      dieWithParent: true,
    });
  } catch (error) {
    signals.stop();
    throw error;
  } finally {
    if (stdio.stdin > 2) close(stdio.stdin);
  }
  const attached = terminal ? attachTerminal(terminal.master) : Promise.resolve();
  signals.forwardTo(container);
  try {
    await container.start();
  } catch (error) {
    await attached;
    throw error;
  }
  const exit = await container.wait();
  signals.stop();
  await attached;
  if (exit.oomKilled) {
    const limit =
      spec.limits.memory === undefined ? '' : ` (memory limit ${formatBytes(spec.limits.memory)})`;
    process.stderr.write(
      `tocker: container ${container.id.slice(0, 12)} was OOMKilled: out of memory${limit}\n`,
    );
  }
  return exit.exitCode ?? 125; // unknown only if someone else reaped our child
}

/**
 * The CLI is the container's supervisor, so signals sent to it go to the container
 * (docker's sig-proxy). An interrupted CLI must not leave the container behind: a second
 * interrupt, or 10 s without an exit, ends it with SIGKILL, and the normal clean-up runs.
 * Installed before the container exists: a signal during set-up is held and delivered
 * once there is a container, rather than killing the CLI half-way.
 */
class SignalForwarder {
  private static readonly forwarded = [
    'SIGINT',
    'SIGTERM',
    'SIGHUP',
    'SIGQUIT',
    'SIGUSR1',
    'SIGUSR2',
  ] as const;
  private static readonly interrupting = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);
  private container: Container | undefined;
  private readonly pending: NodeJS.Signals[] = [];
  private interrupts = 0;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly handlers = SignalForwarder.forwarded.map((name) => {
    const handler = () => this.deliver(name);
    process.on(name, handler);
    return [name, handler] as const;
  });

  forwardTo(container: Container): void {
    this.container = container;
    for (const name of this.pending.splice(0)) this.deliver(name);
  }

  stop(): void {
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
    for (const [name, handler] of this.handlers) process.off(name, handler);
  }

  private deliver(name: NodeJS.Signals): void {
    const container = this.container;
    if (container === undefined) {
      this.pending.push(name);
      return;
    }
    container.kill(constants.signals[name]);
    if (!SignalForwarder.interrupting.has(name)) return;
    const forceKill = () => container.kill(constants.signals.SIGKILL);
    this.interrupts++;
    if (this.interrupts > 1) forceKill();
    else this.killTimer ??= setTimeout(forceKill, 10_000);
  }
}

/**
 * -d: a detached supervisor process (`tocker __supervise`) owns the container, records
 * its exit and cleans up; this CLI only waits until the container runs.
 */
async function runDetached(spec: ContainerSpec): Promise<number> {
  Runtime.open(); // checks root and collects leftovers before anything starts
  const entry = process.argv[1];
  if (entry === undefined)
    throw new TockerError('cannot find the tocker entry point to start a supervisor');
  const { spawn } = await import('node:child_process'); // only -d needs it
  // The same V8 flags as this process: the code cache is only valid for the flags it was made with.
  const supervisor = spawn(process.execPath, [...process.execArgv, entry, '__supervise'], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
  });
  supervisor.stdin?.end(JSON.stringify(spec));
  const channel = supervisor.stdio[3] as Readable | null;
  if (!channel) throw new TockerError('cannot talk to the supervisor');
  let reply = '';
  for await (const chunk of channel) reply += String(chunk);
  supervisor.unref();
  const outcome = JSON.parse(
    reply || '{"error":"the supervisor exited before starting the container"}',
  ) as { id: string } | { error: string; exitCode: 125 | 126 | 127 };
  if ('error' in outcome) throw new TockerError(outcome.error, outcome.exitCode ?? 125);
  process.stdout.write(`${outcome.id}\n`);
  return 0;
}

/** The detached supervisor: reads the spec on stdin, answers on fd 3, waits for the end. */
export async function superviseCommand(): Promise<number> {
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  // The client may be gone (killed, ^C): its container must not go with it.
  const answer = (message: object) => {
    try {
      writeSync(3, JSON.stringify(message));
    } catch {
      // EPIPE: nobody is waiting for the answer any more.
    }
    close(3);
  };
  let container: Container;
  try {
    const spec = parseContainerSpec(JSON.parse(input));
    container = await Runtime.open().run(spec, { stdio: 'log', dieWithParent: true });
  } catch (error) {
    answer({
      error: (error as Error).message,
      exitCode: error instanceof TockerError ? error.exitCode : 125,
    });
    return 125;
  }
  answer({ id: container.id });
  const exit = await container.wait();
  return exit.exitCode ?? 125;
}
