import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ContainerEvent, ContainerView } from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import {
  Agent,
  call,
  connect,
  ok,
  openDescriptors,
  removeEverything,
  resolvConf,
  root,
  tockerBin,
} from './helpers.js';

// The whole state root of this file is a small tmpfs of its own, so that it can be filled.
execFileSync('mount', [
  '-t',
  'tmpfs',
  '-o',
  'size=32m,mode=0700',
  `tocker-test-${process.pid}`,
  root,
]);

let agent: Agent;
let client: Socket;

async function startAgent(): Promise<void> {
  agent = await new Agent().started();
  client = await connect(agent.url);
}

async function stopAgent(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  client.close();
  await agent.stop(signal);
}

before(startAgent);
after(async () => {
  await stopAgent();
  await removeEverything(() => {
    execFileSync('umount', [root]);
    // Under the mount, only the resolv.conf the helpers wrote before it (hidden by it since).
    rmSync(resolvConf);
    rmdirSync(root);
  });
});

function cli(args: readonly string[]): Promise<number | null> {
  const child = spawn(tockerBin, args, {
    stdio: 'ignore',
    env: { ...process.env, TOCKER_ROOT: root },
  });
  return new Promise((resolve) => child.on('close', resolve));
}

async function run(command: string[]): Promise<ContainerView> {
  return (
    await ok(client, 'container:run', {
      spec: { rootfs: '/var/lib/tocker/images/busybox', command },
    })
  ).container;
}

async function inspect(id: string): Promise<ContainerView> {
  return (await ok(client, 'container:inspect', { container: id })).container;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function events(): Promise<ContainerEvent[]> {
  return (await ok(client, 'events:since', { cursor: 0, limit: 10_000 })).events;
}

/** The journal's kinds per container: each of created, started, exited, removed at most once. */
async function journaledOnce(): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>();
  for (const event of await events()) {
    if (event.kind === 'limits-updated') continue;
    byId.set(event.container.id, [...(byId.get(event.container.id) ?? []), event.kind]);
  }
  for (const [id, kinds] of byId) {
    assert.equal(
      new Set(kinds).size,
      kinds.length,
      `${id.slice(0, 12)} journaled once each: ${kinds.join(', ')}`,
    );
  }
  return byId;
}

describe('the agent stays whole: damaged logs, many starts, a full disk, crashes', () => {
  test('damaged lines in the transitions log and a torn journal line are skipped and counted', async () => {
    await stopAgent();
    assert.equal(await cli(['run', '--rm', 'busybox', 'true']), 0);
    appendFileSync(
      join(root, 'transitions.jsonl'),
      'not json at all\n{"at":"2026-11-30T00:00:00.000Z","kind":"exi',
    );
    appendFileSync(join(root, 'agent', 'events.jsonl'), '{"seq":99999,"at":');
    assert.equal(
      await cli(['run', '--rm', 'busybox', 'true']),
      0,
      'a torn last line does not harm the next one',
    );
    await startAgent();
    const journaled = await until('both containers in the journal', async () => {
      const byId = await journaledOnce();
      return [...byId.values()].filter((kinds) => kinds.join() === 'created,started,exited,removed')
        .length === 2
        ? byId
        : undefined;
    });
    assert.equal(journaled.size, 2);
    const info = await ok(client, 'agent:info', {});
    assert.ok(info.skippedLogLines >= 3, `skipped ${info.skippedLogLines}`);
    const next = await run(['true']);
    await until('a new event after the torn one', async () =>
      (await events()).some((event) => event.container.id === next.id && event.kind === 'exited')
        ? true
        : undefined,
    );
    const seqs = (await events()).map((event) => event.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, index) => index + 1),
      'numbered without a gap',
    );
  });

  test("100 starts do not grow the agent's descriptors", async () => {
    for (let warm = 0; warm < 5; warm++) await run(['true']);
    await until('the warm-up to end', async () =>
      (await ok(client, 'container:list', { all: false })).containers.length === 0
        ? true
        : undefined,
    );
    const before = openDescriptors(agent.pid);
    for (let index = 0; index < 100; index++) await run(['true']);
    await until('every container to end', async () =>
      (await ok(client, 'container:list', { all: false })).containers.length === 0
        ? true
        : undefined,
    );
    const after = openDescriptors(agent.pid);
    assert.ok(after <= before + 2, `descriptors: ${before} before, ${after} after 100 starts`);
  });

  test('a full disk: the agent keeps running, refuses new containers clearly, records exits, and catches up once space is back', async () => {
    const waiting = await run(['sleep', '30']);
    const ending = await run(['sh', '-c', 'sleep 1.5; exit 5']);
    const filler = join(root, 'filler');
    const fd = openSync(filler, 'w');
    for (const chunk of [Buffer.alloc(1 << 20), Buffer.alloc(4096), Buffer.alloc(1)]) {
      try {
        for (;;) writeSync(fd, chunk);
      } catch {
        // Full.
      }
    }
    closeSync(fd);
    const refused = await call(client, 'container:run', {
      spec: { rootfs: '/var/lib/tocker/images/busybox', command: ['true'] },
    });
    assert.deepEqual(refused.ok, false);
    assert.match((refused as { error: string }).error, /TOCKER_ROOT is full/);
    const ended = await until('the exit recorded on the full disk', async () => {
      const record = await inspect(ending.id);
      return record.status === 'exited' ? record : undefined;
    });
    assert.equal(ended.exitCode, 5);
    await ok(client, 'container:stop', { container: waiting.id, timeoutSeconds: 0 });
    assert.equal((await inspect(waiting.id)).exitCode, 137);
    await ok(client, 'container:remove', { container: waiting.id, force: false });
    await ok(client, 'agent:info', {}); // still answering
    rmSync(filler);
    await until('every transition journaled once space is back', async () => {
      const byId = await journaledOnce();
      return byId.get(waiting.id)?.join() === 'created,started,exited,removed' &&
        byId.get(ending.id)?.join() === 'created,started,exited'
        ? true
        : undefined;
    });
    await ok(client, 'container:remove', { container: ending.id, force: false });
  });

  test('the agent SIGKILLed again and again while containers come and go: each transition journaled once', async () => {
    const earlier = new Set((await journaledOnce()).keys());
    for (let round = 0; round < 3; round++) {
      const runs = Promise.all([0, 1, 2].map(() => cli(['run', '--rm', 'busybox', 'true'])));
      await new Promise((resolve) => setTimeout(resolve, 40 * round));
      await stopAgent('SIGKILL');
      assert.deepEqual(await runs, [0, 0, 0]);
      await startAgent();
    }
    await until('the nine containers journaled, each transition once', async () => {
      const fresh = [...(await journaledOnce())].filter(([id]) => !earlier.has(id));
      return fresh.length === 9 &&
        fresh.every(([, kinds]) => kinds.join() === 'created,started,exited,removed')
        ? true
        : undefined;
    });
  });
});
