// How the C front end is compiled: by the build, and by the tests that build it with a
// stand-in for Node (test/frontend.test.ts).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const native = fileURLToPath(new URL('native/', import.meta.url));
const shim = fileURLToPath(new URL('../runtime/shim/', import.meta.url));

/**
 * tocker-runtime at `output`, handing create and exec to `node` running `compileScript`,
 * and running `shimPath` itself for a warm create.
 */
export function compileFrontEnd({ output, node, compileScript, shimPath }) {
  const sources = readdirSync(native)
    .filter((file) => file.endsWith('.c'))
    .map((file) => `${native}${file}`);
  execFileSync(
    'cc',
    [
      '-std=gnu11',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-I',
      shim,
      `-DTOCKER_NODE="${node}"`,
      `-DTOCKER_COMPILE_SCRIPT="${compileScript}"`,
      `-DTOCKER_SHIM="${shimPath}"`,
      '-o',
      output,
      ...sources,
      // The shim's plan reader (the state record is in its encoding) and hook runner.
      `${shim}plan.c`,
      `${shim}hooks.c`,
    ],
    { stdio: 'inherit' },
  );
}
