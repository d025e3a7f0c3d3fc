import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Op, Setting, ShimMode } from '../src/shim/plan.js';
import { CHANNEL_FD, FIRST_PASSED_FD, STANDBY_TITLE } from '../src/shim/shim.js';

const header = readFileSync(
  join(fileURLToPath(import.meta.url), '..', '..', 'shim', 'shim.h'),
  'utf8',
);

/** shim.h's enum entries with `prefix`, by their TypeScript names (SET_EXIT_FILE: exitFile). */
function enumOf(prefix: string): Record<string, number> {
  const entries: Record<string, number> = {};
  for (const [, name = '', value] of header.matchAll(
    new RegExp(`\\b${prefix}_([A-Z_]+) = (\\d+)`, 'g'),
  ))
    entries[name.toLowerCase().replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())] =
      Number(value);
  return entries;
}

const define = (name: string) =>
  new RegExp(`#define ${name} (.+?)\\s*(?:/\\*|$)`, 'm').exec(header)?.[1];

test('the plan the runtime writes (shim/plan.ts) and the one tocker-shim reads (shim.h) number every setting, operation and mode alike', () => {
  assert.deepEqual(enumOf('SET'), { ...Setting });
  assert.deepEqual(enumOf('OP'), { ...Op });
  assert.deepEqual(enumOf('MODE'), { ...ShimMode });
});

test('the runtime hands a shim (spawned or standing by) its descriptors where shim.h says, and a standby shim by the title shim.h looks for', () => {
  assert.equal(Number(define('PLAN_FD')), 3);
  assert.equal(Number(define('CHANNEL_FD')), CHANNEL_FD);
  assert.equal(Number(define('FIRST_PASSED_FD')), FIRST_PASSED_FD);
  assert.equal(JSON.parse(define('STANDBY_TITLE') ?? '""'), STANDBY_TITLE);
  assert.equal(Number(define('STANDBY_NAME_BYTES')), STANDBY_TITLE.length);
});
