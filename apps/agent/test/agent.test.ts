import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { ContainerEvent, StatsBatch } from '@tocker/protocol';
import { DEFAULT_IMAGE, Runtime } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import {
  Agent,
  call,
  cgroupParent,
  connect,
  ok,
  removeEverything,
  root,
  tockerBin,
  token,
} from './helpers.js';

/** The container once it has ended, as the agent reports it. */
async function waitForExit(id: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { container } = await ok(client, 'container:inspect', { container: id });
    if (container.status === 'exited') return container;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`container ${id} did not end`);
}

let agent: Agent;
let client: Socket;

before(async () => {
  agent = await new Agent().started();
  client = await connect(agent.url);
});

after(async () => {
  client?.close();
  await agent?.stop();
  await removeEverything();
});

describe('the agent: a real process, a real socket.io client, real containers', () => {
  test('refuses connections without the token or with a wrong one, and HTTP without it', async () => {
    await assert.rejects(connect(agent.url, null));
    await assert.rejects(connect(agent.url, 'wrong-token-of-some-length'));
    assert.equal((await fetch(`${agent.url}/v1/info`)).status, 401);
    assert.equal(
      (await fetch(`${agent.url}/v1/info`, { headers: { authorization: 'Bearer nope' } })).status,
      401,
    );
    const info = await fetch(`${agent.url}/v1/info`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(info.status, 200);
    assert.equal(((await info.json()) as { name: string }).name, 'tocker-agent');
  });

  test('refuses browsers, whatever their origin and even with the token: they go through the dashboard', async () => {
    for (const origin of ['http://evil.example', 'http://localhost:3000']) {
      await assert.rejects(connect(agent.url, token, { origin }));
    }
  });

  test('agent:info: version, host, kernel, cgroup version, capacity, load, uptime, container counts', async () => {
    const info = () => ok(client, 'agent:info', {});
    const before = await info();
    const manifest = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    assert.equal(before.version, manifest.version);
    assert.equal(before.hostname, hostname());
    assert.equal(before.kernel, release());
    assert.equal(before.cgroupVersion, Runtime.open({ root, cgroupParent }).cgroups.version);
    assert.equal(before.cpus, cpus().length);
    assert.equal(before.memoryTotalBytes, totalmem());
    assert.ok(
      before.memoryAvailableBytes > 0 && before.memoryAvailableBytes <= before.memoryTotalBytes,
      `available memory ${before.memoryAvailableBytes}`,
    );
    assert.equal(before.loadAverage.length, 3);
    assert.ok(before.loadAverage.every((load) => Number.isFinite(load) && load >= 0));
    assert.ok(
      before.uptimeSeconds > 0 && before.uptimeSeconds < process.uptime(),
      `the agent's own uptime (it started after this test): ${before.uptimeSeconds}`,
    );

    const { container } = await ok(client, 'container:run', {
      spec: { rootfs: DEFAULT_IMAGE, command: ['sleep', '60'] },
    });
    const running = await info();
    assert.equal(running.containersRunning, before.containersRunning + 1);
    assert.equal(running.containersTotal, before.containersTotal + 1);
    assert.ok(running.uptimeSeconds > before.uptimeSeconds);
    await ok(client, 'container:stop', { container: container.id, timeoutSeconds: 0 });
    const stopped = await info();
    assert.equal(stopped.containersRunning, before.containersRunning);
    assert.equal(stopped.containersTotal, before.containersTotal + 1);
    await ok(client, 'container:remove', { container: container.id });
    assert.equal((await info()).containersTotal, before.containersTotal);

    const refused = await call(client, 'agent:info', { verbose: true });
    assert.equal(refused.ok, false, 'the payload schema is strict');
  });

  test('run, list, logs; stop escalates to SIGKILL for a PID-1 shell; the journal has it all', async () => {
    const cursor = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    const pushed: ContainerEvent[] = [];
    client.on('event', (event: ContainerEvent) => pushed.push(event));

    const { container } = await ok(client, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        name: 'agent-sh',
        command: ['sh', '-c', 'echo hello from $(hostname); sleep 60'],
      },
    });
    assert.equal(container.status, 'running');
    const { containers } = await ok(client, 'container:list', {
      all: false,
    });
    assert.ok(containers.some((record) => record.id === container.id));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { logs } = await ok(client, 'container:logs', {
      container: 'agent-sh',
    });
    assert.match(logs, /^hello from [0-9a-f]{12}$/m);

    const stopped = await ok(client, 'container:stop', {
      container: 'agent-sh',
      timeoutSeconds: 1,
    });
    assert.equal(stopped.container.exitCode, 137);
    await ok(client, 'container:remove', { container: 'agent-sh' });

    const { events } = await ok(client, 'events:since', { cursor });
    assert.deepEqual(
      events.map((event) => event.kind),
      ['created', 'started', 'exited', 'removed'],
    );
    assert.ok(
      events.every((event, index) => event.seq === cursor + index + 1),
      'sequence numbers without gaps',
    );
    assert.equal(events[2]?.exit?.exitCode, 137);
    assert.deepEqual(
      pushed.map((event) => event.seq),
      events.map((event) => event.seq),
      'subscribers got the same events pushed',
    );
  });

  test("an image of the agent's store: its command by default, its layers as the root; an image it lacks is one line", async () => {
    const { container } = await ok(client, 'container:run', {
      spec: { image: 'busybox', command: [], autoRemove: false },
    });
    assert.deepEqual(container.spec.image, 'busybox');
    const { container: ran } = await ok(client, 'container:run', {
      spec: { image: 'busybox', command: ['sh', '-c', 'echo from-image; exit 4'] },
    });
    const ended = await waitForExit(ran.id);
    assert.equal(ended.exitCode, 4);
    assert.match((await ok(client, 'container:logs', { container: ran.id })).logs, /^from-image$/m);
    assert.equal(
      (await waitForExit(container.id)).exitCode,
      0,
      "the image's sh, without a terminal, ends",
    );
    const refused = await call(client, 'container:run', {
      spec: { image: 'absent:9', command: ['true'] },
    });
    assert.deepEqual(refused, { ok: false, error: 'no image absent:9' });
  });

  test('mounts through the agent: a named volume, a tmpfs; a host path only under its --allow-bind (none by default)', async () => {
    const { container } = await ok(client, 'container:run', {
      spec: {
        image: 'busybox',
        command: ['sh', '-c', 'echo kept > /v/file; cat /v/file; grep -c " /t tmpfs" /proc/mounts'],
        mounts: [
          { type: 'volume', source: 'agent-volume', target: '/v' },
          { type: 'tmpfs', target: '/t', size: '1m' },
        ],
      },
    });
    assert.equal((await waitForExit(container.id)).exitCode, 0);
    assert.equal(
      (await ok(client, 'container:logs', { container: container.id })).logs,
      'kept\n1\n',
    );
    const bind = await call(client, 'container:run', {
      spec: {
        image: 'busybox',
        command: ['true'],
        mounts: [{ type: 'bind', source: '/etc', target: '/host-etc' }],
      },
    });
    assert.deepEqual(bind, {
      ok: false,
      error: 'bind source /etc is not under a directory this agent allows (--allow-bind: none)',
    });
  });

  test('logs of a removed container: by its full id (as history stores it), no longer by name', async () => {
    const cursor = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    const { container } = await ok(client, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        name: 'archived',
        command: ['sh', '-c', 'echo first; echo second >&2; exit 3'],
      },
    });
    await waitForEvent(
      cursor,
      (event) => event.kind === 'exited' && event.container.id === container.id,
    );
    await ok(client, 'container:remove', { container: 'archived' });
    assert.equal((await call(client, 'container:inspect', { container: container.id })).ok, false);

    const logs = await ok(client, 'container:logs', { container: container.id });
    assert.deepEqual(
      { logs: logs.logs, nextByte: logs.nextByte, running: logs.running },
      { logs: 'first\nsecond\n', nextByte: 13, running: false },
    );
    const tail = await ok(client, 'container:logs', {
      container: container.id,
      tailBytes: 7,
    });
    assert.equal(tail.logs, 'second\n');
    const from = await ok(client, 'container:logs', {
      container: container.id,
      fromByte: 6,
    });
    assert.equal(from.logs, 'second\n');
    for (const reference of ['archived', container.id.slice(0, 12)]) {
      const refused = await call(client, 'container:logs', { container: reference });
      assert.deepEqual(refused, { ok: false, error: `no such container: ${reference}` });
    }
  });

  test("exec without a terminal: in the container's hostname, PID namespace and cgroup", async () => {
    const { container } = await ok(client, 'container:run', {
      spec: { rootfs: DEFAULT_IMAGE, hostname: 'exec-box', command: ['sleep', '60'] },
    });
    const result = await ok(client, 'container:exec', {
      container: container.id,
      command: [
        'sh',
        '-c',
        'hostname; echo $$; ps -o pid,comm | grep -c sleep; grep memory /proc/self/cgroup; exit 4',
      ],
    });
    assert.equal(result.exitCode, 4);
    const [hostname, pid, sleeps, cgroup] = result.output.trim().split('\n');
    assert.equal(hostname, 'exec-box');
    assert.notEqual(pid, '1');
    assert.equal(sleeps, '1', "sees the container's processes (its PID 1 is sleep)");
    assert.match(cgroup ?? '', /memory:\/$/);
    const missing = await call(client, 'container:exec', {
      container: container.id,
      command: ['nope'],
    });
    assert.equal(missing.ok, false);
    await ok(client, 'container:remove', { container: container.id, force: true });
  });

  test('pause and unpause: shown in the view, journaled, refused twice in one line; stop thaws a paused one so its trap runs', async () => {
    const cursor = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    const { container } = await ok(client, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        name: 'pausable',
        command: [
          'sh',
          '-c',
          'trap "echo bye; exit 3" TERM; while true; do echo tick; sleep 0.1; done',
        ],
      },
    });
    assert.equal(container.paused, false);
    const kindsSince = async () =>
      (await ok(client, 'events:since', { cursor })).events
        .filter((event) => event.container.id === container.id)
        .map((event) => event.kind);

    const paused = (await ok(client, 'container:pause', { container: 'pausable' })).container;
    assert.equal(paused.status, 'running', 'a paused container still runs');
    assert.equal(paused.paused, true);
    assert.equal(
      (await ok(client, 'container:inspect', { container: 'pausable' })).container.paused,
      true,
    );
    assert.deepEqual(await kindsSince(), ['created', 'started', 'paused']);
    assert.deepEqual(await call(client, 'container:pause', { container: 'pausable' }), {
      ok: false,
      error: 'container pausable is already paused',
    });
    assert.deepEqual(
      await call(client, 'container:exec', { container: 'pausable', command: ['true'] }),
      { ok: false, error: 'container pausable is paused: unpause it first' },
    );
    // Frozen: what it printed does not change while it is paused.
    const frozenLogs = (await ok(client, 'container:logs', { container: 'pausable' })).logs;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal((await ok(client, 'container:logs', { container: 'pausable' })).logs, frozenLogs);

    const unpaused = (await ok(client, 'container:unpause', { container: 'pausable' })).container;
    assert.equal(unpaused.paused, false);
    assert.deepEqual(await kindsSince(), ['created', 'started', 'paused', 'unpaused']);
    assert.deepEqual(await call(client, 'container:unpause', { container: 'pausable' }), {
      ok: false,
      error: 'container pausable is not paused',
    });
    for (let attempt = 0; ; attempt++) {
      const { logs } = await ok(client, 'container:logs', { container: 'pausable' });
      if (logs.length > frozenLogs.length) break;
      assert.ok(attempt < 100, 'it prints again once unpaused');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    await ok(client, 'container:pause', { container: 'pausable' });
    const stopped = (
      await ok(client, 'container:stop', { container: 'pausable', timeoutSeconds: 10 })
    ).container;
    assert.equal(stopped.status, 'exited');
    assert.equal(stopped.paused, false);
    assert.equal(stopped.exitCode, 3, 'its SIGTERM trap ran: the stop thawed it');
    assert.match((await ok(client, 'container:logs', { container: 'pausable' })).logs, /bye\n$/);
    assert.deepEqual(await kindsSince(), [
      'created',
      'started',
      'paused',
      'unpaused',
      'paused',
      'unpaused',
      'exited',
    ]);
    assert.deepEqual(await call(client, 'container:pause', { container: 'pausable' }), {
      ok: false,
      error: 'container pausable is not running',
    });
    await ok(client, 'container:remove', { container: 'pausable' });
  });

  test('restart: same id and writable layer, stopped and started again, journaled', async () => {
    const { container } = await ok(client, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        name: 'again',
        command: [
          'sh',
          '-c',
          'echo run-$(cat /count 2>/dev/null || echo 0); echo 1 > /count; sleep 60',
        ],
      },
    });
    const cursor = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    const restarted = (
      await ok(client, 'container:restart', {
        container: 'again',
        timeoutSeconds: 1,
      })
    ).container;
    assert.equal(restarted.id, container.id);
    assert.equal(restarted.status, 'running');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.match((await ok(client, 'container:logs', { container: 'again' })).logs, /run-0\nrun-1/);
    const { events } = await ok(client, 'events:since', { cursor });
    assert.deepEqual(
      events.filter((event) => event.container.id === container.id).map((event) => event.kind),
      ['exited', 'started'],
    );
    await ok(client, 'container:remove', { container: 'again', force: true });
  });

  test('update changes the memory limit of a running container in its cgroup', async () => {
    const { container } = await ok(client, 'container:run', {
      spec: { rootfs: DEFAULT_IMAGE, command: ['sleep', '60'], limits: { memory: '64m' } },
    });
    await ok(client, 'container:update', {
      container: container.id,
      limits: { memory: '96m', pidsLimit: 33 },
    });
    const stats = Runtime.open({ root, cgroupParent }).stats(container.id);
    assert.equal(stats.memoryLimitBytes, 96 * 1024 * 1024);
    assert.equal(stats.pidsLimit, 33);
    await ok(client, 'container:remove', { container: container.id, force: true });
  });

  test('stats stream: cpu % against the limit, memory against its limit, pids, once a second', async () => {
    const { container } = await ok(client, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        command: ['sh', '-c', 'while :; do :; done'],
        limits: { cpus: 0.5, memory: '48m', pidsLimit: 10 },
      },
    });
    const batches: StatsBatch[] = [];
    client.on('stats', (batch: StatsBatch) => batches.push(batch));
    await ok(client, 'stats:subscribe', {});
    await waitUntil(() => batches.length >= 3, 10_000);
    await ok(client, 'stats:unsubscribe', {});
    const usage = batches.at(-1)?.containers.find((entry) => entry.id === container.id);
    assert.ok(usage, 'the running container is in the batch');
    assert.equal(usage.cpuLimit, 0.5);
    assert.ok(
      usage.cpuPercent > 20 && usage.cpuPercent <= 110,
      `a busy loop is measured against its 0.5 CPU limit: ${usage.cpuPercent}%`,
    );
    assert.equal(usage.memoryLimitBytes, 48 * 1024 * 1024);
    assert.ok(usage.memoryBytes > 0);
    assert.equal(usage.pidsLimit, 10);
    assert.ok(usage.pids >= 1);
    const count = batches.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(batches.length <= count + 1, 'no more batches after unsubscribing');
    await ok(client, 'container:remove', { container: container.id, force: true });
  });

  test('an OOM kill is an exited event with OOMKilled, peak memory and cpu time', async () => {
    const cursor = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    const { container } = await ok(client, 'container:run', {
      spec: {
        rootfs: DEFAULT_IMAGE,
        command: ['sh', '-c', 'x=$(head -c 100000000 /dev/zero | tr "\\0" a)'],
        limits: { memory: '32m' },
        autoRemove: true,
      },
    });
    const exited = await waitForEvent(
      cursor,
      (event) => event.kind === 'exited' && event.container.id === container.id,
    );
    assert.equal(exited.exit?.oomKilled, true);
    assert.equal(exited.exit?.exitCode, 137);
    assert.ok((exited.exit?.memoryPeakBytes ?? 0) > 16 * 1024 * 1024);
    assert.ok((exited.exit?.cpuTimeNs ?? 0) > 0);
  });

  test('the journal survives an agent restart and resumes from a cursor', async () => {
    const before = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    assert.ok(before > 0);
    client.close();
    await agent.stop();
    agent = await new Agent().started();
    client = await connect(agent.url);
    const { events, lastSeq } = await ok(client, 'events:since', { cursor: before - 2 });
    assert.equal(lastSeq, before);
    assert.deepEqual(
      events.map((event) => event.seq),
      [before - 1, before],
    );
    const { container } = await ok(client, 'container:run', {
      spec: { rootfs: DEFAULT_IMAGE, command: ['true'], autoRemove: true },
    });
    const next = await waitForEvent(before, (event) => event.container.id === container.id);
    assert.equal(next.seq, before + 1, 'numbering continues after the restart');
  });

  test('SIGKILL of the agent: detached containers live on, a restarted agent takes them up, and an end nobody watched is recorded with its real exit code', async () => {
    const ticker = (
      await ok(client, 'container:run', {
        spec: {
          rootfs: DEFAULT_IMAGE,
          name: 'ticker',
          command: ['sh', '-c', 'while :; do echo tick; sleep 0.2; done'],
        },
      })
    ).container;
    const shortLived = (
      await ok(client, 'container:run', {
        spec: { rootfs: DEFAULT_IMAGE, name: 'short', command: ['sh', '-c', 'sleep 1; exit 5'] },
      })
    ).container;
    const cursor = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    client.close();
    await agent.stop('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(alive(ticker.pid ?? -1), 'the detached container runs on without its agent');

    agent = await new Agent().started();
    client = await connect(agent.url);
    const running = (await ok(client, 'container:inspect', { container: 'ticker' })).container;
    assert.equal(running.status, 'running');
    const ended = (
      await ok(client, 'container:inspect', {
        container: 'short',
      })
    ).container;
    assert.equal(ended.status, 'exited');
    assert.equal(ended.exitCode, 5, 'its shim recorded the real exit code, with no agent there');
    assert.equal(ended.error, null);
    const listed = (await ok(client, 'container:list', { all: true })).containers;
    assert.deepEqual(
      listed
        .filter((container) => container.id === shortLived.id)
        .map(({ status, exitCode }) => ({ status, exitCode })),
      [{ status: 'exited', exitCode: 5 }],
      'the list says the same',
    );
    assert.match((await ok(client, 'container:logs', { container: 'ticker' })).logs, /tick/);
    await ok(client, 'container:update', { container: 'ticker', limits: { memory: '80m' } });
    const stopped = (
      await ok(client, 'container:stop', {
        container: 'ticker',
        timeoutSeconds: 1,
      })
    ).container;
    assert.equal(stopped.status, 'exited');
    assert.equal(alive(ticker.pid ?? -1), false);

    const { events } = await ok(client, 'events:since', { cursor });
    const about = (id: string) =>
      events.filter((event) => event.container.id === id).map((event) => event.kind);
    assert.deepEqual(about(shortLived.id), ['exited']);
    assert.deepEqual(about(ticker.id), ['limits-updated', 'exited']);
    await ok(client, 'container:remove', { container: 'ticker' });
    await ok(client, 'container:remove', { container: 'short' });
    assert.deepEqual(cgroupsLeft(), []);
  });

  test('containers run from the CLI reach the journal too, short-lived --rm ones included', async () => {
    const cursor = (await ok(client, 'events:since', { cursor: 0 })).lastSeq;
    const cli = spawnSync(
      tockerBin,
      ['run', '--rm', '--name', 'from-cli', 'busybox', 'sh', '-c', 'exit 7'],
      {
        env: { ...process.env, TOCKER_ROOT: root, TOCKER_CGROUP_PARENT: cgroupParent },
      },
    );
    assert.equal(cli.status, 7);
    const removed = await waitForEvent(
      cursor,
      (event) => event.kind === 'removed' && event.container.name === 'from-cli',
    );
    const { events } = await ok(client, 'events:since', { cursor });
    const mine = events.filter((event) => event.container.id === removed.container.id);
    assert.deepEqual(
      mine.map((event) => event.kind),
      ['created', 'started', 'exited', 'removed'],
    );
    assert.equal(mine[2]?.exit?.exitCode, 7);
    assert.deepEqual(
      mine[0]?.spec?.command,
      ['sh', '-c', 'exit 7'],
      'created carries the configuration',
    );
    assert.equal(mine[0]?.spec?.name, 'from-cli');
  });

  test('50 malformed or hostile requests each get a clear error, and the agent stays up', async () => {
    const hostile: [string, unknown][] = [
      ['container:run', undefined],
      ['container:run', null],
      ['container:run', 42],
      ['container:run', 'sh'],
      ['container:run', []],
      ['container:run', {}],
      ['container:run', { spec: null }],
      ['container:run', { spec: {} }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE } }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: [] } }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: 'sh -c id' } }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: [42] } }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: ['sh\0'] } }],
      ['container:run', { spec: { rootfs: 'relative', command: ['true'] } }],
      ['container:run', { spec: { rootfs: '/nonexistent/../../etc', command: ['true'] } }],
      ['container:run', { spec: { rootfs: '/', command: ['true'], privileged: true } }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: ['true'] }, extra: 1 }],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], limits: { memory: 'abc' } } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], limits: { memory: -1 } } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], limits: { cpus: 1e9 } } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], limits: { cpus: 'NaN' } } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], limits: { pidsLimit: 0.5 } } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], name: '../../etc/passwd' } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], name: 'a'.repeat(300) } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], hostname: 'bad host' } },
      ],
      [
        'container:run',
        { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], env: { 'A=B': 'x' } } },
      ],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], env: { A: 5 } } }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], workdir: 'tmp' } }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: ['true'], tty: 'yes' } }],
      [
        'container:run',
        JSON.parse(
          '{"__proto__": {"polluted": true}, "spec": {"rootfs": "/", "command": ["true"]}}',
        ),
      ],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: ['no-such-program'] } }],
      ['container:inspect', { container: 'f'.repeat(64) }],
      ['container:inspect', { container: '../../../etc/passwd' }],
      ['container:inspect', { container: '' }],
      ['container:inspect', { container: 7 }],
      ['container:inspect', {}],
      ['container:stop', { container: 'ghost' }],
      ['container:stop', { container: 'ghost', timeoutSeconds: -5 }],
      ['container:stop', { container: 'ghost', timeoutSeconds: 'soon' }],
      ['container:kill', { container: 'ghost', signal: 'SIGNOPE' }],
      ['container:kill', { container: 'ghost', signal: 'TERM; rm -rf /' }],
      ['container:remove', { container: 'ghost', force: 'yes' }],
      ['container:update', { container: 'ghost', limits: { memory: '1m' } }],
      ['container:update', { container: 'ghost', limits: { swap: '1g' } }],
      ['container:logs', { container: 'ghost', tailBytes: 1e12 }],
      ['container:logs', { container: 'ghost' }],
      ['events:since', { cursor: -1 }],
      ['events:since', { cursor: 'zero' }],
      ['events:since', { cursor: 0, limit: 1e9 }],
      ['container:run', { spec: { rootfs: DEFAULT_IMAGE, command: ['cat'], interactive: true } }],
    ];
    assert.equal(hostile.length, 50);
    for (const [name, payload] of hostile) {
      const reply = await call(client, name, payload);
      assert.equal(reply.ok, false, `${name} ${JSON.stringify(payload)} was accepted`);
      if (!reply.ok)
        assert.ok(
          reply.error.length > 0 && reply.error.length < 300 && !reply.error.includes('\n'),
          `${name}: one clear line: ${reply.error}`,
        );
    }
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);

    // A payload over the size limit closes that one connection; the agent carries on.
    const victim = await connect(agent.url);
    const closed = new Promise((resolve) => victim.on('disconnect', resolve));
    victim.emit(
      'container:run',
      { spec: { rootfs: DEFAULT_IMAGE, command: ['x'.repeat(1024 * 1024)] } },
      () => {},
    );
    await closed;
    const { containers } = await ok(client, 'container:list', {
      all: true,
    });
    assert.ok(Array.isArray(containers));
  });
});

/** Running, not a zombie (an orphan's zombie lingers until init reaps it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Container cgroups under this test's parent, in every hierarchy. */
function cgroupsLeft(): string[] {
  return readdirSync('/sys/fs/cgroup', { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.parentPath.endsWith(cgroupParent))
    .map((entry) => entry.name);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForEvent(
  cursor: number,
  matches: (event: ContainerEvent) => boolean,
): Promise<ContainerEvent> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { events } = await ok(client, 'events:since', { cursor });
    const found = events.find(matches);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('timed out waiting for an event');
}
