import { TockerError } from '../errors.js';
import { SyscallError } from '../sys/libc.js';
import { trace } from '../trace.js';
import { agentCommand } from './agent.js';
import { commands, runSimpleCommand } from './commands.js';
import { runCommand, superviseCommand } from './run.js';

const usage = `Usage: tocker COMMAND [OPTIONS]

A small container runtime.

Commands:
  run       Run a command in a new container
  ps        List containers
  stop      Stop containers (SIGTERM, then SIGKILL)
  kill      Send a signal to containers
  rm        Remove containers
  logs      Print the output of a detached container
  inspect   Print the state of containers as JSON
  agent     Run the agent (tocker agent --help)

Run 'tocker COMMAND --help' for a command's options.
`;

async function main(args: readonly string[]): Promise<number> {
  trace('cli loaded');
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name === undefined ? 125 : 0;
  }
  if (name === 'run') return runCommand(rest);
  if (name === '__supervise') return superviseCommand();
  if (name === 'agent') return agentCommand(rest);
  const command = commands[name];
  if (command === undefined)
    throw new TockerError(`unknown command: ${name} (see 'tocker --help')`);
  return runSimpleCommand(name, command, rest);
}

/**
 * Leaves through process.exit: Node's natural shutdown releases the heap page by page
 * (20-40 ms here), and a CLI has nothing left to clean up. stdout and stderr are
 * synchronous on Linux (files, ttys and pipes), so nothing written is lost.
 */
main(process.argv.slice(2)).then(
  (status) => {
    trace('done');
    process.exit(status);
  },
  (error: unknown) => {
    if (error instanceof TockerError || error instanceof SyscallError) {
      process.stderr.write(`tocker: ${error.message}\n`);
      process.exit(error instanceof TockerError ? error.exitCode : 125);
    }
    process.stderr.write(`tocker: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(125);
  },
);
