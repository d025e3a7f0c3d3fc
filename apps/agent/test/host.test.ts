import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { test } from 'node:test';
import { availableMemory } from '../src/host.js';

test('available memory: MemAvailable from /proc/meminfo, free memory when the kernel lacks it', () => {
  const meminfo =
    'MemTotal:        4028432 kB\nMemFree:          181260 kB\nMemAvailable:    2315516 kB\n';
  assert.equal(availableMemory(meminfo), 2315516 * 1024);
  const fallback = availableMemory('MemTotal:        4028432 kB\nMemFree:          181260 kB\n');
  assert.ok(fallback > 0 && fallback <= totalmem(), `free memory ${fallback}`);
  const real = availableMemory();
  assert.ok(real > 0 && real <= totalmem(), `this host: ${real}`);
});
