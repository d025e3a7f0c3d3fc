import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { ContainerSpec } from '@tocker/protocol/vocabulary';
import { TockerError } from '../errors.js';
import { O_DIRECTORY, O_PATH, O_RDONLY, openInRoot } from '../sys/fs-at.js';

/** How an image says its containers run (the `config` of an OCI image configuration). */
export interface ImageRunConfig {
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Env?: readonly string[] | null;
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly StopSignal?: string;
  /** `80/tcp`: what -P publishes. */
  readonly ExposedPorts?: Readonly<Record<string, unknown>> | null;
}

/** An image of the store, as a container's root: resolved by the caller, used as it is. */
export interface ImageRoot {
  /** As the user named it, and the manifest digest it resolved to. */
  readonly reference: string;
  readonly digest: string;
  /** Its layers' directories, lowest first (the image's order). */
  readonly layers: readonly string[];
  readonly config: ImageRunConfig;
}

/** The process a container runs, from its request and its image. */
export interface ResolvedProcess {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly user: { readonly uid: number; readonly gid: number; readonly additionalGids: number[] };
  readonly home: string;
}

/**
 * docker's rules: the entrypoint is the request's (`--entrypoint`) or the image's; the
 * command is the request's, or the image's unless the request replaced the entrypoint.
 * Environment: the image's, then the request's. Working directory: the request's, the
 * image's, "/". User: the request's or the image's, looked up in the image's own
 * /etc/passwd and /etc/group (`layers`: top first).
 */
export function resolveProcess(
  spec: ContainerSpec,
  image: ImageRunConfig,
  layers: readonly string[],
): ResolvedProcess {
  const entrypoint = spec.entrypoint ?? image.Entrypoint ?? [];
  const command =
    spec.command.length > 0 ? spec.command : spec.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const args = [...entrypoint, ...command];
  if (args.length === 0)
    throw new TockerError('command: the image has no entrypoint nor command: give one');
  const imageEnv: Record<string, string> = {};
  for (const pair of image.Env ?? []) {
    const equals = pair.indexOf('=');
    if (equals > 0) imageEnv[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  const user = resolveUser(spec.user ?? image.User ?? '', layers);
  const imageDir = image.WorkingDir ? posix.resolve('/', image.WorkingDir) : undefined;
  return {
    args,
    env: { ...imageEnv, ...spec.env },
    cwd: spec.workdir ?? imageDir ?? '/',
    user: user.ids,
    home: user.home,
  };
}

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').flatMap((line) => {
    const [name, , uid, gid, , home] = line.split(':');
    if (!name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) return [];
    return [{ name, uid: Number(uid), gid: Number(gid), home: home || '/' }];
  });
}

function parseGroups(text: string): { name: string; gid: number; members: string[] }[] {
  return text.split('\n').flatMap((line) => {
    const [name, , gid, members] = line.split(':');
    if (!name || !/^\d+$/.test(gid ?? '')) return [];
    return [{ name, gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) }];
  });
}

const MAX_ID = 2 ** 31 - 1;

/** `user[:group]` as runc resolves it: names must exist in the image, numbers need not. */
function resolveUser(
  text: string,
  layers: readonly string[],
): { ids: ResolvedProcess['user']; home: string } {
  // No user asked for: root, without reading the image's files on every start.
  if (text === '') return { ids: { uid: 0, gid: 0, additionalGids: [] }, home: '/root' };
  const [userPart = '', groupPart] = text.split(':');
  const passwd = parsePasswd(readImageFile(layers, '/etc/passwd') ?? '');
  const groups = parseGroups(readImageFile(layers, '/etc/group') ?? '');
  const numeric = /^\d+$/.test(userPart);
  const entry = passwd.find((candidate) =>
    numeric ? candidate.uid === Number(userPart) : candidate.name === userPart,
  );
  if (!numeric && entry === undefined)
    throw new TockerError(`user ${userPart}: not in the image's /etc/passwd`);
  const uid = numeric ? Number(userPart) : (entry?.uid ?? 0);
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = groups.find((candidate) => candidate.name === groupPart);
      if (group === undefined)
        throw new TockerError(`group ${groupPart}: not in the image's /etc/group`);
      gid = group.gid;
    }
  }
  if (uid > MAX_ID || gid > MAX_ID) throw new TockerError(`user ${text}: ids go up to ${MAX_ID}`);
  const additionalGids =
    entry === undefined || groupPart !== undefined
      ? []
      : groups
          .filter((group) => group.members.includes(entry.name) && group.gid !== gid)
          .map((group) => group.gid);
  return { ids: { uid, gid, additionalGids }, home: entry?.home ?? (uid === 0 ? '/root' : '/') };
}

/**
 * A file of the image as a container will see it, read from the top layer that has it
 * (opened inside that layer: a link in an image cannot make tocker read a host file).
 * A whiteout hides it; null when no layer has it as a regular file.
 */
function readImageFile(layers: readonly string[], path: string): string | null {
  for (const layer of layers) {
    const root = openSync(layer, O_PATH | O_DIRECTORY);
    try {
      let found: number;
      try {
        found = openInRoot(root, path, O_PATH);
      } catch {
        continue;
      }
      const stats = fstatSync(found);
      closeSync(found);
      if (stats.isCharacterDevice() && stats.rdev === 0) return null; // a whiteout
      if (!stats.isFile() || stats.size > 4 * 1024 * 1024) return null;
      const fd = openInRoot(root, path, O_RDONLY);
      try {
        return readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } finally {
      closeSync(root);
    }
  }
  return null;
}
