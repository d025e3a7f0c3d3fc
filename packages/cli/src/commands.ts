import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ContainerUsage,
  type ContainerView,
  formatBytes,
  formatPublished,
} from '@tocker/protocol/vocabulary';
import { parseSignal, TockerError } from '@tocker/runtime';
import type { Backend } from './backend.js';
import { booleanFlag, type FlagSpec, flag, formatHelp, help, parseFlags } from './flags.js';
import { pooled } from './pool.js';
import { printTable } from './table.js';

interface Command {
  readonly usage: string;
  readonly description: string;
  readonly flags: readonly FlagSpec[];
  /** At least one container reference is required. */
  readonly needsReference: boolean;
  run(
    backend: Backend,
    references: readonly string[],
    flags: ReturnType<typeof parseFlags>,
  ): Promise<number>;
}

/**
 * Applies an operation to each named thing (containers, volumes), docker-style: its name
 * when done, a line for each failure, and on with the next; exit 1 if any failed.
 */
/** stop's and restart's -t: the grace period before SIGKILL. */
const timeFlag: FlagSpec = {
  name: 'time',
  short: 't',
  value: 'string',
  placeholder: 'SECONDS',
  help: 'Seconds before SIGKILL (default 10)',
};

function graceSeconds(flags: ReturnType<typeof parseFlags>): number {
  const text = flag(flags, 'time') ?? '10';
  if (!/^\d+$/.test(text)) throw new TockerError(`invalid --time: ${text} (whole seconds)`);
  return Number(text);
}

export async function eachNamed(
  references: readonly string[],
  operation: (reference: string) => Promise<void>,
): Promise<number> {
  // Several at once (a stop waits out its grace period, an rm -f its container's end, each
  // recorded by a process of its own): a few, so that ending many is not one process each
  // at the same moment. Reported in the order given.
  const outcomes = await pooled(references, CONCURRENT_ENDS, operation);
  let status = 0;
  for (const [index, reference] of references.entries()) {
    const outcome = outcomes[index] as PromiseSettledResult<void>;
    if (outcome.status === 'fulfilled') {
      process.stdout.write(`${reference}\n`);
      continue;
    }
    if (!(outcome.reason instanceof TockerError)) throw outcome.reason;
    process.stderr.write(`tocker: ${outcome.reason.message}\n`);
    status = 1;
  }
  return status;
}

