import { closeSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { ContainerSpecInput, MountInput } from '@tocker/protocol/vocabulary';
import { formatBytes, parsePublish, parseSysctl, parseUlimit } from '@tocker/protocol/vocabulary';
import {
  type Container,
  type ContainerIo,
  type ContainerSpec,
  type ImageRoot,
  openTerminal,
  parseContainerSpec,
  type RootfsPolicy,
  readShimChannelsOn,
  TockerError,
  trace,
} from '@tocker/runtime';
import type { AgentClient } from './agent-client.js';
import {
  booleanFlag,
  type FlagSpec,
  flag,
  formatHelp,
  help,
  listFlag,
  type ParsedFlags,
  parseFlags,
} from './flags.js';
import { openLocalRuntime } from './local-runtime.js';
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
    help: "A directory as the root filesystem, instead of an image (gocker's way)",
  },
  {
    name: 'entrypoint',
    value: 'string',
    placeholder: 'CMD',
    help: 'Replace the image\'s entrypoint ("": none)',
  },
  {
    name: 'volume',
    short: 'v',
    value: 'list',
    placeholder: 'SRC:DST[:ro]',
    help: 'Mount a host path (/path) or a named volume (name) at DST; repeatable',
  },
  {
    name: 'tmpfs',
    value: 'list',
    placeholder: 'DST[:OPTS]',
    help: 'Mount a tmpfs at DST (options size=64m,mode=1777); repeatable',
  },
  { name: 'read-only', help: "Mount the container's root filesystem read-only" },
  {
    name: 'ulimit',
    value: 'list',
    placeholder: 'NAME=SOFT[:HARD]',
    help: 'A resource limit of its processes, e.g. nofile=1024:4096; repeatable',
  },
  {
    name: 'sysctl',
    value: 'list',
    placeholder: 'NAME=VALUE',
    help: 'A kernel parameter of its own namespaces (net.*, kernel.shm*...); repeatable',
  },
  {
    name: 'oom-score-adj',
    value: 'string',
    placeholder: 'N',
    help: 'Its OOM score adjustment, -1000 to 1000 (default 0)',
  },
  {
    name: 'publish',
    short: 'p',
    value: 'list',
    placeholder: '[IP:][HOST_PORT:]PORT[/udp]',
    help: "Publish a container's port on the host (no host port: a free one); repeatable",
  },
  {
    name: 'publish-all',
    short: 'P',
    help: 'Publish every port the image exposes, each on a free host port',
  },
  {
    name: 'network',
    value: 'string',
    placeholder: 'MODE',
    help: 'bridge (default: an address, the outside through NAT), none (only lo), host, container:NAME, or a network of yours',
  },
  {
    name: 'pid',
    value: 'string',
    placeholder: 'container:NAME',
    help: "Share that running container's processes (its PID namespace)",
  },
  {
    name: 'userns',
    value: 'string',
    placeholder: 'auto|host',
    help: "auto: a user namespace of its own, its root an unprivileged range of host ids; host: the host's (default)",
  },
  {
    name: 'network-alias',
    value: 'list',
    placeholder: 'NAME',
    help: "Another name for it on its network's DNS (a network of yours); repeatable",
  },
  {
    name: 'user',
    short: 'u',
    value: 'string',
    placeholder: 'USER[:GROUP]',
    help: "Run as this user (a name or uid of the image's /etc/passwd)",
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
  { name: 'init', help: 'Run an init (tini) as PID 1: forwards signals, reaps zombies' },
  {
    name: 'privileged',
    help: 'Give up isolation but namespaces: every capability and device, no seccomp',
  },
  {
    name: 'cap-add',
    value: 'list',
    placeholder: 'CAP',
    help: 'Add a capability (NET_ADMIN, CAP_SYS_TIME, ALL); repeatable',
  },
  {
    name: 'cap-drop',
    value: 'list',
    placeholder: 'CAP',
    help: 'Drop a capability (or ALL); repeatable',
  },
  {
    name: 'security-opt',
    value: 'list',
    placeholder: 'OPT',
    help: 'seccomp=unconfined, seccomp=PROFILE.json, no-new-privileges',
  },
  {
    name: 'device',
    value: 'list',
    placeholder: 'DEV',
    help: 'Add a host device: /dev/fuse, /dev/sdb:/dev/xvdb:r',
  },
  help,
];

export const runHelp = formatHelp(
  'tocker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n       tocker run [OPTIONS] --rootfs DIR COMMAND [ARG...]',
  'Run a command in a new container.',
  runFlags,
);

