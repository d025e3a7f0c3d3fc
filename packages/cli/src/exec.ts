import { closeSync } from 'node:fs';
import { type ExecProcess, openTerminal, readShimChannelsOn, TockerError } from '@tocker/runtime';
import type { AgentClient } from './agent-client.js';
import { booleanFlag, type FlagSpec, flag, formatHelp, help, parseFlags } from './flags.js';
import { openLocalRuntime } from './local-runtime.js';
import { envFlag, environmentFrom, workdirFlag } from './run.js';
import { attachTerminal, currentTerminalSize } from './terminal.js';

const execFlags: readonly FlagSpec[] = [
  { name: 'interactive', short: 'i', help: 'Keep stdin open and connect it' },
  { name: 'tty', short: 't', help: 'Allocate a terminal' },
  envFlag,
  workdirFlag,
  help,
];

/** tocker exec [-it] CONTAINER COMMAND [ARG...]: a new process in a running container. */
export async function execCommand(
  args: readonly string[],
  remote: (() => Promise<AgentClient>) | null,
): Promise<number> {
  const parsed = parseFlags(args, execFlags, 'exec');
  if (booleanFlag(parsed, 'help')) {
    process.stdout.write(
      formatHelp(
        'tocker exec [OPTIONS] CONTAINER COMMAND [ARG...]',
        'Run a command in a running container.',
        execFlags,
      ),
    );
    return 0;
  }
  const [container, ...command] = parsed.positionals;
  if (container === undefined || command.length === 0) {
    throw new TockerError('"tocker exec" requires a container and a command');
  }
  const env = environmentFrom(parsed);
  const workdir = flag(parsed, 'workdir');
  const request = { command, env, ...(workdir === undefined ? {} : { workdir }) };
  const tty = booleanFlag(parsed, 'tty');

  if (remote !== null) {
    const agent = await remote();
    try {
      if (tty) {
        const { session } = await agent.call('terminal:exec', {
          container,
          ...request,
          terminal: currentTerminalSize(),
        });
        return (await agent.attach({ session })) ?? 125;
      }
      if (booleanFlag(parsed, 'interactive'))
        throw new TockerError('exec -i without -t is not supported through the agent');
      const { exitCode, output } = await agent.call('container:exec', { container, ...request });
      process.stdout.write(output);
      return exitCode ?? 125;
    } finally {
      await agent.close();
    }
  }

  // One shim, the exec's: its channel need not bring node:net and node:stream.
  readShimChannelsOn('threadpool');
  const runtime = openLocalRuntime();
  const terminal = tty ? openTerminal(currentTerminalSize()) : null;
  let process_: ExecProcess;
  try {
    process_ = await runtime.exec(
      container,
      { ...request, tty },
      terminal
        ? { kind: 'terminal', slave: terminal.slave }
        : {
            kind: 'relay',
            stdin: booleanFlag(parsed, 'interactive') ? 0 : null,
            stdout: 1,
            stderr: 2,
          },
    );
  } finally {
    if (terminal) closeSync(terminal.slave);
  }
  const attached = terminal ? attachTerminal(terminal.master) : Promise.resolve();
  const { exitCode } = await process_.wait();
  await attached;
  return exitCode ?? 125;
}
