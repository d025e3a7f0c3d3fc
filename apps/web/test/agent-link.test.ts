import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import {
  Agent,
  cgroupParent,
  connect,
  ok,
  removeEverything,
  root,
  tockerBin,
  token,
} from '../../agent/test/helpers.js';
import { AgentLink } from '../src/server/agent-link.js';
import { openDatabase } from '../src/server/db.js';
import { until } from './helpers.js';

const dir = scratchDir('web-link');
after(async () => {
  await removeEverything();
  rmSync(dir, { recursive: true, force: true });
});

test('an agent link follows the journal live, shows the agent going away, and catches up when it returns', {
  timeout: 90_000,
}, async () => {
  const listen = `127.0.0.1:${20_000 + Math.floor(Math.random() * 20_000)}`;
  let agent = await new Agent(listen).started();
  const prisma = openDatabase(join(dir, 'dashboard.db'));
  const row = await prisma.agent.create({ data: { name: 'lab', url: agent.url, token } });
  const link = new AgentLink(prisma, row);
  const states: boolean[] = [];
  link.on('online', (online) => states.push(online));
  try {
    await until('online', () => link.online);
    const socket = await connect(agent.url);
    const { container } = await ok(socket, 'container:run', {
      spec: { rootfs: DEFAULT_IMAGE, command: ['sh', '-c', 'exit 5'] },
    });
    socket.close();
    await until(
      'the run recorded live',
      async () =>
        (await prisma.run.findFirst({ where: { containerId: container.id } }))?.exitCode === 5,
    );

    await agent.stop();
    await until('offline', () => !link.online);
    // While the agent is away, a container runs and ends from the command line.
    const cli = spawnSync(
      tockerBin,
      ['run', '--name', 'while-away', 'busybox', 'sh', '-c', 'exit 6'],
      {
        env: { ...process.env, TOCKER_ROOT: root, TOCKER_CGROUP_PARENT: cgroupParent },
      },
    );
    assert.equal(cli.status, 6);

    agent = await new Agent(listen).started();
    await until('back online', () => link.online);
    await until(
      'the missed run recorded',
      async () => (await prisma.run.findFirst({ where: { name: 'while-away' } }))?.exitCode === 6,
    );
    await link.settled();
    assert.equal(await prisma.run.count(), 2, 'each run once');
    assert.deepEqual(states.slice(0, 3), [true, false, true]);
  } finally {
    link.close();
    await prisma.$disconnect();
    await agent.stop();
  }
});