/** How many containers stop, are removed or restarted at once. */
const CONCURRENT_ENDS = 8;

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
    async run(backend, _references, flags) {
      const listed = await backend.list();
      const records = listed.records.filter(
        (record) => booleanFlag(flags, 'all') || record.status !== 'exited',
      );
      // A damaged record may belong to a running container: always listed, so it can be removed.
      const { corrupt } = listed;
      if (booleanFlag(flags, 'quiet')) {
        for (const { id } of [...records, ...corrupt]) process.stdout.write(`${id.slice(0, 12)}\n`);
        return 0;
      }
      const rows = [
        ['CONTAINER ID', 'NAME', 'COMMAND', 'CREATED', 'STATUS', 'PID', 'PORTS'],
        ...records.map((record) => [
          record.id.slice(0, 12),
          record.name ?? '',
          truncate(JSON.stringify(record.spec.command.join(' ')), 30),
          `${ago(record.createdAt)} ago`,
          describeStatus(record),
          String(record.pid ?? ''),
          record.status !== 'exited' && record.network.mode === 'bridge'
            ? record.network.ports.map(formatPublished).join(', ')
            : '',
        ]),
        ...corrupt.map(({ id, problem }) => [
          id.slice(0, 12),
          '',
          '',
          '',
          `Damaged: ${problem}`,
          '',
          '',
        ]),
      ];
      printTable(rows);
      return 0;
    },
  },
  stop: {
    usage: 'tocker stop [-t SECONDS] CONTAINER...',
    description: 'Stop containers: SIGTERM, then SIGKILL after the timeout.',
    flags: [timeFlag, help],
    needsReference: true,
    run(backend, references, flags) {
      const seconds = graceSeconds(flags);
      return eachNamed(references, (reference) => backend.stop(reference, seconds));
    },
  },
  restart: {
    usage: 'tocker restart [-t SECONDS] CONTAINER...',
    description: 'Stop containers if they run (as stop does), then start them again, detached.',
    flags: [timeFlag, help],
    needsReference: true,
    run(backend, references, flags) {
      const seconds = graceSeconds(flags);
      return eachNamed(references, (reference) => backend.restart(reference, seconds));
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
    run(backend, references, flags) {
      const signal = flag(flags, 'signal') ?? 'KILL';
      parseSignal(signal); // refused here, before anything is sent
      return eachNamed(references, (reference) => backend.kill(reference, signal));
    },
  },
  pause: {
    usage: 'tocker pause CONTAINER...',
    description: 'Freeze every process of running containers.',
    flags: [help],
    needsReference: true,
    run(backend, references) {
      return eachNamed(references, (reference) => backend.pause(reference));
    },
  },
  unpause: {
    usage: 'tocker unpause CONTAINER...',
    description: 'Let paused containers run again.',
    flags: [help],
    needsReference: true,
    run(backend, references) {
      return eachNamed(references, (reference) => backend.unpause(reference));
    },
  },
  rm: {
    usage: 'tocker rm [-f] CONTAINER...',
    description: 'Remove containers (with -f also running ones, which are killed).',
    flags: [{ name: 'force', short: 'f', help: 'Kill running containers first' }, help],
    needsReference: true,
    run(backend, references, flags) {
      return eachNamed(references, (reference) =>
        backend.remove(reference, booleanFlag(flags, 'force')),
      );
    },
  },
  logs: {
    usage: 'tocker logs [-f] CONTAINER',
    description: 'Print the output of a detached container.',
    flags: [{ name: 'follow', short: 'f', help: 'Keep printing until the container exits' }, help],
    needsReference: true,
    async run(backend, references, flags) {
      await printLog(
        backend,
        await backend.inspect(references[0] ?? ''),
        booleanFlag(flags, 'follow'),
      );
      return 0;
    },
  },
  inspect: {
    usage: 'tocker inspect CONTAINER...',
    description: 'Print the state of containers as JSON.',
    flags: [help],
    needsReference: true,
    async run(backend, references) {
      // As docker: what was found is printed, what was not is an error each, and exit 1.
      const found: ContainerView[] = [];
      let status = 0;
      for (const reference of references) {
        try {
          found.push(await backend.inspect(reference));
        } catch (error) {
          if (!(error instanceof TockerError)) throw error;
          process.stderr.write(`tocker: ${error.message}\n`);
          status = 1;
        }
      }
      if (found.length > 0) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      return status;
    },
  },
  update: {
    usage: 'tocker update [--cpus N] [-m SIZE] [--pids-limit N] CONTAINER...',
    description: 'Change the limits of running containers, in place.',
    flags: [
      { name: 'cpus', value: 'string', placeholder: 'N', help: 'CPU limit, fractional' },
      {
        name: 'memory',
        short: 'm',
        value: 'string',
        placeholder: 'SIZE',
        help: 'Memory limit (64m, 1g; bare number: MiB)',
      },
      {
        name: 'pids-limit',
        value: 'string',
        placeholder: 'N',
        help: 'Maximum number of processes',
      },
      help,
    ],
    needsReference: true,
    run(backend, references, flags) {
      const limits = {
        ...(flag(flags, 'cpus') === undefined ? {} : { cpus: flag(flags, 'cpus') }),
        ...(flag(flags, 'memory') === undefined ? {} : { memory: flag(flags, 'memory') }),
        ...(flag(flags, 'pids-limit') === undefined
          ? {}
          : { pidsLimit: flag(flags, 'pids-limit') }),
      };
      if (Object.keys(limits).length === 0)
        throw new TockerError('update: give at least one of --cpus, --memory, --pids-limit');
      return eachNamed(references, (reference) => backend.update(reference, limits));
    },
  },
  stats: {
    usage: 'tocker stats [--no-stream]',
    description: 'Show CPU (of each limit), memory and process counts of running containers.',
    flags: [{ name: 'no-stream', help: 'Print one sample and exit' }, help],
    needsReference: false,
    async run(backend, _references, flags) {
      for (;;) {
        const [usages, { records }] = await Promise.all([backend.stats(), backend.list()]);
        const names = new Map(records.map((record) => [record.id, record.name ?? '']));
        printTable([
          ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM PEAK', 'PIDS'],
          ...usages.map((usage) => statsRow(usage, names.get(usage.id) ?? '')),
        ]);
        if (booleanFlag(flags, 'no-stream')) return 0;
      }
    },
  },
};

function statsRow(usage: ContainerUsage, name: string): string[] {
  const limit = (value: number | null, format: (n: number) => string) =>
    value === null ? 'unlimited' : format(value);
  return [
    usage.id.slice(0, 12),
    name,
    `${usage.cpuPercent.toFixed(1)}%`,
    `${formatBytes(usage.memoryBytes)} / ${limit(usage.memoryLimitBytes, formatBytes)}`,
    usage.memoryPeakBytes === null ? '-' : formatBytes(usage.memoryPeakBytes),
    `${usage.pids} / ${limit(usage.pidsLimit, String)}`,
  ];
}

export async function runSimpleCommand(
  name: string,
  command: Command,
  args: readonly string[],
  openBackend: () => Promise<Backend>,
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
  const backend = await openBackend();
  try {
    return await command.run(backend, parsed.positionals, parsed);
  } finally {
    await backend.close();
  }
}

async function printLog(backend: Backend, record: ContainerView, follow: boolean): Promise<void> {
  let { text, next, running } = await backend.readLog(record.id, {});
  process.stdout.write(text);
  while (follow && running) {
    await sleep(100);
    ({ text, next, running } = await backend.readLog(record.id, { from: next }));
    process.stdout.write(text);
  }
}

function describeStatus(record: ContainerView): string {
  const status = statusText(record);
  if (record.spec.privileged) return `${status} (privileged)`;
  // Its root is not the host's: a range of host ids, the first one shown.
  const root = record.userNamespace?.uidMappings[0];
  return root === undefined ? status : `${status} (userns ${root.hostID})`;
}

function statusText(record: ContainerView): string {
  switch (record.status) {
    case 'created':
      return 'Created';
    case 'running':
      return `Up ${ago(record.startedAt ?? record.createdAt)}${record.paused ? ' (Paused)' : ''}`;
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
