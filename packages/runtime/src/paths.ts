import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Everything tocker keeps about containers lives under one state root (TOCKER_ROOT,
 * default /var/lib/tocker), so that separate CLI invocations, the agent and `rm -rf`
 * agree:
 *   containers/<id>/        state.json, container.log, and the overlay's upper/work/merged
 *   names/<name> -> <id>    name reservations (a symlink is created atomically)
 *   archive/<id>.log        the tail of each removed container's log (the most recent 500)
 * The default image has a fixed place, whatever the state root: setup builds it there.
 */
export function tockerRoot(): string {
  return process.env.TOCKER_ROOT ?? '/var/lib/tocker';
}

export { DEFAULT_IMAGE } from '@tocker/protocol';

/** Where set-up puts images (the default one among them), whatever the state root. */
export const IMAGES_DIR = '/var/lib/tocker/images';

/**
 * This package's directory, wherever the code runs from: src/ under tsx, dist/ as compiled
 * modules, or bundled into the CLI (packages/cli/dist/tocker.cjs), whose own location says
 * nothing about where the shim is. npm links the package, so resolution finds it from both.
 */
function findPackageDir(): string {
  return dirname(createRequire(import.meta.url).resolve('@tocker/runtime/package.json'));
}

const packageDir = findPackageDir();

/** The per-container supervisor, built from packages/runtime/shim by the package's build. */
export const SHIM_PATH = join(packageDir, 'dist', 'tocker-shim');

/** What a shim becomes to record its container's end when nobody else can (conclude.ts). */
export const CONCLUDE_ENTRY = join(packageDir, 'dist', 'conclude.js');

/** --init's PID 1: tini, statically linked, from Debian's tini package (set-up installs it). */
export const INIT_BINARY = '/usr/bin/tini-static';
