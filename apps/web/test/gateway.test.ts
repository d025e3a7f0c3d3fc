import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { after, before, test } from 'node:test';
import {
  type AgentSummary,
  callDashboard,
  type DashboardRequestInput,
  DEFAULT_IMAGE,
  type RunDetail,
  type RunSummary,
  relayToAgent,
} from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import { Agent, token as agentToken, call, removeEverything } from '../../agent/test/helpers.js';
import { Dashboard, until } from './helpers.js';

const dir = scratchDir('web-gateway');
let agent: Agent;
let dashboard: Dashboard;

before(async () => {
  agent = await new Agent().started();
  dashboard = await new Dashboard(dir, agent.url).started();
});
after(async () => {
  await dashboard?.stop();
  await agent?.stop();
  await removeEverything();
  rmSync(dir, { recursive: true, force: true });
});

/** The id of the agent the dashboard registered at start. */
async function localAgent(socket: Socket): Promise<number> {
  const agents = await callDashboard(socket, 'agents:list', {});
  assert.equal(agents.agents[0]?.name, 'local');
  return agents.agents[0]?.id ?? 0;
}

/** A signed-in browser's socket and the local agent's id, for the length of `use`. */
async function signedIn(use: (socket: Socket, agent: number) => Promise<void>): Promise<void> {
  const { cookie } = await dashboard.signIn();
  const socket = await dashboard.connect(cookie);
  try {
    await use(socket, await localAgent(socket));
  } finally {
    socket.close();
  }
}

test('pages and the gateway are closed without a session; a wrong login token gets 401', async () => {
  const page = await fetch(`${dashboard.url}/containers`, { redirect: 'manual' });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), '/login?next=%2Fcontainers');
  const api = await fetch(`${dashboard.url}/api/anything`);
  assert.equal(api.status, 401);
  assert.equal((await dashboard.signIn('not-the-token')).status, 401);
  await assert.rejects(dashboard.connect(null));
  await assert.rejects(dashboard.connect('tocker_session=forged'));
  assert.equal((await fetch(`${dashboard.url}/api/session`)).status, 401);
  const login = await fetch(`${dashboard.url}/login`);
  assert.equal(login.status, 200);
});

test('signed in: pages render, the local agent is online, and its token never reaches the browser', async () => {
  const { status, cookie } = await dashboard.signIn();
  assert.equal(status, 200);
  assert.ok(cookie);
  const page = await fetch(`${dashboard.url}/containers`, { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /tocker/);

  await assert.rejects(dashboard.connect(cookie, 'http://evil.example'));
  assert.equal((await fetch(`${dashboard.url}/api/session`, { headers: { cookie } })).status, 200);
  const socket = await dashboard.connect(cookie);
  try {
    let agents: AgentSummary[] = [];
    await until('the local agent online with its host info', async () => {
      agents = (await callDashboard(socket, 'agents:list', {})).agents;
      return agents[0]?.online === true && agents[0].info !== null;
    });
    assert.equal(agents[0]?.name, 'local');
    assert.equal(agents[0]?.info?.cpus, cpus().length);
    assert.doesNotMatch(JSON.stringify(agents), new RegExp(agentToken));
  } finally {
    socket.close();
  }
});

test('bad input is refused at the gateway with the field named, and nothing runs', async () => {
  await signedIn(async (socket, id) => {
    const bad = await call(socket, 'relay', {
      agent: id,
      request: 'container:run',
      input: { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], limits: { memory: 'abc' } } },
    });
    assert.deepEqual(bad, {
      ok: false,
      error: 'memory: "abc" is not a size (e.g. 64m, 1g, 104857600b; a bare number is MiB)',
    });
    const journal = await call(socket, 'relay', { agent: id, request: 'events:since', input: {} });
    assert.equal(journal.ok, false, 'the journal is the server’s, not relayed');
    const unknown = await call(socket, 'relay', {
      agent: 999,
      request: 'container:list',
      input: {},
    });
    assert.deepEqual(unknown, { ok: false, error: 'no agent 999: it was removed' });
    const wrongAgent = await call(socket, 'agents:add', {
      name: 'typo',
      url: agent.url,
      token: 'a-wrong-token-of-enough-length',
    });
    assert.equal(wrongAgent.ok, false);
    const noUrl = await call(socket, 'agents:add', {
      name: 'x',
      url: 'ftp://x',
      token: 'x'.repeat(16),
    });
    assert.deepEqual(noUrl, { ok: false, error: 'url: must start with http:// or https://' });
    const list = await relayToAgent(socket, id, 'container:list', {});
    assert.equal(list.containers.length, 0);
  });
});

