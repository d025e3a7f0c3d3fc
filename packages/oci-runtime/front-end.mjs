// How the C front end is compiled: by the build, and by the tests that build it with a
// stand-in for Node (test/frontend.test.ts).
import { fileURLToPath } from 'node:url';
import { compileC, cSources } from '../runtime/c-build.mjs';

const native = fileURLToPath(new URL('native/', import.meta.url));
const shim = fileURLToPath(new URL('../runtime/shim/', import.meta.url));

/**
 * tocker-runtime at `output`, handing create and exec to `node` running `compileScript`,
 * and running `shimPath` itself for a warm create.
 */
export function compileFrontEnd({ output, node, compileScript, shimPath }) {
  compileC(
    output,
    [
      ...cSources(native),
      // The shim's plan reader (the state record is in its encoding) and hook runner.
      `${shim}plan.c`,
      `${shim}hooks.c`,
    ],
    [
      '-I',
      shim,
      `-DTOCKER_NODE="${node}"`,
      `-DTOCKER_COMPILE_SCRIPT="${compileScript}"`,
      `-DTOCKER_SHIM="${shimPath}"`,
    ],
  );
}
