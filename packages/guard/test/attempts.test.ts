import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttemptLimiter } from '../src/attempts.js';

test('attempt limiter (a fake clock): five free failures, then locks of 1 s, 2 s, 4 s... up to 15 min; a success forgets', () => {
  let now = 0;
  const locks: number[] = [];
  const limiter = new AttemptLimiter(
    (_address, _failures, lockMs) => locks.push(lockMs),
    () => now,
  );
  const failUntilLocked = () => {
    limiter.failed('a');
    const wait = limiter.waitFor('a');
    now += wait;
    return wait;
  };
  const waits = Array.from({ length: 18 }, failUntilLocked);
  assert.deepEqual(waits.slice(0, 5), [0, 0, 0, 0, 0]);
  assert.deepEqual(waits.slice(5, 9), [1000, 2000, 4000, 8000]);
  assert.equal(Math.max(...waits), 15 * 60 * 1000);
  assert.equal(limiter.waitFor('b'), 0, 'other addresses are not affected');
  limiter.failed('a');
  assert.ok(limiter.waitFor('a') > 0);
  limiter.succeeded('a');
  assert.equal(limiter.waitFor('a'), 0);
  assert.equal(locks.length, 14);
});

test('attempt limiter: 20,000 addresses cost at most 10,000 entries (the oldest go first)', () => {
  const limiter = new AttemptLimiter(
    () => {},
    () => 0,
  );
  for (let address = 0; address < 20_000; address++) {
    for (let failure = 0; failure < 6; failure++)
      limiter.failed(`10.0.${address >> 8}.${address & 255}`);
  }
  assert.equal(limiter.waitFor('10.0.0.0'), 0, 'the oldest were forgotten');
  assert.ok(limiter.waitFor('10.0.78.31') > 0, 'the newest are remembered');
});
