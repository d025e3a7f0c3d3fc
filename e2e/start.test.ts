import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { removeEverything, root, ServerProcess } from '../apps/agent/test/helpers.js';
import { openDatabase } from '../apps/web/src/server/db.js';
import { until } from '../apps/web/test/helpers.js';

const startScript = join(import.meta.dirname, '..', 'scripts', 'start.mjs');

after(() => removeEverything());

/** `npm start`'s main job (set-up done): the agent and the dashboard, until stopped. */
async function npmStart(): Promise<{ output: string; agentUrl: string }> {
  const started = new ServerProcess('npm start', [startScript], {
    // Port 0: each start gets other addresses, as a user changing TOCKER_AGENT_LISTEN.
    TOCKER_AGENT_LISTEN: '127.0.0.1:0',
    TOCKER_DASHBOARD_LISTEN: '127.0.0.1:0',
    NEXT_TELEMETRY_DISABLED: '1',
  });
  try {
    await until('tocker to be up', () => started.output.includes('tocker is up'), 60_000);
    const agentUrl = /tocker-agent: listening on (\S+)/.exec(started.output)?.[1] ?? '';
    return { output: started.output, agentUrl };
  } finally {
    assert.equal(await started.stop(), 0, started.output);
  }
}

test('npm start: the login token is printed before the line that points to it; started again at another agent address, it updates its "local" agent in place', {
  timeout: 150_000,
}, async () => {
  const first = await npmStart();
  const token = first.output.indexOf('login token: ');
  assert.ok(token >= 0, first.output);
  assert.ok(token < first.output.indexOf('sign in with the login token above'), first.output);

  const second = await npmStart();
  assert.notEqual(second.agentUrl, first.agentUrl);
  const prisma = openDatabase(join(root, 'dashboard', 'dashboard.db'));
  try {
    const agents = await prisma.agent.findMany();
    assert.deepEqual(
      agents.map((agent) => [agent.name, agent.url]),
      [['local', second.agentUrl]],
    );
  } finally {
    await prisma.$disconnect();
  }
});
