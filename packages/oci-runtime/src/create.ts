// `create`: a bundle's container made and left blocked on its start fifo, with the record
// the C front end reads. Two ways share it: this process runs the shim (a cold create),
// or the compiler hands the plan to the front end, which runs it (a warm one).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type OciHook as BundleHook,
  bundleConfig,
  createForEngine,
  type EngineContainer,
  type EngineCreateRequest,
  identify,
  makeFifo,
  SeccompProfiles,
  TockerError,
} from '@tocker/runtime';
import { checkedId, parseFlags, writeWhole } from './arguments.js';
import { FIFO_FILE, type OciHook, stateDirectory, writeStateRecord } from './state.js';

/** The bundle's config.json as create read it, kept for exec (the container's own rules). */
export const CONFIG_COPY = 'config.json';

/** The seccomp programs of the root's containers, compiled once per profile. */
export const seccompProfiles = (root: string) => new SeccompProfiles(join(root, '.seccomp'));

/**
 * A create under way: its state directory exists, its container not yet; what it asks of
 * the runtime library, and where its record and pid file go.
 */
export interface PendingCreate extends EngineCreateRequest {
  readonly root: string;
  readonly dir: string;
  readonly pidFile: string | null;
}

const recordHook = (hook: BundleHook): OciHook => ({
  path: hook.path,
  args: hook.args ?? [hook.path],
  env: hook.env ?? [],
  timeout: hook.timeout ?? null,
});

/**
 * create's arguments checked, its state directory made (the id is refused if it exists)
 * with the start fifo and a copy of config.json, and the bundle converted. Paths are the
 * caller's: relative to `cwd`.
 */
export function beginCreate(root: string, args: readonly string[], cwd: string): PendingCreate {
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
  if ((flags.get('preserveFds') ?? '0') !== '0')
    throw new TockerError('--preserve-fds is not supported');
  const bundleDir = resolve(cwd, flags.get('bundle') ?? '.');
  const dir = stateDirectory(root, id);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new TockerError(`container with id exists: ${id}`);
    throw error;
  }
  const consoleSocket = flags.get('consoleSocket');
  const pidFile = flags.get('pidFile');
  try {
    let text: string;
    let json: unknown;
    try {
      text = readFileSync(join(bundleDir, 'config.json'), 'utf8');
      json = JSON.parse(text);
    } catch (error) {
      throw new TockerError(`cannot read the bundle's config.json: ${(error as Error).message}`);
    }
    writeFileSync(join(dir, CONFIG_COPY), text, { mode: 0o600 });
    const profiles = seccompProfiles(root);
    const bundle = bundleConfig(bundleDir, json, profiles);
    const startFifo = join(dir, FIFO_FILE);
    makeFifo(startFifo, 0o622);
    return {
      root,
      id,
      dir,
      bundleDir,
      bundle,
      startFifo,
      consoleSocket: consoleSocket === undefined ? null : resolve(cwd, consoleSocket),
      pidFile: pidFile === undefined ? null : resolve(cwd, pidFile),
      profiles,
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The container exists: the record `start`, `state`, `kill` and `delete` read, then the pid file. */
export function finishCreate(pending: PendingCreate, container: EngineContainer): void {
  const { bundle } = pending;
  const init = identify(container.pid) ?? { pid: container.pid, startTime: 0 };
  const freezer = container.cgroup.dirs.find(
    ({ name }) => name === '' || name.split(',').includes('freezer'),
  );
  writeStateRecord(pending.root, {
    ociVersion: bundle.config.ociVersion,
    id: pending.id,
    bundle: pending.bundleDir,
    rootfs: bundle.config.root.layers[0] ?? bundle.rootfs,
    created: new Date().toISOString(),
    annotations: bundle.annotations,
    init,
    cgroups: {
      version: container.cgroup.version,
      paths: container.cgroup.dirs.map(({ path }) => path),
      freezer: freezer?.path ?? null,
    },
    ownPidNamespace: bundle.config.linux.namespaces.pid === 'own',
    hooks: {
      poststart: bundle.hooks.poststart.map(recordHook),
      poststop: bundle.hooks.poststop.map(recordHook),
    },
  });
  if (pending.pidFile !== null) writeWhole(pending.pidFile, String(init.pid));
}

/** A create that failed leaves nothing: its state directory goes. */
export function abandonCreate(pending: PendingCreate): void {
  rmSync(pending.dir, { recursive: true, force: true });
}

/** A cold create: this process runs the container's shim. */
export async function create(root: string, args: readonly string[]): Promise<void> {
  const pending = beginCreate(root, args, process.cwd());
  try {
    finishCreate(pending, await createForEngine(pending));
  } catch (error) {
    abandonCreate(pending);
    throw error;
  }
}
