// The Node half of tocker-runtime: create and exec arrive here from the C front end
// (native/node.c), global flags first and normalized, the rest as the engine passed it.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type OciHook as BundleHook,
  bundleConfig,
  createForEngine,
  execForEngine,
  identify,
  isAlive,
  makeFifo,
  SeccompProfiles,
  TockerError,
  withExecProcess,
} from '@tocker/runtime';
import { type LogFormat, RuntimeLog } from './log.js';
import {
  DEFAULT_ROOT,
  FIFO_FILE,
  type OciHook,
  type OciStateRecord,
  readStateRecord,
  stateDirectory,
  writeStateRecord,
} from './state.js';

/** The bundle's config.json as create read it, kept for exec (the container's own rules). */
const CONFIG_COPY = 'config.json';

interface Globals {
  readonly root: string;
  readonly log: RuntimeLog;
}

/** runc's rule for container ids: also what keeps an id a plain name under --root. */
const ID = /^[\w+\-.]+$/;

/** Flags of one subcommand: `--name value`, `--name=value`, or a bare switch. */
function parseFlags(
  args: readonly string[],
  valued: Readonly<Record<string, string>>,
  switches: Readonly<Record<string, string>>,
): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  let index = 0;
  for (; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const valuedName = valued[name];
    const switchName = switches[name];
    if (valuedName !== undefined) {
      const value = inline ?? args[++index];
      if (value === undefined) throw new TockerError(`flag needs an argument: ${name}`);
      flags.set(valuedName, value);
    } else if (switchName !== undefined) {
      flags.set(switchName, inline ?? 'true');
    } else {
      throw new TockerError(`flag provided but not defined: ${name}`);
    }
  }
  return { flags, rest: args.slice(index) };
}

function checkedId(rest: readonly string[], command: string): string {
  const id = rest[0];
  if (id === undefined || id === '') throw new TockerError(`"${command}" requires a container id`);
  if (!ID.test(id)) throw new TockerError(`invalid id format: ${id}`);
  return id;
}

