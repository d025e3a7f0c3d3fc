// What the engine tests look at on the host: commands run to completion, the cgroup
// hierarchies, and the mounts below a directory. The engines leave things in all three.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseMountinfo } from '../../../runtime/src/cgroups/index.js';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` to completion with its output captured; killed (and rejected) after the timeout. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const child = spawn(file, args, { env: options.env ?? process.env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Like runCommand, but a non-zero exit is an error that quotes the command and its stderr. */
export async function runChecked(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.code !== 0)
    throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

function mounts() {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/**
 * Every cgroup hierarchy's mount point (v1 controllers, the v2 tree) that is not covered by
 * a later mount on the same point (the benchmark hides /sys/fs/cgroup/unified under a tmpfs).
 */
export function cgroupHierarchies(): string[] {
  const topmost = new Map(mounts().map((mount) => [mount.mountPoint, mount.fsType]));
  return [...topmost]
    .filter(([, fsType]) => fsType === 'cgroup' || fsType === 'cgroup2')
    .map(([point]) => point);
}

/** `path` (absolute from each hierarchy's root) in every hierarchy where it exists. */
export function cgroupDirs(path: string): string[] {
  return cgroupHierarchies()
    .map((hierarchy) => join(hierarchy, path))
    .filter((dir) => existsSync(dir));
}

/** The cgroups below `path` in any hierarchy, as paths from the hierarchies' roots. */
export function cgroupChildren(path: string): string[] {
  const found = new Set<string>();
  for (const dir of cgroupDirs(path))
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory()) found.add(join(path, entry.name));
  return [...found].sort();
}

/** Removes `path` and what is below it in every hierarchy, leaves first (they must be empty). */
export function removeCgroups(path: string): void {
  for (const child of cgroupChildren(path)) removeCgroups(child);
  for (const dir of cgroupDirs(path)) rmdirSync(dir);
}

/** The mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsBelow(dir: string): string[] {
  return mounts()
    .map((mount) => mount.mountPoint)
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `dir` (lazily: an engine's process may still hold one). */
export async function unmountBelow(dir: string): Promise<void> {
  for (const point of mountsBelow(dir)) await runChecked('umount', ['--lazy', point]);
}
