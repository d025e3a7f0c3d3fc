// The runtime package's build: the library (tsc) and tocker-shim.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compileC, cSources } from './c-build.mjs';

// From nothing: tsc does not remove what it compiled from sources that are gone.
rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

// tocker-shim, the per-container supervisor (shim/*.c): one static binary, so that it
// starts in well under a millisecond and depends on nothing of the host at run time.
mkdirSync('dist', { recursive: true });
compileC('dist/tocker-shim', cSources('shim'), ['-static']);
