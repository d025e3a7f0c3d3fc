import assert from 'node:assert/strict';
import {
  cpSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ContainerSpecInput } from '@tocker/protocol';
import { DEFAULT_IMAGE } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import { attackImage } from '../../../packages/cli/test/probe/image.js';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import { Agent, call, connect, ok, removeEverything, root, token } from './helpers.js';

const images = scratchDir('agent-images');
const image = attackImage(join(images, 'attack'));
/** What this agent lets containers bind-mount (--allow-bind). */
const binds = scratchDir('agent-binds');
let agent: Agent;
let client: Socket;

before(async () => {
  agent = await new Agent('127.0.0.1:0', [
    '--allow-rootfs',
    images,
    '--allow-bind',
    binds,
  ]).started();
  client = await connect(agent.url);
});

after(async () => {
  client?.close();
  await agent?.stop();
  await removeEverything();
  rmSync(images, { recursive: true, force: true });
  rmSync(binds, { recursive: true, force: true });
});

function run(spec: ContainerSpecInput) {
  return ok(client, 'container:run', { spec });
}

async function refused(spec: object): Promise<string> {
  const reply = await call(client, 'container:run', { spec });
  assert.equal(reply.ok, false, JSON.stringify(spec));
  return (reply as { error: string }).error;
}

async function logsOf(id: string): Promise<string> {
  return (await ok(client, 'container:logs', { container: id, tailBytes: 1 << 20 })).logs;
}

