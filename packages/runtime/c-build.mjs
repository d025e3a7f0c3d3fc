// How tocker's C programs are compiled: tocker-shim (this package's build) and
// tocker-runtime's front end (packages/oci-runtime), with one set of flags.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The .c files of `dir`, as paths under it. */
export function cSources(dir) {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.c'))
    .map((file) => join(dir, file));
}

/** gnu11, optimized, every warning an error; `flags` before the sources. */
export function compileC(output, sources, flags = []) {
  execFileSync(
    'cc',
    ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', ...flags, '-o', output, ...sources],
    { stdio: 'inherit' },
  );
}
