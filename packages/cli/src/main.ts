import { SyscallError, TockerError, trace } from '@tocker/runtime';
import { agentCommand } from './agent.js';
import type { AgentClient } from './agent-client.js';
import { LocalBackend } from './backend.js';
import { commands, runSimpleCommand } from './commands.js';
import { execCommand } from './exec.js';
import { isImageCommand } from './image-names.js';
import { openLocalRuntime } from './local-runtime.js';
import { networkCommand } from './networks.js';
import { runCommand } from './run.js';
import { volumeCommand } from './volumes.js';

const usage = `Usage: tocker [-H URL] COMMAND [OPTIONS]

A small container runtime. With -H URL (or TOCKER_HOST, and TOCKER_TOKEN) the commands
go to that agent instead of this machine.

Commands:
  run       Run a command in a new container
  exec      Run a command in a running container
  ps        List containers
  stop      Stop containers (SIGTERM, then SIGKILL)
  restart   Stop containers if they run, then start them again
  kill      Send a signal to containers
  pause     Freeze every process of containers (unpause lets them go on)
  rm        Remove containers
  logs      Print the output of a detached container
  inspect   Print the state of containers as JSON
  update    Change the limits of running containers
  stats     CPU, memory and processes of running containers
  pull      Pull an image from a registry
  login     Keep credentials for a registry (logout forgets them)
  images    List images
  load      Load images from an archive (docker save, OCI)
  save      Write images to an OCI archive
  import    Make an image of a root filesystem tarball
  tag       Give an image another name
  rmi       Remove images
  image     inspect or prune images
  volume    create, ls, inspect, rm or prune named volumes
  network   create, ls, inspect, rm, prune, connect or disconnect networks
  agent     Run the agent (tocker agent --help)

Run 'tocker COMMAND --help' for a command's options.
`;

/** -H URL / --host URL before the command, or TOCKER_HOST: where the containers are. */
function splitHost(args: readonly string[]): { host: string | undefined; args: readonly string[] } {
  const [first, second, ...rest] = args;
  if ((first === '-H' || first === '--host') && second !== undefined)
    return { host: second, args: rest };
  const inline = /^--host=(.+)$/.exec(first ?? '')?.[1];
  if (inline !== undefined) return { host: inline, args: args.slice(1) };
  return { host: process.env.TOCKER_HOST || undefined, args };
}

async function main(argv: readonly string[]): Promise<number> {
  trace('cli loaded');
  const { host, args } = splitHost(argv);
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name === undefined ? 125 : 0;
  }
  // The agent's client is loaded only to talk to an agent: not on a local start's path.
  const remote =
    host === undefined
      ? null
      : async (): Promise<AgentClient> =>
          (await import('./agent-client.js')).AgentClient.connect(host, process.env.TOCKER_TOKEN);
  if (name === 'run') return runCommand(rest, remote);
  if (name === 'exec') return execCommand(rest, remote);
  if (name === 'agent') return agentCommand(rest);
  if (name === 'volume' || name === 'network') {
    if (host !== undefined)
      throw new TockerError(
        `tocker ${name} works on this machine's ${name}s only (not with -H yet)`,
      );
    return name === 'volume' ? volumeCommand(rest) : networkCommand(rest);
  }
  if (isImageCommand(name)) {
    // The store is this machine's; an agent's images come with its image API.
    if (host !== undefined)
      throw new TockerError(`tocker ${name} works on this machine's images only (not with -H yet)`);
    // Loaded only here: the image code is not on the path of a container start.
    const { runImageCommand } = await import('./images.js');
    return runImageCommand(name, rest);
  }
  const command = commands[name];
  if (command === undefined)
    throw new TockerError(`unknown command: ${name} (see 'tocker --help')`);
  return runSimpleCommand(
    name,
    command,
    rest,
    remote ?? (async () => new LocalBackend(openLocalRuntime())),
  );
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
    // A file a user named that is not there (or not readable): their mistake, in one line.
    const { code, path } = error as NodeJS.ErrnoException;
    if (code !== undefined && path !== undefined) {
      const reason = (error as Error).message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
      process.stderr.write(`tocker: ${path}: ${reason}\n`);
      process.exit(125);
    }
    process.stderr.write(`tocker: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(125);
  },
);
