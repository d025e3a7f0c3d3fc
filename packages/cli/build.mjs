// The CLI's build: one bundle, dist/tocker.cjs, which bin/tocker.cjs runs.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });

// The CLI is on every container start's critical path: one bundled CommonJS file (the
// runtime library included) loads ~20 ms faster than the ES module graph (zod alone is
// 15 ms unbundled).
await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/tocker.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // koffi is native; socket.io-client is only needed (and loaded, with the agent client
  // that an import() keeps lazy) when talking to an agent.
  external: ['koffi', '@koromix/*', 'socket.io-client'],
  define: { 'import.meta.url': '__tockerModuleUrl' },
  // The file is the function that bin/tocker.cjs compiles as it is: wrapping its 400 KB
  // at every start (a copy, then V8 flattening the joined string) cost ~1.5 ms.
  banner: {
    js: "(function (exports, require, module, __filename, __dirname) {const __tockerModuleUrl = require('node:url').pathToFileURL(__filename).href;",
  },
  footer: { js: '})' },
  // Lazy imports of Node's modules become lazy require()s: the bundle runs in a vm.Script
  // (see bin/tocker.cjs), which has no dynamic import.
  supported: { 'dynamic-import': false },
  minifySyntax: true,
  minifyWhitespace: true,
  logLevel: 'warning',
});
