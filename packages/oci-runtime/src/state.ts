/**
 * A container's state under tocker-runtime's --root (docs/oci-runtime.md, "State"):
 * `<root>/<id>/state.json` for people and the agent, `record.plan` with the same facts in
 * the shim's plan encoding for the C front end (native/container.c reads it: the codes below
 * must match native/runtime.h), and `exec.fifo` while the container is created.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { encodePlan, isAlive, type PlanStep, step } from '@tocker/runtime';

export const DEFAULT_ROOT = '/run/tocker-runtime';
export const STATE_FILE = 'state.json';
export const RECORD_FILE = 'record.plan';
export const FIFO_FILE = 'exec.fifo';

/** The record's operations (REC_* of native/runtime.h). */
export const RecordOp = {
  ociVersion: 1,
  id: 2,
  init: 3,
  bundle: 4,
  rootfs: 5,
  created: 6,
  annotations: 7,
  cgroup: 8,
  freezer: 9,
  ownPidNamespace: 10,
  hook: 11,
} as const;

/** Which hooks the front end runs (HOOK_* of native/runtime.h). */
export const HookKind = { poststart: 1, poststop: 2 } as const;

export interface OciHook {
  readonly path: string;
  /** The whole argv, argv[0] included (the spec's `args`). */
  readonly args: readonly string[];
  /** The hook's whole environment. */
  readonly env: readonly string[];
  /** Seconds; null: none. */
  readonly timeout: number | null;
}

export interface OciStateRecord {
  readonly ociVersion: string;
  readonly id: string;
  readonly bundle: string;
  readonly rootfs: string;
  /** RFC 3339. */
  readonly created: string;
  readonly annotations: Readonly<Record<string, string>>;
  /** The init's host pid and start time (/proc/<pid>/stat field 22): a reused pid is not it. */
  readonly init: { readonly pid: number; readonly startTime: number };
  readonly cgroups: {
    readonly version: 1 | 2;
    /** Absolute directories, one per hierarchy (v1) or the one (v2). */
    readonly paths: readonly string[];
    /** The v1 freezer directory, or the v2 directory; null: none (pause is refused). */
    readonly freezer: string | null;
  };
  /** Without one, SIGKILL and delete go to every process of the cgroups (the init's end does not end them). */
  readonly ownPidNamespace: boolean;
  readonly hooks: { readonly poststart: readonly OciHook[]; readonly poststop: readonly OciHook[] };
}

export type OciStatus = 'created' | 'running' | 'paused' | 'stopped';

/** A container's state as `tocker-runtime state` prints it. */
export interface OciState extends OciStateRecord {
  readonly status: OciStatus;
  /** 0 once stopped. */
  readonly pid: number;
}

export function stateDirectory(root: string, id: string): string {
  return join(root, id);
}

function hookStep(kind: number, hook: OciHook): PlanStep {
  return step(
    RecordOp.hook,
    kind,
    hook.path,
    hook.timeout ?? 0,
    hook.args.length,
    ...hook.args,
    ...hook.env,
  );
}

export function encodeStateRecord(record: OciStateRecord): Buffer {
  const steps: PlanStep[] = [
    step(RecordOp.ociVersion, record.ociVersion),
    step(RecordOp.id, record.id),
    step(RecordOp.init, record.init.pid, record.init.startTime),
    step(RecordOp.bundle, record.bundle),
    step(RecordOp.rootfs, record.rootfs),
    step(RecordOp.created, record.created),
    step(RecordOp.annotations, JSON.stringify(record.annotations)),
    ...record.cgroups.paths.map((path) => step(RecordOp.cgroup, path)),
    step(RecordOp.ownPidNamespace, record.ownPidNamespace ? 1 : 0),
    ...record.hooks.poststart.map((hook) => hookStep(HookKind.poststart, hook)),
    ...record.hooks.poststop.map((hook) => hookStep(HookKind.poststop, hook)),
  ];
  if (record.cgroups.freezer !== null)
    steps.push(step(RecordOp.freezer, record.cgroups.version, record.cgroups.freezer));
  return encodePlan(steps);
}

function writeWhole(path: string, content: string | Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o600 });
  renameSync(temporary, path);
}

/**
 * Both files, each whole (a temp file and a rename). record.plan last: the C side takes a
 * directory without it for a create in progress.
 */
export function writeStateRecord(root: string, record: OciStateRecord): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = stateDirectory(root, record.id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeWhole(join(dir, STATE_FILE), `${JSON.stringify(record)}\n`);
  writeWhole(join(dir, RECORD_FILE), encodeStateRecord(record));
}

function frozen(cgroups: OciStateRecord['cgroups']): boolean {
  if (cgroups.freezer === null) return false;
  try {
    if (cgroups.version === 1)
      return readFileSync(join(cgroups.freezer, 'freezer.state'), 'utf8').startsWith('FROZEN');
    return readFileSync(join(cgroups.freezer, 'cgroup.freeze'), 'utf8').startsWith('1');
  } catch {
    return false;
  }
}

/** runc's rule, as native/container.c: the init gone (or a zombie, or its pid reused) is stopped. */
export function statusOf(root: string, record: OciStateRecord): OciStatus {
  if (!isAlive(record.init)) return 'stopped';
  if (existsSync(join(stateDirectory(root, record.id), FIFO_FILE))) return 'created';
  if (frozen(record.cgroups)) return 'paused';
  return 'running';
}

/** Every container under root with its status now, for the agent's read-only listing. */
/** One container's record, or null: none by that id (or a create still in progress). */
export function readStateRecord(root: string, id: string): OciStateRecord | null {
  try {
    return JSON.parse(readFileSync(join(stateDirectory(root, id), STATE_FILE), 'utf8'));
  } catch {
    return null;
  }
}

export function readOciStates(root: string): OciState[] {
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return ids.sort().flatMap((id) => {
    const record = readStateRecord(root, id);
    // A create in progress, or a directory that is not a container's.
    if (record === null) return [];
    const status = statusOf(root, record);
    return [{ ...record, status, pid: status === 'stopped' ? 0 : record.init.pid }];
  });
}