/**
 * The image a local run asked for, from this machine's store, pulled first when the store
 * does not have it, as docker run does (null: a --rootfs directory).
 */
async function imageRoot(spec: ContainerSpec): Promise<ImageRoot | null> {
  if (spec.image === undefined) return null;
  // Loaded only for images: a --rootfs start does not pay for the image code.
  const [{ ImageStore }, { pullWithProgress }] = await Promise.all([
    import('@tocker/images'),
    import('./pull.js'),
  ]);
  const store = ImageStore.open();
  let image = store.find(spec.image);
  if (image === null) {
    process.stderr.write(`Unable to find image '${spec.image}' locally\n`);
    // On stderr: stdout is the container's.
    image = await pullWithProgress(store, spec.image, [], process.stderr);
  }
  return store.rootOf(spec.image, image);
}

/** Turns the command line into the one validated spec, plus how the CLI should attach. */
export function parseRunArgs(
  args: readonly string[],
): { spec: ContainerSpec; detach: boolean } | 'help' {
  const parsed = parseFlags(args, runFlags, 'run');
  if (booleanFlag(parsed, 'help')) return 'help';
  const env = environmentFrom(parsed);
  const optional = <T>(value: T | undefined, key: string) =>
    value === undefined ? {} : { [key]: value };
  const rootfs = flag(parsed, 'rootfs');
  // docker's grammar: IMAGE [COMMAND...]; gocker's --rootfs DIR takes the image's place.
  const image = rootfs === undefined ? parsed.positionals[0] : undefined;
  const command = parsed.positionals.slice(rootfs === undefined ? 1 : 0);
  if (rootfs === undefined && image === undefined)
    throw new TockerError(
      '"tocker run" needs an image (or --rootfs DIR): tocker run IMAGE [COMMAND]',
    );
  const entrypoint = flag(parsed, 'entrypoint');
  const input: ContainerSpecInput = {
    ...optional(image, 'image'),
    ...optional(rootfs, 'rootfs'),
    command,
    // docker's --entrypoint is one program; "" means none.
    ...(entrypoint === undefined ? {} : { entrypoint: entrypoint === '' ? [] : [entrypoint] }),
    ...optional(flag(parsed, 'user'), 'user'),
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
    privileged: booleanFlag(parsed, 'privileged'),
    mounts: [
      ...listFlag(parsed, 'volume').map(volumeMount),
      ...listFlag(parsed, 'tmpfs').map(tmpfsMount),
    ],
    readOnlyRoot: booleanFlag(parsed, 'read-only'),
    ulimits: listFlag(parsed, 'ulimit').map((text) => cliParse(parseUlimit, text)),
    sysctls: Object.fromEntries(
      listFlag(parsed, 'sysctl').map((text) => cliParse(parseSysctl, text)),
    ),
    ...optional(oomScoreAdj(flag(parsed, 'oom-score-adj')), 'oomScoreAdj'),
    ...optional(flag(parsed, 'network'), 'network'),
    networkAliases: listFlag(parsed, 'network-alias'),
    ...optional(flag(parsed, 'pid'), 'pid'),
    ...optional(flag(parsed, 'userns'), 'userns'),
    ports: listFlag(parsed, 'publish').map((text) => cliParse(parsePublish, text)),
    publishAll: booleanFlag(parsed, 'publish-all'),
    capAdd: listFlag(parsed, 'cap-add'),
    capDrop: listFlag(parsed, 'cap-drop'),
    devices: listFlag(parsed, 'device'),
    ...securityOptions(listFlag(parsed, 'security-opt')),
  };
  return { spec: parseContainerSpec(input), detach: booleanFlag(parsed, 'detach') };
}

/** docker's -p, its mistakes as the CLI's one-line errors. */
/** A protocol parser's error as the CLI's one line. */
function cliParse<T>(parse: (text: string) => T, text: string): T {
  try {
    return parse(text);
  } catch (error) {
    throw new TockerError((error as Error).message);
  }
}

function oomScoreAdj(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d{1,4}$/.test(text))
    throw new TockerError(`--oom-score-adj ${text}: a whole number from -1000 to 1000`);
  return Number(text);
}

/** docker's -v SOURCE:TARGET[:ro|rw]: a host path when SOURCE is absolute, else a volume. */
function volumeMount(argument: string): MountInput {
  const [source = '', target, options, ...rest] = argument.split(':');
  if (target === undefined || rest.length > 0 || !/^(ro|rw)?$/.test(options ?? ''))
    throw new TockerError(
      `-v ${argument}: SOURCE:TARGET[:ro], SOURCE a host path or a volume name`,
    );
  const readOnly = options === 'ro';
  return source.startsWith('/')
    ? { type: 'bind', source, target, readOnly }
    : { type: 'volume', source, target, readOnly };
}