async function exited(id: string): Promise<number | null> {
  const { container } = await until('it to end', async () => {
    const reply = await ok(client, 'container:inspect', { container: id });
    return reply.container.status === 'exited' ? reply : undefined;
  });
  return container.exitCode;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('containment through the agent (what the dashboard reaches): a real agent, real containers', () => {
  test("only images the agent knows: the host's root and host directories are refused", async () => {
    assert.match(await refused({ rootfs: '/', command: ['true'] }), /host's own root/);
    assert.match(
      await refused({ rootfs: '/etc', command: ['true'] }),
      /not an image this agent knows/,
    );
    assert.match(
      await refused({ rootfs: `${images}/../..`, command: ['true'] }),
      /not an image this agent knows|host's own root/,
    );
    // A command that outlives the reply: `true` may have exited before the reply is built.
    assert.equal(
      (await run({ rootfs: DEFAULT_IMAGE, command: ['sleep', '30'] })).container.status,
      'running',
    );
    assert.ok(
      (await run({ rootfs: image, command: ['true'] })).container,
      '--allow-rootfs adds trees',
    );
  });

  test('an image whose /dev, /sys or /proc is a link (dangling, or out of the image) is refused with one line naming it, no stack trace', async () => {
    for (const [where, target] of [
      ['dev', '/nowhere'],
      ['sys', '../../nowhere'],
      ['proc', '/etc'],
    ] as const) {
      const bad = join(images, `bad-${where}`);
      cpSync(image, bad, { recursive: true, verbatimSymlinks: true });
      rmSync(join(bad, where), { recursive: true, force: true });
      symlinkSync(target, join(bad, where));
      const error = await refused({ rootfs: bad, command: ['true'] });
      assert.match(error, new RegExp(`^/${where}: a symlink in the image, not a directory`));
      assert.doesNotMatch(error, /internal error|\n\s+at /);
    }
  });

  test("--privileged through the agent: the host's devices (not its /dev links) are the container's", async () => {
    const { container } = await run({
      rootfs: DEFAULT_IMAGE,
      command: ['sh', '-c', 'ls -l /dev/stdin; test -c /dev/kmsg'],
      privileged: true,
    });
    const ended = await until('it to end', async () => {
      const { container: state } = await ok(client, 'container:inspect', {
        container: container.id,
      });
      return state.status === 'exited' ? state : undefined;
    });
    assert.equal(ended.exitCode, 0, await logsOf(container.id));
    assert.match(await logsOf(container.id), /\/dev\/stdin -> \/proc\/self\/fd\/0/);
  });

  test('the host checks apply to agent requests too: 999 CPUs on this host are refused', async () => {
    assert.match(
      await refused({ rootfs: DEFAULT_IMAGE, command: ['true'], limits: { cpus: 999 } }),
      /cpus: 999 is more than the \d+ CPUs of this host/,
    );
  });

  test('exec through the agent never shows the agent (its token is in its environment) to a process that watches for it', async () => {
    const target = (await run({ rootfs: image, command: ['/attack', 'watch', '5', token] }))
      .container;
    const exec = (command: string[]) =>
      ok(client, 'container:exec', { container: target.id, command }).catch(async (error) => {
        const state = await ok(client, 'container:inspect', {
          container: target.id,
        });
        throw new Error(
          `${(error as Error).message}: the watcher ended ${state.container.exitCode}, ${await logsOf(target.id)}`,
        );
      });
    for (let round = 0; round < 15; round++) await exec(['/bin/true']);
    await ok(client, 'container:exec', {
      container: target.id,
      command: ['touch', '/tmp/stop-watching'],
    });
    const report = await until('the watcher to finish', async () => {
      const text = await logsOf(target.id);
      return /watched \d+, gained \d+/.test(text) ? text : undefined;
    });
    assert.doesNotMatch(report, /GAINED/, report);
    assert.match(report, /gained 0/);
    assert.ok(
      readFileSync(`/proc/${agent.pid}/environ`, 'utf8').includes(token),
      'the secret was there to find',
    );
  });

  test("a detached container's output reaches its log through its shim, also while the agent is down", async () => {
    const ticker = (
      await run({
        rootfs: DEFAULT_IMAGE,
        command: ['sh', '-c', 'i=0; while :; do echo tick-$i; i=$((i+1)); sleep 0.1; done'],
      })
    ).container;
    await until('a first tick', async () =>
      (await logsOf(ticker.id)).includes('tick-1') ? true : undefined,
    );
    client.close();
    await agent.stop('SIGKILL');
    const log = join(root, 'containers', ticker.id, 'container.log');
    const before = readFileSync(log, 'utf8').length;
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.ok(readFileSync(log, 'utf8').length > before, 'the log grew with no agent');
    agent = await new Agent('127.0.0.1:0', [
      '--allow-rootfs',
      images,
      '--allow-bind',
      binds,
    ]).started();
    client = await connect(agent.url);
    const text = await logsOf(ticker.id);
    const ticks = [...text.matchAll(/tick-(\d+)/g)].map((match) => Number(match[1]));
    assert.deepEqual(
      ticks,
      ticks.map((_, index) => index),
      'every line, in order, none lost',
    );
    await ok(client, 'container:remove', { container: ticker.id, force: true });
  });
  test("a container that can write under --allow-bind cannot turn another container's bind into the host's: a symlink swapped into the checked path is refused at the next start", async () => {
    mkdirSync(join(binds, 'shared', 'sub'), { recursive: true });
    writeFileSync(join(binds, 'shared', 'sub', 'mine.txt'), 'mine\n');
    const victim = await run({
      image: 'busybox',
      command: ['sh', '-c', 'cat /data/mine.txt /data/hostname 2>/dev/null; true'],
      mounts: [{ type: 'bind', source: join(binds, 'shared', 'sub'), target: '/data' }],
      autoRemove: false,
    });
    assert.equal(await exited(victim.container.id), 0);
    assert.equal(await logsOf(victim.container.id), 'mine\n');
    // The attacker's link is read by the host, where /etc is the host's.
    const attacker = await run({
      image: 'busybox',
      command: ['sh', '-c', 'rm -r /shared/sub && ln -s /etc /shared/sub'],
      mounts: [{ type: 'bind', source: join(binds, 'shared'), target: '/shared' }],
    });
    assert.equal(await exited(attacker.container.id), 0);
    assert.equal(readlinkSync(join(binds, 'shared', 'sub')), '/etc');
    const restarted = await call(client, 'container:restart', { container: victim.container.id });
    assert.deepEqual(restarted, {
      ok: false,
      error: `bind source ${join(binds, 'shared', 'sub')}: a symlink is in its path now (there was none when it was checked): not followed`,
    });
    assert.doesNotMatch(await logsOf(victim.container.id), new RegExp(hostname()));
  });
});
