import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerView } from '@tocker/protocol';
import { ContainerListCache } from '../src/server/container-list.js';

/** A fetch the test answers by hand: each call waits for `answer`. */
function manualFetch() {
  const calls: ((list: readonly ContainerView[]) => void)[] = [];
  const failures: ((error: Error) => void)[] = [];
  return {
    calls,
    failures,
    fetch: () =>
      new Promise<readonly ContainerView[]>((resolve, reject) => {
        calls.push(resolve);
        failures.push(reject);
      }),
  };
}

const list = (name: string) => [{ name }] as unknown as readonly ContainerView[];

test('one request for many pages while nothing changes; an event makes the next page ask again', async () => {
  const agent = manualFetch();
  const cache = new ContainerListCache(agent.fetch);
  const first = cache.get();
  const concurrent = cache.get();
  assert.equal(agent.calls.length, 1, 'pages rendered together share one request');
  agent.calls[0]?.(list('a'));
  assert.deepEqual(await first, list('a'));
  assert.deepEqual(await concurrent, list('a'));
  assert.deepEqual(await cache.get(), list('a'));
  assert.equal(agent.calls.length, 1, 'unchanged: answered from the cache');

  cache.invalidate();
  const after = cache.get();
  assert.equal(agent.calls.length, 2);
  agent.calls[1]?.(list('b'));
  assert.deepEqual(await after, list('b'));
});

test('an answer that an event overtook is given to its caller but not kept', async () => {
  const agent = manualFetch();
  const cache = new ContainerListCache(agent.fetch);
  const overtaken = cache.get();
  cache.invalidate(); // the event arrives while the list is on its way
  agent.calls[0]?.(list('before the event'));
  assert.deepEqual(await overtaken, list('before the event'));
  const next = cache.get();
  assert.equal(agent.calls.length, 2, 'asked again');
  agent.calls[1]?.(list('after the event'));
  assert.deepEqual(await next, list('after the event'));
});

test('a failed request is not kept: the next page asks again', async () => {
  const agent = manualFetch();
  const cache = new ContainerListCache(agent.fetch);
  const failed = cache.get();
  agent.failures[0]?.(new Error('the agent is offline'));
  await assert.rejects(failed, /offline/);
  const retried = cache.get();
  assert.equal(agent.calls.length, 2);
  agent.calls[1]?.(list('back'));
  assert.deepEqual(await retried, list('back'));
});
