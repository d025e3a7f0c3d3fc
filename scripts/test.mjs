#!/usr/bin/env node
// Runs every test of every workspace with one runner (node:test), as root, against real
// containers.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepTestLeftovers } from './sweep-tests.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return ['node_modules', 'dist', '.next'].includes(entry.name) ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(repo, path)] : [];
  });
}

const files = ['packages', 'apps', 'e2e'].flatMap((top) => {
  try {
    return testFiles(join(repo, top));
  } catch {
    return [];
  }
});
const only = process.argv.slice(2);
const selected =
  only.length > 0 ? files.filter((file) => only.some((part) => file.includes(part))) : files;
if (selected.length === 0) {
  console.error('test: no test files found');
  process.exit(1);
}
await sweepTestLeftovers();
// No test may hang a run (CI has 90 minutes): one that has not finished in 5 minutes
// fails, by name. The longest ones take about a minute.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-timeout=300000', ...selected],
  {
    cwd: repo,
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
