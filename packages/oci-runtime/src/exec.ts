// `exec`: a process in a running engine container, made like the container's own.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  bundleConfig,
  type EngineExecRequest,
  execForEngine,
  isAlive,
  TockerError,
  withExecProcess,
} from '@tocker/runtime';
import { checkedId, parseFlags, writeWhole } from './arguments.js';
import { CONFIG_COPY, seccompProfiles } from './create.js';
import { type OciStateRecord, readStateRecord, stateDirectory } from './state.js';

/** The record of a container that exists, or runc's "does not exist". */
function readRecord(root: string, id: string): OciStateRecord {
  const record = readStateRecord(root, id);
  if (record === null) throw new TockerError('container does not exist');
  return record;
}

/** An exec under way: what it asks of the runtime library, and where its pid goes. */
export interface PendingExec {
  readonly request: EngineExecRequest;
  readonly pidFile: string | null;
}

/**
 * exec's arguments checked against its container: a process in a running container, as
 * `--process FILE` describes it (what engines pass) or as the command line's arguments on
 * the container's own process settings. Paths are the caller's: relative to `cwd`.
 */
export function beginExec(root: string, args: readonly string[], cwd: string): PendingExec {
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
  if ((flags.get('preserveFds') ?? '0') !== '0')
    throw new TockerError('--preserve-fds is not supported');
  const record = readRecord(root, id);
  if (!isAlive(record.init)) throw new TockerError('cannot exec in a stopped container');
  const dir = stateDirectory(root, id);
  const profiles = seccompProfiles(root);
  const bundleJson = JSON.parse(readFileSync(join(dir, CONFIG_COPY), 'utf8'));
  const container = bundleConfig(record.bundle, bundleJson, profiles).config;
  const processFile = flags.get('process');
  let processJson: unknown;
  if (processFile !== undefined) {
    try {
      processJson = JSON.parse(readFileSync(resolve(cwd, processFile), 'utf8'));
    } catch (error) {
      throw new TockerError(`cannot read the process file: ${(error as Error).message}`);
    }
  } else {
    const command = rest.slice(1);
    if (command.length === 0) throw new TockerError('exec: a command (or --process) is needed');
    const own = bundleJson.process;
    processJson = {
      ...own,
      args: command,
      terminal: flags.has('tty'),
      cwd: flags.get('cwd') ?? own.cwd,
    };
  }
  const { config, consoleSize } = withExecProcess(container, processJson);
  const consoleSocket = flags.get('consoleSocket');
  const pidFile = flags.get('pidFile');
  return {
    request: {
      config,
      init: record.init,
      cgroupDirs: record.cgroups.paths,
      consoleSocket: consoleSocket === undefined ? null : resolve(cwd, consoleSocket),
      consoleSize,
      detach: flags.has('detach'),
      profiles,
    },
    pidFile: pidFile === undefined ? null : resolve(cwd, pidFile),
  };
}

/** The exec'd process runs: its pid file. */
export function finishExec(pending: PendingExec, pid: number): void {
  if (pending.pidFile !== null) writeWhole(pending.pidFile, String(pid));
}

/** A cold exec: this process runs its shim; its exit code (0 once running, detached). */
export async function exec(root: string, args: readonly string[]): Promise<number> {
  const pending = beginExec(root, args, process.cwd());
  const { pid, exitCode } = await execForEngine(pending.request);
  finishExec(pending, pid);
  return pending.request.detach ? 0 : await exitCode;
}
