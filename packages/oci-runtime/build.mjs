// tocker-runtime's build: the C front end (native/*.c, sharing the shim's plan reader),
// the bundle that compiles create and exec (src/main.ts), and the state reader as a
// library (src/state.ts), for the agent's read-only listing of engine containers.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SHIM_PATH } from '@tocker/runtime/paths';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist', { recursive: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/compile.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi', '@koromix/*'],
  define: { 'import.meta.url': '__tockerModuleUrl' },
  banner: { js: "const __tockerModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  minifySyntax: true,
  logLevel: 'warning',
});

const sources = readdirSync('native')
  .filter((file) => file.endsWith('.c'))
  .map((file) => `native/${file}`);
if (sources.length > 0)
  execFileSync(
    'cc',
    [
      '-std=gnu11',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-I',
      '../runtime/shim',
      `-DTOCKER_NODE="${process.execPath}"`,
      `-DTOCKER_COMPILE_SCRIPT="${new URL('dist/compile.cjs', import.meta.url).pathname}"`,
      // A warm create runs the shim itself (native/warm.c).
      `-DTOCKER_SHIM="${SHIM_PATH}"`,
      '-o',
      'dist/tocker-runtime',
      ...sources,
      '../runtime/shim/plan.c',
      '../runtime/shim/hooks.c',
    ],
    { stdio: 'inherit' },
  );
