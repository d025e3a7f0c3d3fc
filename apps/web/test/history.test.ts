import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type ContainerEvent, containerSpecSchema } from '@tocker/protocol';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import { Agent, connect, ok, removeEverything } from '../../agent/test/helpers.js';
import { openDatabase } from '../src/server/db.js';
import { catchUp, recordEvents } from '../src/server/history.js';
import { runDetail } from '../src/server/runs.js';

const dir = scratchDir('web-test');
after(() => rmSync(dir, { recursive: true, force: true }));

const container = { id: 'a'.repeat(64), name: 'web' };
const at = (second: number) => new Date(Date.UTC(2026, 10, 29, 12, 0, second)).toISOString();
const journal: ContainerEvent[] = [
  {
    seq: 1,
    at: at(0),
    kind: 'created',
    container,
    hostname: 'aaaaaaaaaaaa',
    limits: { memory: 64 << 20 },
    // What the agent journals: the spec as the protocol completes it.
    spec: containerSpecSchema.parse({
      rootfs: '/img',
      command: ['sh'],
      tty: true,
      interactive: true,
      limits: { memory: 64 << 20 },
      name: 'web',
    }),
  },
  { seq: 2, at: at(1), kind: 'started', container },
  { seq: 3, at: at(5), kind: 'limits-updated', container, limits: { memory: 128 << 20 } },
  {
    seq: 4,
    at: at(9),
    kind: 'exited',
    container,
    exit: {
      exitCode: 137,
      signal: 9,
      oomKilled: true,
      memoryPeakBytes: 134_000_000,
      cpuTimeNs: 2.5e9,
    },
  },
  { seq: 5, at: at(10), kind: 'removed', container },
];

describe('run history from an agent journal, in a real SQLite file (Prisma, better-sqlite3 adapter)', () => {
  test('a journal becomes one run with its configuration, the limits it started with and each change, exit, OOM kill and usage', async () => {
    const prisma = openDatabase(join(dir, 'one.db'));
    const agent = await prisma.agent.create({
      data: { name: 'lab', url: 'http://127.0.0.1:1', token: 'x' },
    });
    assert.equal(await recordEvents(prisma, agent.id, journal), 5);
    const [run] = await prisma.run.findMany();
    assert.equal(run?.status, 'exited');
    assert.equal(run?.exitCode, 137);
    assert.equal(run?.oomKilled, true);
    assert.equal(run?.memoryPeakBytes, 134_000_000n);
    assert.equal(run?.cpuTimeNs, 2_500_000_000n);
    assert.deepEqual(JSON.parse(run?.spec ?? '{}').limits, { memory: 64 << 20 });
    const detail = await runDetail(prisma, run?.id ?? 0);
    assert.deepEqual(detail.limits, { memory: 64 << 20 });
    assert.deepEqual(detail.limitChanges, [{ at: at(5), limits: { memory: 128 << 20 } }]);
    assert.deepEqual(
      [
        run?.startedAt?.toISOString(),
        run?.finishedAt?.toISOString(),
        run?.removedAt?.toISOString(),
      ],
      [at(1), at(9), at(10)],
    );
    await prisma.$disconnect();
  });

  test('replayed and overlapping batches record nothing twice', async () => {
    const prisma = openDatabase(join(dir, 'two.db'));
    const agent = await prisma.agent.create({
      data: { name: 'lab', url: 'http://127.0.0.1:2', token: 'x' },
    });
    await recordEvents(prisma, agent.id, journal.slice(0, 3));
    await recordEvents(prisma, agent.id, journal.slice(0, 3));
    await recordEvents(prisma, agent.id, journal.slice(1));
    assert.equal(await prisma.run.count(), 1);
    assert.equal(await prisma.limitChange.count(), 1);
    assert.equal((await prisma.agent.findUniqueOrThrow({ where: { id: agent.id } })).lastSeq, 5);
    assert.equal((await prisma.run.findFirstOrThrow()).exitCode, 137);
    await prisma.$disconnect();
  });

  test('a dashboard restart in the middle resumes from the recorded cursor', async () => {
    const file = join(dir, 'three.db');
    const first = openDatabase(file);
    const agent = await first.agent.create({
      data: { name: 'lab', url: 'http://127.0.0.1:3', token: 'x' },
    });
    const served: number[] = [];
    const since = async (cursor: number) => {
      served.push(cursor);
      return journal.filter((event) => event.seq > cursor).slice(0, 2);
    };
    await recordEvents(first, agent.id, await since(0)); // one batch, then the dashboard stops
    await first.$disconnect();
    const second = openDatabase(file); // migrations are not applied twice
    assert.equal(await catchUp(second, agent.id, since), 5);
    assert.deepEqual(served, [0, 2, 4, 5], 'asked for what came after the cursor each time');
    assert.equal(await second.run.count(), 1);
    await second.$disconnect();
  });
});

describe('history from a real agent (its journal through socket.io)', { timeout: 60_000 }, () => {
  test('runs from the agent and from the CLI are recorded once, also across a dashboard restart; with the image they were made from', async () => {
    const agentProcess = await new Agent().started();
    try {
      const socket = await connect(agentProcess.url);
      const since = async (cursor: number) =>
        (await ok(socket, 'events:since', { cursor, limit: 3 })).events;
      const run = async (command: string[]) =>
        (
          await ok(socket, 'container:run', {
            spec: { rootfs: DEFAULT_IMAGE, command },
          })
        ).container.id;
      const waitExited = async (id: string) => {
        for (let tries = 0; tries < 200; tries++) {
          const { container } = await ok(socket, 'container:inspect', { container: id });
          if (container.status === 'exited') return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error('did not exit');
      };

      const file = join(dir, 'live.db');
      let prisma = openDatabase(file);
      const agent = await prisma.agent.create({
        data: { name: 'local', url: agentProcess.url, token: 'kept-server-side' },
      });
      const first = await run(['sh', '-c', 'exit 3']);
      await waitExited(first);
      await catchUp(prisma, agent.id, since);
      await prisma.$disconnect();

      prisma = openDatabase(file);
      const second = await run(['sh', '-c', 'exit 4']);
      await waitExited(second);
      await catchUp(prisma, agent.id, since);
      const runs = await prisma.run.findMany({ orderBy: { id: 'asc' } });
      assert.deepEqual(
        runs.map((entry) => [entry.containerId, entry.status, entry.exitCode]),
        [
          [first, 'exited', 3],
          [second, 'exited', 4],
        ],
      );
      assert.deepEqual(JSON.parse(runs[0]?.spec ?? '{}').command, ['sh', '-c', 'exit 3']);

      // A run from an image: recorded with the image as named and the digest it resolved to.
      const fromImage = (
        await ok(socket, 'container:run', { spec: { image: 'busybox', command: ['true'] } })
      ).container;
      assert.match(fromImage.image?.digest ?? '', /^sha256:[0-9a-f]{64}$/);
      await catchUp(prisma, agent.id, since);
      const detailOf = async (containerId: string) =>
        runDetail(prisma, (await prisma.run.findFirstOrThrow({ where: { containerId } })).id);
      const imageRun = await detailOf(fromImage.id);
      assert.deepEqual(imageRun.image, { reference: 'busybox', digest: fromImage.image?.digest });
      assert.equal(imageRun.rootfs, null);
      const directoryRun = await detailOf(first);
      assert.deepEqual([directoryRun.image, directoryRun.rootfs], [null, DEFAULT_IMAGE]);
      await prisma.$disconnect();
      socket.close();
    } finally {
      await agentProcess.stop();
      await removeEverything();
    }
  });
});
