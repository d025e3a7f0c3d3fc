// tocker-runtime's build: the C front end (native/*.c, sharing the shim's plan reader),
// the bundle that compiles create and exec (src/main.ts), and the state reader as a
// library (src/state.ts), for the agent's read-only listing of engine containers.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SHIM_PATH } from '@tocker/runtime/paths';
import { build } from 'esbuild';
import { compileFrontEnd } from './front-end.mjs';

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

compileFrontEnd({
  output: 'dist/tocker-runtime',
  node: process.execPath,
  compileScript: new URL('dist/compile.cjs', import.meta.url).pathname,
  shimPath: SHIM_PATH,
});
