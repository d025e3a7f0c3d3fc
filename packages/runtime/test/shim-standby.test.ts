import assert from 'node:assert/strict';
import { openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Runtime } from '../src/runtime.js';
import { STANDBY_TITLE } from '../src/shim/shim.js';
import { parseContainerSpec } from '../src/spec.js';
import { image, TestRoot } from './helpers.js';

const world = new TestRoot({ name: 'standby' });
after(() => world.cleanup());

const runtimeKeepingAShim = () =>
  Runtime.open({ root: world.root, cgroupParent: world.cgroupParent, keepShimReady: true });

/** This process's children that are standby shims, by pid. */
function standbyShims(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        return ppid === process.pid && cmdline === `tocker-shim\0${STANDBY_TITLE}\0`;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** The network namespaces a process holds open ("net:[N]"). */
function networkNamespacesHeldBy(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    })
    .filter((target) => target.startsWith('net:['));
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let tries = 0; !check(); tries++) {
    if (tries > 200) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The one standby shim of this process, once it is the only one and shows as one: a runtime
 * closed before leaves its own to end by itself (a test that took it would watch the wrong
 * shim), and a shim just spawned has an empty command line until its exec is done.
 */
async function theStandbyShim(): Promise<number> {
  await until('one standby shim', () => standbyShims().length === 1);
  return standbyShims()[0] as number;
}

test('a runtime that keeps a shim ready hands the next container to it: it supervises the container under its name, the plan and every descriptor arrive where a spawned shim finds them, and another one waits after it', async () => {
  const runtime = runtimeKeepingAShim();
  try {
    const waiting = await theStandbyShim();
    const out = `${world.root}/out.txt`;
    const fd = openSync(out, 'w');
    const container = await runtime.run(
      runtime.configure(
        parseContainerSpec({
          rootfs: image,
          hostname: 'handed-over',
          command: [
            'sh',
            '-c',
            'trap "exit 3" TERM; cat /etc/hostname; echo err >&2; sleep 30 & wait',
          ],
        }),
        { kind: 'any-directory' },
      ),
      { io: { kind: 'relay', stdin: null, stdout: fd, stderr: fd }, foreground: true },
    );
    assert.equal(container.state.supervisor.pid, waiting, 'the waiting shim supervises it');
    const title = readFileSync(`/proc/${waiting}/cmdline`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(title, ['tocker-shim', container.id.slice(0, 12)], 'ps shows whose shim');
    await until('its output (its trap is set)', () => readFileSync(out, 'utf8').endsWith('err\n'));
    container.kill(constants.signals.SIGTERM);
    const exit = await container.wait();
    assert.equal(exit.exitCode, 3);
    assert.equal(readFileSync(out, 'utf8'), 'handed-over\nerr\n');
    await until('the next standby shim', () => standbyShims().length === 1);
    assert.notEqual(standbyShims()[0], waiting);
  } finally {
    await runtime.close();
  }
  await until('the standby shim to end with close()', () => standbyShims().length === 0);
});

test('a standby shim that died before it was used (killed) is replaced by a spawned one: the start works all the same', async () => {
  const runtime = runtimeKeepingAShim();
  try {
    const waiting = await theStandbyShim();
    process.kill(waiting, constants.signals.SIGKILL);
    await until('the killed standby to be reaped', () => !standbyShims().includes(waiting));
    const container = await runtime.run(
      runtime.configure(parseContainerSpec({ rootfs: image, command: ['sh', '-c', 'exit 5'] }), {
        kind: 'any-directory',
      }),
      { io: { kind: 'log' }, foreground: false },
    );
    assert.notEqual(container.state.supervisor.pid, waiting);
    assert.equal((await container.wait()).exitCode, 5);
    await runtime.remove(container.id);
  } finally {
    await runtime.close();
  }
});

test("a container handed to a standby shim gets a new network namespace of its own, made while the shim waited (never another container's or the host's); one on the host's network gets the host's", async () => {
  const runtime = runtimeKeepingAShim();
  const networkOf = async (network: string) => {
    const container = await runtime.run(
      runtime.configure(
        parseContainerSpec({
          rootfs: image,
          network,
          command: ['sh', '-c', 'readlink /proc/self/ns/net; cat /proc/net/dev; ip link show lo'],
        }),
        { kind: 'any-directory' },
      ),
      { io: { kind: 'log' }, foreground: false },
    );
    assert.equal((await container.wait()).exitCode, 0);
    const log = readFileSync(runtime.store.logPath(container.id), 'utf8');
    await runtime.remove(container.id);
    return log;
  };
  try {
    const host = readlinkSync('/proc/self/ns/net');
    const waiting = await theStandbyShim();
    let madeAhead: string | undefined;
    await until('the waiting shim to hold the network namespace it made', () => {
      madeAhead = networkNamespacesHeldBy(waiting)[0];
      return madeAhead !== undefined;
    });
    const first = await networkOf('none');
    const second = await networkOf('none');
    const [firstNamespace, secondNamespace] = [first, second].map((log) => log.split('\n')[0]);
    assert.match(firstNamespace ?? '', /^net:\[\d+\]$/);
    assert.notEqual(firstNamespace, secondNamespace, 'each its own');
    assert.notEqual(firstNamespace, host);
    assert.equal(firstNamespace, madeAhead, 'the one the shim made while it waited');
    const interfaces = [...first.matchAll(/^\s*([\w.-]+):\s+\d+\s+\d+/gm)].map((match) => match[1]);
    assert.deepEqual(interfaces, ['lo'], `only lo: ${first}`);
    assert.match(first, /<LOOPBACK,UP,LOWER_UP>/, 'lo is up');
    assert.equal((await networkOf('host')).split('\n')[0], host, "the host's, as asked");
  } finally {
    await runtime.close();
  }
});