test('a run through the gateway lands in the history with its exit, limits and output, which outlive the container', {
  timeout: 60_000,
}, async () => {
  await signedIn(async (socket, id) => {
    await relayToAgent(socket, id, 'container:run', {
      spec: {
        name: 'gw-run',
        rootfs: DEFAULT_IMAGE,
        command: ['sh', '-c', 'echo "hello from $(hostname)"; exit 4'],
        hostname: 'gw-host',
        limits: { cpus: '0.5', memory: '64m' },
      },
    });
    let summary: RunSummary | undefined;
    await until('the run ended in the history', async () => {
      summary = (await callDashboard(socket, 'history:list', { search: 'gw-run' })).runs[0];
      return summary?.status === 'exited';
    });
    assert.equal(summary?.exitCode, 4);
    assert.deepEqual(summary?.limits, { cpus: 0.5, memory: 64 * 1024 * 1024 });
    assert.deepEqual(summary?.command, ['sh', '-c', 'echo "hello from $(hostname)"; exit 4']);

    await relayToAgent(socket, id, 'container:remove', { container: 'gw-run' });
    let detail: RunDetail | undefined;
    await until('the removal and the output recorded', async () => {
      detail = (await callDashboard(socket, 'history:run', { run: summary?.id ?? 0 })).run;
      return detail.removedAt !== null && detail.logs !== null;
    });
    assert.equal(detail?.logs, 'hello from gw-host\n');

    const filtered = await callDashboard(socket, 'history:list', { status: 'running' });
    assert.equal(
      filtered.runs.some((each) => each.name === 'gw-run'),
      false,
    );
    const bad = await call(socket, 'history:list', { pageSize: 10_000 });
    assert.equal(bad.ok, false);
  });
});

test('history pages: newest first, a total across pages, filters by date and agent', {
  timeout: 60_000,
}, async () => {
  await signedIn(async (socket, id) => {
    for (const index of [0, 1, 2]) {
      await relayToAgent(socket, id, 'container:run', {
        spec: { name: `paged-${index}`, rootfs: DEFAULT_IMAGE, command: ['true'] },
      });
    }
    const page = (query: DashboardRequestInput<'history:list'>) =>
      callDashboard(socket, 'history:list', { search: 'paged-', ...query });
    await until('three runs recorded', async () => (await page({})).total === 3);
    const first = await page({ pageSize: 2, page: 1 });
    const second = await page({ pageSize: 2, page: 2 });
    assert.deepEqual(
      [...first.runs, ...second.runs].map((run) => run.name),
      ['paged-2', 'paged-1', 'paged-0'],
    );
    assert.equal(second.total, 3);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal((await page({ from: tomorrow })).total, 0);
    assert.equal((await page({ to: tomorrow, agent: id })).total, 3);
    assert.equal((await page({ from: anHourAgo, to: tomorrow })).total, 3);
    assert.equal((await page({ to: anHourAgo })).total, 0);
    assert.equal((await page({ agent: id + 1 })).total, 0);
    assert.equal((await call(socket, 'history:list', { from: 'yesterday' })).ok, false);

    // What is typed is searched for as it is: "_" and "%" are not wildcards.
    for (const name of ['lit_x', 'litax']) {
      await relayToAgent(socket, id, 'container:run', {
        spec: { name, rootfs: DEFAULT_IMAGE, command: ['true'] },
      });
    }
    await until('both recorded', async () => (await page({ search: 'lit' })).total === 2);
    assert.deepEqual(
      (await page({ search: 'LIT_X' })).runs.map((run) => run.name),
      ['lit_x'],
    );
    assert.equal((await page({ search: 'lit%' })).total, 0);
  });
});
