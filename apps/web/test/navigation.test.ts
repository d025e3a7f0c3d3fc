import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageAfterSignIn } from '../src/client/navigation.js';

const origin = 'http://localhost:3000';

test('after sign-in: only pages of this dashboard, whatever `next` says', () => {
  for (const hostile of [
    '/\\evil.example/phish',
    '\\\\evil.example',
    '//evil.example/x',
    '/\t/evil.example',
    'https://evil.example/',
    'http://localhost:3001/containers',
    'javascript:alert(1)',
    'data:text/html,hi',
    '/login?next=/containers',
  ]) {
    assert.equal(pageAfterSignIn(hostile, origin), '/containers', hostile);
  }
  assert.equal(pageAfterSignIn(null, origin), '/containers');
  assert.equal(pageAfterSignIn('/agents', origin), '/agents');
  assert.equal(pageAfterSignIn('/history?page=2#x', origin), '/history?page=2#x');
});
