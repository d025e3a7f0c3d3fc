import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OutsideHost } from '../../runtime/test/outside.js';
import { CliRoot, lines, waitFor } from './helpers.js';

const world = new CliRoot({ name: 'network' });
let outside: OutsideHost;

before(async () => {
  outside = await OutsideHost.start();
});

after(async () => {
  await outside?.stop();
  await world.cleanup();
});

interface Inspected {
  id: string;
  network: { mode: string; address?: string; gateway?: string; mac?: string; prefix?: number };
}

async function inspect(reference: string): Promise<Inspected> {
  const result = await world.run(['inspect', reference]);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as Inspected[])[0] as Inspected;
}

/** The root's leases: address → container. */
function leases(): Record<string, string> {
  const file = join(world.root, 'networks', 'bridge', 'leases.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

/** The host's veth ends of this root's containers (tk + the first 8 of the id). */
function hostVeths(ids: readonly string[]): string[] {
  return readdirSync('/sys/class/net').filter((device) =>
    ids.some((id) => device.startsWith(`tk${id.slice(0, 8)}`)),
  );
}

describe('networking (real veths, a bridge and nftables; the outside is a namespace of the test)', () => {
  test('bridge, the default: eth0 with an address of the network, its MAC from the address, the default route through the gateway', async () => {
    const id = (await world.run(['run', '-d', 'busybox', 'sleep', '30'])).stdout.trim();
    const { network } = await inspect(id);
    assert.equal(network.mode, 'bridge');
    const shown = await world.run([
      'exec',
      id,
      'sh',
      '-c',
      'ip -o -4 addr show eth0; ip route; cat /sys/class/net/eth0/address',
    ]);
    assert.match(shown.stdout, new RegExp(`inet ${network.address}/${network.prefix} `));
    assert.match(shown.stdout, new RegExp(`^default via ${network.gateway} dev eth0`, 'm'));
    const hex = (network.address ?? '')
      .split('.')
      .map((byte) => Number(byte).toString(16).padStart(2, '0'));
    assert.equal(network.mac, ['02', '42', ...hex].join(':'));
    assert.match(shown.stdout, new RegExp(`^${network.mac}$`, 'm'));
    assert.equal((await world.run(['rm', '-f', id])).code, 0);
  });

  test("--network none has only lo; --network host has the host's interfaces; a mode it does not know is one line", async () => {
    const none = await world.run([
      'run',
      '--rm',
      '--network',
      'none',
      'busybox',
      'ip',
      '-o',
      'link',
    ]);
    assert.deepEqual(
      lines(none.stdout).map((line) => line.split(':')[1]?.trim()),
      ['lo'],
    );
    const host = await world.run([
      'run',
      '--rm',
      '--network',
      'host',
      'busybox',
      'ls',
      '/sys/class/net',
    ]);
    assert.deepEqual(lines(host.stdout).sort(), readdirSync('/sys/class/net').sort());
    const bad = await world.run(['run', '--rm', '--network', 'bogus', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, 'tocker: network: bridge, none, host\n');
  });

  test("the outside through NAT: a host beyond the machine's routes sees the host's address, not the container's", async () => {
    const result = await world.run([
      'run',
      '--rm',
      'busybox',
      'wget',
      '-q',
      '-O',
      '-',
      outside.url,
    ]);
    assert.equal(result.code, 0, `${result.stderr} ${result.stdout}`);
    assert.equal(result.stdout, outside.hostAddress);
  });

  test('containers of one network reach each other by address', async () => {
    const server = (
      await world.run([
        'run',
        '-d',
        'busybox',
        'sh',
        '-c',
        'mkdir /www && echo hello > /www/index.html && httpd -f -p 80 -h /www',
      ])
    ).stdout.trim();
    const { network } = await inspect(server);
    const fetched = await waitFor('the server to answer', async () => {
      const result = await world.run([
        'run',
        '--rm',
        'busybox',
        'wget',
        '-q',
        '-O',
        '-',
        `http://${network.address}/`,
      ]);
      return result.code === 0 ? result.stdout : undefined;
    });
    assert.equal(fetched, 'hello\n');
    await world.run(['rm', '-f', server]);
  });

  test('addresses: never two containers on one, even started at once; kept across a restart; given back by rm', async () => {
    const started = await Promise.all(
      Array.from({ length: 6 }, () => world.run(['run', '-d', 'busybox', 'sleep', '30'])),
    );
    for (const result of started) assert.equal(result.code, 0, result.stderr);
    const ids = started.map((result) => result.stdout.trim());
    const addresses = await Promise.all(ids.map(async (id) => (await inspect(id)).network.address));
    assert.equal(new Set(addresses).size, 6, addresses.join(' '));
    const first = ids[0] as string;
    const restarted = await world.run(['restart', '-t', '0', first]);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal((await inspect(first)).network.address, addresses[0]);
    assert.equal((await world.run(['rm', '-f', ...ids])).code, 0);
    assert.deepEqual(leases(), {});
    // Each veth pair goes with its container's network namespace.
    assert.deepEqual(
      await waitFor('the veths to go', () => (hostVeths(ids).length === 0 ? [] : undefined)),
      [],
    );
  });

  test('a CLI killed with its foreground container: the veth goes with the container, the next command gives its address back', async () => {
    const child = world.run(['run', '--name', 'doomed', 'busybox', 'sleep', '30'], {
      timeoutMs: 60_000,
    });
    const id = await waitFor('the container to run', async () => {
      const shown = await world.run(['inspect', 'doomed']);
      const [container] = shown.code === 0 ? (JSON.parse(shown.stdout) as Inspected[]) : [];
      return container?.network.mode === 'bridge' ? container.id : undefined;
    });
    const { network } = await inspect(id);
    const cli = readdirSync('/proc').find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--name\0doomed');
      } catch {
        return false;
      }
    });
    process.kill(Number(cli), 'SIGKILL');
    await child.catch(() => undefined);
    assert.deepEqual(
      await waitFor('the veth to go', () => (hostVeths([id]).length === 0 ? [] : undefined)),
      [],
    );
    await world.run(['rm', '-f', 'doomed']);
    assert.equal(leases()[network.address as string], undefined);
  });
});
