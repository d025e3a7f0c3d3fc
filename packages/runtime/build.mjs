// The runtime package's build: the library (tsc) and tocker-shim.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

// From nothing: tsc does not remove what it compiled from sources that are gone.
rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

// tocker-shim, the per-container supervisor (shim/*.c): one static binary, so that it
// starts in well under a millisecond and depends on nothing of the host at run time.
const shimSources = readdirSync('shim')
  .filter((file) => file.endsWith('.c'))
  .map((file) => `shim/${file}`);
mkdirSync('dist', { recursive: true });
execFileSync(
  'cc',
  [
    '-std=gnu11',
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-static',
    '-o',
    'dist/tocker-shim',
    ...shimSources,
  ],
  { stdio: 'inherit' },
);
