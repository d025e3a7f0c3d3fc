#!/usr/bin/env node
// `npm start` until the agent and the dashboard arrive: a shell in a fresh busybox
// container when a terminal is attached, otherwise a one-shot container that shows it works.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const tocker = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'packages',
  'runtime',
  'bin',
  'tocker.cjs',
);
const interactive = process.stdin.isTTY && process.stdout.isTTY;
const args = interactive
  ? ['run', '-it', '--rm', '--hostname', 'tocker', 'sh']
  : [
      'run',
      '--rm',
      '--hostname',
      'tocker',
      'sh',
      '-c',
      'echo "hello from $(hostname), PID $$"; ip -o link',
    ];
if (interactive) console.log('A busybox shell in a new container (exit to leave):');
const result = spawnSync(tocker, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
