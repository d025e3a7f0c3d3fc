// The OCI runtimes the engine tests and the benchmark drive, and a logging front for them.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OciRuntime {
  /** The basename the engines see: podman passes JSON logging flags only to known names. */
  readonly name: string;
  readonly path: string;
  /** Its state root when no --root is given (podman gives none). */
  readonly defaultRoot: string;
  /** How tests name it; default: its name. */
  readonly label?: string;
  /** tocker-runtime with its warm compiler serving the engine's root (src/compiler.ts). */
  readonly warm?: boolean;
}

export const runc: OciRuntime = { name: 'runc', path: '/usr/sbin/runc', defaultRoot: '/run/runc' };

/** crun 1.8 refuses this VM's hybrid cgroups unless /sys/fs/cgroup/unified is hidden. */
export const crun: OciRuntime = { name: 'crun', path: '/usr/bin/crun', defaultRoot: '/run/crun' };

export const tockerRuntime: OciRuntime = {
  name: 'tocker-runtime',
  path: fileURLToPath(new URL('../../dist/tocker-runtime', import.meta.url)),
  defaultRoot: '/run/tocker-runtime',
};

export const warmTockerRuntime: OciRuntime = {
  ...tockerRuntime,
  label: 'tocker-runtime (warm)',
  warm: true,
};

/**
 * The runtimes every engine test runs with: runc, the yardstick the harness is proved with,
 * and tocker-runtime with and without its compiler (two ways to create).
 */
export const engineTestRuntimes: readonly OciRuntime[] = [runc, tockerRuntime, warmTockerRuntime];

/** One call an engine made to the runtime: who called (its parent's comm) and the argv. */
export interface RuntimeCall {
  readonly caller: string;
  readonly argv: readonly string[];
}

const FIELD = '\x1f';

/**
 * A front for `runtime` under the same basename (in `dir`/bin) that appends every call to
 * `dir`/runtime-calls.log and execs the real binary (same pid, same fds): the tests see what
 * the engine asked for, and a failure can show it. A shell script, not Node: it must cost
 * about a millisecond, as it sits on every call's path. With TOCKER_TEST_RUNTIME_CALLS set,
 * the calls are appended to that file as well, where they outlive the test (for debugging).
 */
export class LoggedRuntime {
  readonly path: string;
  private readonly log: string;

  constructor(
    readonly runtime: OciRuntime,
    dir: string,
  ) {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    this.path = join(dir, 'bin', runtime.name);
    this.log = join(dir, 'runtime-calls.log');
    const logs = [this.log, process.env.TOCKER_TEST_RUNTIME_CALLS ?? ''].filter(Boolean);
    for (const path of [this.path, ...logs, runtime.path])
      if (path.includes("'")) throw new Error(`cannot quote ${path} for the runtime front`);
    // One printf of the whole record: one write(2) to the O_APPEND file, so concurrent
    // calls (conmon's create and podman's start) cannot interleave.
    writeFileSync(
      this.path,
      [
        '#!/bin/sh',
        'read -r caller < /proc/$PPID/comm',
        `call="$(printf '%s${FIELD}' "$caller" "$@")"`,
        ...logs.map((log) => `printf '%s\\n' "$call" >> '${log}'`),
        `exec '${runtime.path}' "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(this.path, 0o755);
  }

  calls(): RuntimeCall[] {
    if (!existsSync(this.log)) return [];
    return readFileSync(this.log, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [caller = '', ...argv] = line.split(FIELD);
        return { caller, argv: argv.slice(0, -1) };
      });
  }

  /** The subcommand of a call: the first word that is not a global flag or its value. */
  static subcommand(argv: readonly string[]): string | undefined {
    for (let i = 0; i < argv.length; i++) {
      const word = argv[i] ?? '';
      if (!word.startsWith('-')) return word;
      // runc's global flags that take a separate value.
      if (['--root', '--log', '--log-format', '--criu', '--rootless'].includes(word)) i++;
    }
    return undefined;
  }
}
