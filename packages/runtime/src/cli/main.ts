import { TockerError } from '../errors.js';
import { SyscallError } from '../sys/libc.js';
import { trace } from '../trace.js';
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
  const command = commands[name];
  if (command === undefined)
    throw new TockerError(`unknown command: ${name} (see 'tocker --help')`);
  return runSimpleCommand(name, command, rest);
}

main(process.argv.slice(2)).then(
  (status) => {
    trace('done');
    process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof TockerError || error instanceof SyscallError) {
      process.stderr.write(`tocker: ${error.message}\n`);
      process.exitCode = error instanceof TockerError ? error.exitCode : 125;
    } else {
      process.stderr.write(`tocker: internal error: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 125;
    }
  },
);