function writeWhole(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

const recordHook = (hook: BundleHook): OciHook => ({
  path: hook.path,
  args: hook.args ?? [hook.path],
  env: hook.env ?? [],
  timeout: hook.timeout ?? null,
});

/**
 * create: the state directory with its start fifo, then the container (blocked on the
 * fifo), the pid file and the record `start`, `state`, `kill` and `delete` read. The
 * directory goes away again on any failure.
 */
async function create(globals: Globals, args: readonly string[]): Promise<void> {
  const { flags, rest } = parseFlags(
    args,
    {
      '--bundle': 'bundle',
      '-b': 'bundle',
      '--pid-file': 'pidFile',
      '--console-socket': 'consoleSocket',
      '--preserve-fds': 'preserveFds',
    },
    { '--no-pivot': 'noPivot', '--no-new-keyring': 'noNewKeyring' },
  );
  const id = checkedId(rest, 'create');
  const bundle = resolve(flags.get('bundle') ?? '.');
  const { root, log } = globals;
  if ((flags.get('preserveFds') ?? '0') !== '0')
    throw new TockerError('--preserve-fds is not supported');
  const dir = stateDirectory(root, id);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new TockerError(`container with id exists: ${id}`);
    throw error;
  }
  try {
    let text: string;
    let json: unknown;
    try {
      text = readFileSync(join(bundle, 'config.json'), 'utf8');
      json = JSON.parse(text);
    } catch (error) {
      throw new TockerError(`cannot read the bundle's config.json: ${(error as Error).message}`);
    }
    writeFileSync(join(dir, CONFIG_COPY), text, { mode: 0o600 });
    const oci = bundleConfig(bundle, json, new SeccompProfiles(join(root, '.seccomp')));
    for (const field of oci.notApplied) log.debug(`config.json: ${field} is not applied`);
    const fifo = join(dir, FIFO_FILE);
    makeFifo(fifo, 0o622);
    const container = await createForEngine({
      id,
      bundle: oci,
      bundleDir: bundle,
      startFifo: fifo,
      consoleSocket: flags.get('consoleSocket') ?? null,
      profiles: new SeccompProfiles(join(root, '.seccomp')),
    });
    const init = identify(container.pid) ?? { pid: container.pid, startTime: 0 };
    const freezer = container.cgroup.dirs.find(
      ({ name }) => name === '' || name.split(',').includes('freezer'),
    );
    writeStateRecord(root, {
      ociVersion: oci.config.ociVersion,
      id,
      bundle,
      rootfs: oci.config.root.layers[0] ?? oci.rootfs,
      created: new Date().toISOString(),
      annotations: oci.annotations,
      init,
      cgroups: {
        version: container.cgroup.version,
        paths: container.cgroup.dirs.map(({ path }) => path),
        freezer: freezer?.path ?? null,
      },
      ownPidNamespace: oci.config.linux.namespaces.pid === 'own',
      hooks: {
        poststart: oci.hooks.poststart.map(recordHook),
        poststop: oci.hooks.poststop.map(recordHook),
      },
    });
    const pidFile = flags.get('pidFile');
    if (pidFile !== undefined) writeWhole(resolve(pidFile), String(init.pid));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The record of a container that exists, or runc's "does not exist". */
function readRecord(root: string, id: string): OciStateRecord {
  const record = readStateRecord(root, id);
  if (record === null) throw new TockerError('container does not exist');
  return record;
}

/**
 * exec: a process in a running container, as `--process FILE` describes it (what engines
 * pass) or as the command line's arguments on the container's own process settings.
 */
async function exec(globals: Globals, args: readonly string[]): Promise<number> {
  const { flags, rest } = parseFlags(
    args,
    {
      '--process': 'process',
      '-p': 'process',
      '--pid-file': 'pidFile',
      '--console-socket': 'consoleSocket',
      '--cwd': 'cwd',
      '--preserve-fds': 'preserveFds',
    },
    { '--detach': 'detach', '-d': 'detach', '--tty': 'tty', '-t': 'tty' },
  );
  const id = checkedId(rest, 'exec');
  const { root } = globals;
  if ((flags.get('preserveFds') ?? '0') !== '0')
    throw new TockerError('--preserve-fds is not supported');
  const record = readRecord(root, id);
  if (!isAlive(record.init)) throw new TockerError('cannot exec in a stopped container');
  const dir = stateDirectory(root, id);
  const profiles = new SeccompProfiles(join(root, '.seccomp'));
  const container = bundleConfig(
    record.bundle,
    JSON.parse(readFileSync(join(dir, CONFIG_COPY), 'utf8')),
    profiles,
  ).config;
  const processFile = flags.get('process');
  let processJson: unknown;
  if (processFile !== undefined) {
    try {
      processJson = JSON.parse(readFileSync(processFile, 'utf8'));
    } catch (error) {
      throw new TockerError(`cannot read the process file: ${(error as Error).message}`);
    }
  } else {
    const command = rest.slice(1);
    if (command.length === 0) throw new TockerError('exec: a command (or --process) is needed');
    const own = JSON.parse(readFileSync(join(dir, CONFIG_COPY), 'utf8')).process;
    processJson = {
      ...own,
      args: command,
      terminal: flags.has('tty'),
      cwd: flags.get('cwd') ?? own.cwd,
    };
  }
  const { config, consoleSize } = withExecProcess(container, processJson);
  const detach = flags.has('detach');
  const { pid, exitCode } = await execForEngine({
    config,
    init: record.init,
    cgroupDirs: record.cgroups.paths,
    consoleSocket: flags.get('consoleSocket') ?? null,
    consoleSize,
    detach,
    profiles,
  });
  const pidFile = flags.get('pidFile');
  if (pidFile !== undefined) writeWhole(resolve(pidFile), String(pid));
  return detach ? 0 : await exitCode;
}

function globalsFrom(argv: string[]): { globals: Globals; command: string; args: string[] } {
  const { flags, rest } = parseFlags(
    argv,
    { '--root': 'root', '--log': 'log', '--log-format': 'logFormat' },
    { '--debug': 'debug' },
  );
  const format = flags.get('logFormat') ?? 'text';
  const log = new RuntimeLog({
    file: flags.get('log') ?? null,
    format: format === 'json' ? 'json' : ('text' satisfies LogFormat),
    debug: flags.has('debug'),
  });
  const [command = '', ...args] = rest;
  return { globals: { root: flags.get('root') ?? DEFAULT_ROOT, log }, command, args };
}

async function main(): Promise<number> {
  let log = new RuntimeLog({ file: null, format: 'text', debug: false });
  try {
    const { globals, command, args } = globalsFrom(process.argv.slice(2));
    log = globals.log;
    if (!existsSync(globals.root)) mkdirSync(globals.root, { recursive: true, mode: 0o700 });
    switch (command) {
      case 'create':
        await create(globals, args);
        return 0;
      case 'exec':
        return await exec(globals, args);
      default:
        throw new TockerError(`${command}: not a command of the Node half`);
    }
  } catch (error) {
    log.error(error instanceof TockerError ? error.message : String((error as Error).stack));
    return 1;
  }
}

// Explicitly: nothing this process started may keep it (or the engine waiting on it).
main().then((code) => process.exit(code));
