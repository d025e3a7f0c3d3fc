import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export { DEFAULT_IMAGE } from '@tocker/protocol/vocabulary';

/** Where set-up puts images (the default one among them), whatever the state root. */
export const IMAGES_DIR = '/var/lib/tocker/images';

/**
 * This package's directory, wherever the code runs from: src/ under tsx, dist/ as compiled
 * modules, or bundled into the CLI (packages/cli/dist/tocker.cjs), whose own location says
 * nothing about where the shim is. Up from here, the first package.json that is ours, or
 * the node_modules link npm made to us (plain file checks: resolving through the package's
 * exports would load Node's ESM resolver into every CLI run).
 */
function findPackageDir(): string {
  const name = '@tocker/runtime';
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    // Checked first: a missing file's exception (a stack trace made) costs more than a look.
    const manifest = join(dir, 'package.json');
    try {
      if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name)
        return dir;
    } catch {}
    const linked = join(dir, 'node_modules', name);
    if (existsSync(linked)) return realpathSync(linked);
    if (dirname(dir) === dir) throw new Error(`cannot find the ${name} package directory`);
  }
}

const packageDir = findPackageDir();

/** The per-container supervisor, built from packages/runtime/shim by the package's build. */
export const SHIM_PATH = join(packageDir, 'dist', 'tocker-shim');

/** What a shim becomes to record its container's end when nobody else can (conclude.ts). */
export const CONCLUDE_ENTRY = join(packageDir, 'dist', 'conclude.js');

/** A user network's DNS server (network/dns/main.ts), one process per network. */
export const DNS_ENTRY = join(packageDir, 'dist', 'network', 'dns', 'main.js');

/** --init's PID 1: tini, statically linked, from Debian's tini package (set-up installs it). */
export const INIT_BINARY = '/usr/bin/tini-static';
