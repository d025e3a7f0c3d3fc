// tocker-runtime's build: the C front end (native/*.c, sharing the shim's plan reader) and
// the bundle that compiles create and exec (src/main.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist', { recursive: true });

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
      '-o',
      'dist/tocker-runtime',
      ...sources,
      '../runtime/shim/plan.c',
      '../runtime/shim/hooks.c',
    ],
    { stdio: 'inherit' },
  );