/** docker's --tmpfs TARGET[:size=SIZE,mode=OCTAL]. */
function tmpfsMount(argument: string): MountInput {
  const [target = '', options = ''] = argument.split(/:(.*)/s);
  const mount: MountInput = { type: 'tmpfs', target };
  for (const option of options.split(',').filter(Boolean)) {
    const [key, value = ''] = option.split('=');
    if (key === 'size') mount.size = value;
    else if (key === 'mode' && /^[0-7]{1,4}$/.test(value)) mount.mode = Number.parseInt(value, 8);
    else throw new TockerError(`--tmpfs ${argument}: options are size=SIZE and mode=OCTAL`);
  }
  return mount;
}

/** docker's --security-opt: seccomp=unconfined|PROFILE, no-new-privileges[=|:true|false]. */
function securityOptions(
  options: readonly string[],
): Pick<ContainerSpecInput, 'seccomp' | 'noNewPrivileges'> {
  const chosen: Pick<ContainerSpecInput, 'seccomp' | 'noNewPrivileges'> = {};
  for (const option of options) {
    const [key = '', value] = option.split(/[=:](.*)/s, 2);
    if (key === 'seccomp' && value !== undefined && value !== '') {
      chosen.seccomp = value === 'unconfined' ? 'unconfined' : readProfile(value);
    } else if (
      key === 'no-new-privileges' &&
      (value === undefined || /^(true|false)$/.test(value))
    ) {
      chosen.noNewPrivileges = value !== 'false';
    } else {
      throw new TockerError(
        `--security-opt ${option}: expected seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges`,
      );
    }
  }
  return chosen;
}

/** A profile file is read here, by the caller: an agent gets its content, not a path. */
function readProfile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new TockerError(`--security-opt seccomp=${path}: cannot read the file`);
  }
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && !Array.isArray(json))
      return json as Record<string, unknown>;
  } catch {
    // Said below.
  }
  throw new TockerError(`--security-opt seccomp=${path}: not a JSON profile`);
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
  // One container's shim at a time: its channel need not bring node:net and node:stream.
  readShimChannelsOn('threadpool');
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
    await agent.close();
  }
}

async function runInForeground(spec: ContainerSpec): Promise<number> {
  trace('spec parsed');
  const runtime = openLocalRuntime();
  const config = runtime.configure(spec, LOCAL_ROOTFS, await imageRoot(spec));
  trace('runtime opened');
  const terminal = spec.tty ? openTerminal(currentTerminalSize()) : null;
  const io: ContainerIo = terminal
    ? { kind: 'terminal', slave: terminal.slave, master: null }
    : { kind: 'relay', stdin: spec.interactive ? 0 : null, stdout: 1, stderr: 2 };
  const signals = new SignalForwarder();
  let container: Container;
  try {
    // What the command writes before the terminal is attached waits in the pty.
    container = await runtime.run(config, { io, foreground: true });
  } catch (error) {
    signals.stop();
    if (terminal) closeSync(terminal.master);
    throw error;
  } finally {
    if (terminal) closeSync(terminal.slave);
  }
  const attached = terminal ? attachTerminal(terminal.master) : Promise.resolve();
  signals.forwardTo(container);
  const exit = await container.wait();
  signals.stop();
  await attached;
  await runtime.close();
  if (exit.oomKilled) {
    const limit =
      spec.limits.memory === undefined ? '' : ` (memory limit ${formatBytes(spec.limits.memory)})`;
    process.stderr.write(
      `tocker: container ${container.id.slice(0, 12)} was OOMKilled: out of memory${limit}\n`,
    );
  }
  return exit.exitCode ?? 125; // unknown only if its shim was killed
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
 * -d: the container's shim supervises it; this CLI only waits until it runs, then lets
 * go (the shim records its end when it comes).
 */
async function runDetached(spec: ContainerSpec): Promise<number> {
  const runtime = openLocalRuntime();
  const container = await runtime.run(
    runtime.configure(spec, LOCAL_ROOTFS, await imageRoot(spec)),
    {
      io: { kind: 'log' },
      foreground: false,
    },
  );
  container.detach();
  process.stdout.write(`${container.id}\n`);
  return 0;
}

/** The local CLI runs as root for root: any directory but the host's own root. */
const LOCAL_ROOTFS: RootfsPolicy = { kind: 'any-directory' };
