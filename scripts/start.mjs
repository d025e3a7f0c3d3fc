#!/usr/bin/env node
// `npm start`: after set-up, the agent in the foreground (the dashboard joins it later).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const agent = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'apps',
  'agent',
  'dist',
  'main.js',
);
const child = spawn(process.execPath, ['--single-threaded', agent, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
