import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TockerError } from '../errors.js';
import { Runtime } from '../runtime.js';
import { parseSignal } from '../signals.js';
import type { ContainerRecord } from '../state.js';
import { booleanFlag, type FlagSpec, flag, formatHelp, parseFlags } from './flags.js';

interface Command {
  readonly usage: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  /** At least one container reference is required. */
  readonly needsReference: boolean;
  run(
    runtime: Runtime,
    references: readonly string[],
    flags: ReturnType<typeof parseFlags>,
  ): Promise<number>;
}

const help: FlagSpec = { name: 'help', help: 'Show this help' };

/** Applies an operation to each named container, docker-style: report failures, keep going. */
async function eachContainer(
  references: readonly string[],
  operation: (reference: string) => Promise<void>,
): Promise<number> {
  let status = 0;
  for (const reference of references) {
    try {
      await operation(reference);
      process.stdout.write(`${reference}\n`);
    } catch (error) {
      if (!(error instanceof TockerError)) throw error;
      process.stderr.write(`tocker: ${error.message}\n`);
      status = 1;
    }
  }
  return status;
}

export const commands: Record<string, Command> = {
  ps: {
    usage: 'tocker ps [-a] [-q]',
    description: 'List containers (running ones unless -a).',
    flags: [
      { name: 'all', short: 'a', help: 'Show all containers, also exited ones' },
      { name: 'quiet', short: 'q', help: 'Only print ids' },
      help,
    ],
    needsReference: false,
    async run(runtime, _references, flags) {
      const records = runtime
        .list()
        .filter((record) => booleanFlag(flags, 'all') || record.status !== 'exited');
      if (booleanFlag(flags, 'quiet')) {
        for (const record of records) process.stdout.write(`${record.id.slice(0, 12)}\n`);
        return 0;
      }
      const rows = [
        ['CONTAINER ID', 'NAME', 'COMMAND', 'CREATED', 'STATUS', 'PID'],
        ...records.map((record) => [
          record.id.slice(0, 12),
          record.name ?? '',
          truncate(JSON.stringify(record.spec.command.join(' ')), 30),
          `${ago(record.createdAt)} ago`,
          describeStatus(record),
          record.status === 'running' ? String(record.process?.pid ?? '') : '',
        ]),
      ];
      const widths =
        rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ??
        [];
      for (const row of rows) {
        process.stdout.write(
          `${row
            .map((cell, column) => cell.padEnd(widths[column] ?? 0))
            .join('   ')
            .trimEnd()}\n`,
        );
      }
      return 0;
    },
  },
  stop: {
    usage: 'tocker stop [-t SECONDS] CONTAINER...',
    description: 'Stop containers: SIGTERM, then SIGKILL after the timeout.',
    flags: [
      {
        name: 'time',
        short: 't',
        value: 'string',
        placeholder: 'SECONDS',
        help: 'Seconds before SIGKILL (default 10)',
      },
      help,
    ],
    needsReference: true,
    run(runtime, references, flags) {
      const text = flag(flags, 'time') ?? '10';
      if (!/^\d+$/.test(text)) throw new TockerError(`invalid --time: ${text} (whole seconds)`);
      return eachContainer(references, async (reference) => {
        await runtime.stop(reference, Number(text));
      });
    },
  },
  kill: {
    usage: 'tocker kill [-s SIGNAL] CONTAINER...',
    description: "Send a signal to containers' PID 1 (default SIGKILL).",
    flags: [
      {
        name: 'signal',
        short: 's',
        value: 'string',
        placeholder: 'SIGNAL',
        help: 'Signal name or number',
      },
      help,
    ],
    needsReference: true,
    run(runtime, references, flags) {
      const signal = parseSignal(flag(flags, 'signal') ?? 'KILL');
      return eachContainer(references, async (reference) => runtime.kill(reference, signal));
    },
  },
  rm: {
    usage: 'tocker rm [-f] CONTAINER...',
    description: 'Remove containers (with -f also running ones, which are killed).',
    flags: [{ name: 'force', short: 'f', help: 'Kill running containers first' }, help],
    needsReference: true,
    run(runtime, references, flags) {
      return eachContainer(references, (reference) =>
        runtime.remove(reference, { force: booleanFlag(flags, 'force') }),
      );
    },
  },
  logs: {
    usage: 'tocker logs [-f] CONTAINER',
    description: 'Print the output of a detached container.',
    flags: [{ name: 'follow', short: 'f', help: 'Keep printing until the container exits' }, help],
    needsReference: true,
    async run(runtime, references, flags) {
      const record = runtime.inspect(references[0] ?? '');
      await printLog(runtime, record, booleanFlag(flags, 'follow'));
      return 0;
    },
  },
  inspect: {
    usage: 'tocker inspect CONTAINER...',
    description: 'Print the state of containers as JSON.',
    flags: [help],
    needsReference: true,
    async run(runtime, references) {
      process.stdout.write(
        `${JSON.stringify(
          references.map((reference) => runtime.inspect(reference)),
          null,
          2,
        )}\n`,
      );
      return 0;
    },
  },
};

export async function runSimpleCommand(
  name: string,
  command: Command,
  args: readonly string[],
): Promise<number> {
  const parsed = parseFlags(args, command.flags, name);
  if (booleanFlag(parsed, 'help')) {
    process.stdout.write(formatHelp(command.usage, command.description, command.flags));
    return 0;
  }
  if (command.needsReference && parsed.positionals.length === 0) {
    throw new TockerError(
      `"tocker ${name}" requires at least one container (usage: ${command.usage})`,
    );
  }
  return command.run(Runtime.open(), parsed.positionals, parsed);
}

async function printLog(runtime: Runtime, record: ContainerRecord, follow: boolean): Promise<void> {
  const path = runtime.store.logPath(record.id);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    if (record.spec.tty)
      throw new TockerError('this container ran with a terminal: its output was not logged');
    throw new TockerError(
      `container ${record.id.slice(0, 12)} has no log (only detached containers are logged)`,
    );
  }
  const buffer = Buffer.alloc(64 * 1024);
  let position = 0;
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, position);
      if (read > 0) {
        position += read;
        process.stdout.write(buffer.subarray(0, read));
        continue;
      }
      if (!follow) return;
      const current = runtime.store.read(record.id);
      if (current === null || (current.status === 'exited' && statSync(path).size <= position))
        return;
      await sleep(100);
    }
  } finally {
    closeSync(fd);
  }
}

function describeStatus(record: ContainerRecord): string {
  switch (record.status) {
    case 'created':
      return 'Created';
    case 'running':
      return `Up ${ago(record.startedAt ?? record.createdAt)}`;
    case 'exited': {
      const detail = [
        String(record.exitCode ?? '?'),
        ...(record.oomKilled ? ['OOMKilled'] : []),
      ].join(', ');
      return `Exited (${detail}) ${ago(record.finishedAt ?? record.createdAt)} ago`;
    }
  }
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} minutes`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} hours`;
  return `${Math.round(seconds / 86400)} days`;
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
