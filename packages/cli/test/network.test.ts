import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type {
  ContainerNetwork,
  ContainerView,
  NetworkAttachment,
  NetworkSummary,
  PublishedPort,
} from '@tocker/protocol';
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

/** The container's place on its (first) network, with its published ports: it must have one. */
function bridged(view: ContainerView): NetworkAttachment & { ports: PublishedPort[] } {
  assert.equal(view.network.mode, 'bridge');
  const { networks, ports } = view.network as Extract<ContainerNetwork, { mode: 'bridge' }>;
  assert.equal(networks.length, 1);
  return { ...(networks[0] as NetworkAttachment), ports };
}

async function inspect(reference: string): Promise<ContainerView> {
  const result = await world.run(['inspect', reference]);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as ContainerView[])[0] as ContainerView;
}

/** `url` fetched by a new container, on `network`. */
function fetchInContainer(url: string, network = 'bridge') {
  return world.run(['run', '--rm', '--network', network, 'busybox', 'wget', '-q', '-O', '-', url]);
}

/** A container's command: busybox httpd on port 80, serving `text`. */
function httpServer(text: string): string[] {
  return ['sh', '-c', `mkdir /www && echo ${text} > /www/index.html && httpd -f -p 80 -h /www`];
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
    const network = bridged(await inspect(id));
    assert.equal(network.network, 'bridge');
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

  test('a container on a network gives the host no new address: its veth ends and the bridges, at its start and at a network connect, get no IPv6 link-local (a browser on the host takes a new address for a network change and fails the requests it has in flight)', async () => {
    const id = (await world.run(['run', '-d', 'busybox', 'sleep', '30'])).stdout.trim();
    const subnet = `10.${232 + (process.pid % 8)}.11.0/24`;
    try {
      assert.equal((await world.run(['network', 'create', '--subnet', subnet, 'v6less'])).code, 0);
      const connected = await world.run(['network', 'connect', 'v6less', id]);
      assert.equal(connected.code, 0, connected.stderr);
      const veths = hostVeths([id]);
      assert.equal(veths.length, 2, 'a veth on the host for each network');
      for (const veth of veths) {
        // The container's end is up, so the host's has its carrier: a link-local address
        // would have come with it.
        assert.equal(readFileSync(`/sys/class/net/${veth}/carrier`, 'utf8').trim(), '1');
        const bridge = basename(readlinkSync(`/sys/class/net/${veth}/master`));
        for (const device of [veth, bridge]) {
          const addresses = execFileSync('ip', ['-o', 'addr', 'show', 'dev', device], {
            encoding: 'utf8',
          });
          assert.doesNotMatch(addresses, /inet6/, `${device}: ${addresses}`);
        }
      }
    } finally {
      assert.equal((await world.run(['rm', '-f', id])).code, 0);
      await world.run(['network', 'rm', 'v6less']);
    }
  });

  test("--network none has only lo; --network host has the host's interfaces; a network it does not know is one line, leaving nothing", async () => {
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
    const unknown = await world.run(['run', '--rm', '--network', 'bogus', 'busybox', 'true']);
    assert.equal(unknown.code, 125);
    assert.equal(unknown.stderr, 'tocker: no network bogus\n');
    const bad = await world.run(['run', '--rm', '--network', '../x', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.equal(
      bad.stderr,
      "tocker: network: bridge, none, host, container:NAME or a network's name\n",
    );
    assert.deepEqual((await world.run(['ps', '-a', '-q'])).stdout, '');
  });

  test("the outside through NAT: a host beyond the machine's routes sees the host's address, not the container's", async () => {
    const result = await fetchInContainer(outside.url);
    assert.equal(result.code, 0, `${result.stderr} ${result.stdout}`);
    assert.equal(result.stdout, outside.hostAddress);
  });

  test('containers of one network reach each other by address', async () => {
    const server = (
      await world.run(['run', '-d', 'busybox', ...httpServer('hello')])
    ).stdout.trim();
    const network = bridged(await inspect(server));
    const fetched = await waitFor('the server to answer', async () => {
      const result = await fetchInContainer(`http://${network.address}/`);
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
    const addresses = await Promise.all(ids.map(async (id) => bridged(await inspect(id)).address));
    assert.equal(new Set(addresses).size, 6, addresses.join(' '));
    const first = ids[0] as string;
    const restarted = await world.run(['restart', '-t', '0', first]);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal(bridged(await inspect(first)).address, addresses[0]);
    assert.equal((await world.run(['rm', '-f', ...ids])).code, 0);
    assert.deepEqual(leases(), {});
    // Each veth pair goes with its container's network namespace.
    assert.deepEqual(
      await waitFor('the veths to go', () => (hostVeths(ids).length === 0 ? [] : undefined)),
      [],
    );
  });

  test('a --rm container gives its address back as it ends, not at the next command', async () => {
    const before = leases();
    const result = await world.run(['run', '--rm', 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']);
    assert.equal(result.code, 0, result.stderr);
    const address = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(result.stdout)?.[1];
    assert.ok(address !== undefined, `it had an address: ${result.stdout}`);
    // No tocker command ran since (each one's collection gives back what is left).
    assert.deepEqual(leases(), before);
  });

  test('a CLI killed with its foreground container: the veth goes with the container, the next command gives its address back', async () => {
    const child = world.run(['run', '--name', 'doomed', 'busybox', 'sleep', '30'], {
      timeoutMs: 60_000,
    });
    const id = await waitFor('the container to run', async () => {
      const shown = await world.run(['inspect', 'doomed']);
      const [container] = shown.code === 0 ? (JSON.parse(shown.stdout) as ContainerView[]) : [];
      return container?.network.mode === 'bridge' ? container.id : undefined;
    });
    const network = bridged(await inspect(id));
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

  test("the container's /etc/hostname, /etc/hosts (its name and address) and /etc/resolv.conf (the host's resolvers, none on its loopback, its search and options): read-only, written for it, the image untouched, a symlink of the image's replaced", async () => {
    await world.loadImage(
      'linked:1',
      [[{ path: 'etc/resolv.conf', type: 'symlink', linkname: '../run/nowhere' }]],
      {
        cmd: [
          'sh',
          '-c',
          'cat /etc/hostname /etc/hosts /etc/resolv.conf; echo x > /etc/hosts || echo read-only',
        ],
      },
    );
    writeFileSync(
      world.resolvConf,
      'search lab.test\nnameserver 127.0.0.53\nnameserver 198.18.255.254\noptions ndots:2\n',
    );
    const result = await world.run(['run', '--name', 'named', '--hostname', 'box', 'linked:1']);
    writeFileSync(world.resolvConf, '');
    assert.equal(result.code, 0, result.stderr);
    const id = lines((await world.run(['ps', '-a', '-q'])).stdout)[0] as string;
    const { address } = bridged(await inspect(id));
    assert.match(result.stdout, /^box\n127\.0\.0\.1\tlocalhost\n/);
    assert.match(result.stdout, new RegExp(`^${address}\tbox named$`, 'm'));
    assert.match(
      result.stdout,
      /\nsearch lab\.test\nnameserver 198\.18\.255\.254\noptions ndots:2\nread-only\n$/,
    );
    assert.match(result.stdout, /read-only$/m);
    await world.run(['rm', id]);
    const layers = join(world.root, 'store', 'layers');
    const imageLinks = readdirSync(layers).filter((layer) => {
      try {
        return lstatSync(join(layers, layer, 'root', 'etc', 'resolv.conf')).isSymbolicLink();
      } catch {
        return false;
      }
    });
    assert.equal(imageLinks.length, 1, 'the image keeps its symlink');
    assert.match(
      (await world.run(['run', '--rm', 'linked:1', 'readlink', '-f', '/etc/resolv.conf'])).stdout,
      /^\/etc\/resolv.conf$/m,
    );
  });

  test('-p publishes a port: reached from the host (127.0.0.1 too), from another host through the host, and by the container through the host; held while published; gone with the container', async () => {
    const port = await freePort();
    const started = await world.run([
      'run',
      '-d',
      '-p',
      `${port}:80`,
      'busybox',
      ...httpServer('published'),
    ]);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    const network = bridged(await inspect(id));
    assert.deepEqual(network.ports, [
      { hostIp: '0.0.0.0', hostPort: port, containerPort: 80, protocol: 'tcp' },
    ]);
    assert.equal(
      await waitFor('the server', () => get(`http://127.0.0.1:${port}/`)),
      'published\n',
    );
    assert.equal(
      outside.exec(['busybox', 'wget', '-q', '-O', '-', `http://${outside.hostAddress}:${port}/`]),
      'published\n',
    );
    const hairpin = await world.run([
      'exec',
      id,
      'wget',
      '-q',
      '-O',
      '-',
      `http://${network.gateway}:${port}/`,
    ]);
    assert.equal(hairpin.stdout, 'published\n', hairpin.stderr);
    assert.match((await world.run(['ps'])).stdout, new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp`));
    assert.equal(await bindable(port), false, 'held while published');
    const taken = await world.run(['run', '--rm', '-p', `${port}:80`, 'busybox', 'true']);
    assert.equal(taken.code, 125);
    assert.equal(
      taken.stderr,
      `tocker: publish: 0.0.0.0:${port}/tcp is already in use on this host\n`,
    );
    assert.equal((await world.run(['rm', '-f', id])).code, 0);
    assert.equal(
      await waitFor('the port to be free', async () => ((await bindable(port)) ? true : undefined)),
      true,
    );
    assert.doesNotMatch(
      execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }),
      new RegExp(`dport ${port} `),
    );
  });

  test('-p PORT alone takes a free host port and shows it; published on 127.0.0.1 it is not reached on other addresses', async () => {
    const started = await world.run([
      'run',
      '-d',
      '-p',
      '127.0.0.1::80',
      'busybox',
      ...httpServer('local'),
    ]);
    const id = started.stdout.trim();
    const [published] = bridged(await inspect(id)).ports;
    assert.equal(published?.hostIp, '127.0.0.1');
    assert.ok((published?.hostPort ?? 0) > 0);
    assert.equal(
      await waitFor('the server', () => get(`http://127.0.0.1:${published?.hostPort}/`)),
      'local\n',
    );
    assert.throws(() =>
      outside.exec([
        'busybox',
        'wget',
        '-q',
        '-O',
        '-',
        `http://${outside.hostAddress}:${published?.hostPort}/`,
      ]),
    );
    await world.run(['rm', '-f', id]);
  });

  test('-P publishes every port the image exposes on a free host port, besides what -p publishes already', async () => {
    await world.loadImage('exposing:1', [], {
      exposedPorts: ['80/tcp', '53/udp', '8080/tcp'],
      cmd: ['sleep', '30'],
    });
    const started = await world.run(['run', '-d', '-P', '-p', '127.0.0.1::8080', 'exposing:1']);
    assert.equal(started.code, 0, started.stderr);
    const { ports } = bridged(await inspect(started.stdout.trim()));
    assert.deepEqual(
      ports.map(({ hostIp, containerPort, protocol }) => `${hostIp} ${containerPort}/${protocol}`),
      ['127.0.0.1 8080/tcp', '0.0.0.0 80/tcp', '0.0.0.0 53/udp'],
    );
    assert.ok(ports.every((port) => port.hostPort > 0));
    await world.run(['rm', '-f', started.stdout.trim()]);
  });

  test("--network container:NAME shares that container's network: same eth0 and address, its localhost; a container that is not running is refused", async () => {
    const main = await world.run([
      'run',
      '-d',
      '--name',
      'main',
      'busybox',
      'sh',
      '-c',
      'mkdir /www && echo from-main > /www/index.html && httpd -f -p 127.0.0.1:8081 -h /www',
    ]);
    assert.equal(main.code, 0, main.stderr);
    const { address } = bridged(await inspect('main'));
    const sidecar = await world.run([
      'run',
      '--rm',
      '--network',
      'container:main',
      'busybox',
      'sh',
      '-c',
      'ip -o -4 addr show eth0; sleep 0.5; wget -q -O - http://127.0.0.1:8081/',
    ]);
    assert.equal(sidecar.code, 0, sidecar.stderr);
    assert.match(sidecar.stdout, new RegExp(`inet ${address}/`));
    assert.match(sidecar.stdout, /^from-main$/m);
    const shown = await world.run([
      'run',
      '-d',
      '--network',
      'container:main',
      'busybox',
      'sleep',
      '30',
    ]);
    assert.deepEqual((await inspect(shown.stdout.trim())).network, {
      mode: 'container',
      container: (await inspect('main')).id,
    });
    await world.run(['rm', '-f', shown.stdout.trim(), 'main']);
    const refused = await world.run([
      'run',
      '--rm',
      '--network',
      'container:main',
      'busybox',
      'true',
    ]);
    assert.equal(refused.code, 125);
    assert.equal(refused.stderr, 'tocker: no such container: main\n');
    await world.run(['run', '--name', 'ended', 'busybox', 'true']);
    const ended = await world.run([
      'run',
      '--rm',
      '--network',
      'container:ended',
      'busybox',
      'true',
    ]);
    assert.equal(ended.stderr, 'tocker: network container:ended: that container is not running\n');
    await world.run(['rm', 'ended']);
  });

  test("user networks: create (a subnet of the user's, or a free one), containers on it reach each other and the outside but not another network; rm refused while a container is on it; overlaps and names refused", async () => {
    const subnet = `10.${240 + (process.pid % 8)}.7.0/24`;
    const created = await world.run(['network', 'create', '--subnet', subnet, 'backend']);
    assert.equal(created.code, 0, created.stderr);
    const ls = await world.run(['network', 'ls']);
    assert.match(ls.stdout, new RegExp(`backend\\s+${subnet.replace(/\./g, '\\.')}`));
    const server = (
      await world.run(['run', '-d', '--network', 'backend', 'busybox', ...httpServer('on-backend')])
    ).stdout.trim();
    const { address, network } = bridged(await inspect(server));
    assert.equal(network, 'backend');
    assert.ok(address.startsWith(subnet.slice(0, subnet.lastIndexOf('.'))), address);
    const fetched = await waitFor('the server to answer', async () => {
      const result = await fetchInContainer(`http://${address}/`, 'backend');
      return result.code === 0 ? result.stdout : undefined;
    });
    assert.equal(fetched, 'on-backend\n');
    const outsideSeen = await fetchInContainer(outside.url, 'backend');
    assert.equal(outsideSeen.stdout, outside.hostAddress);
    const fromDefault = await world.run([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      `wget -q -O - http://${address}/ & sleep 2; kill $! 2>/dev/null && echo blocked`,
    ]);
    assert.match(fromDefault.stdout, /^blocked$/m, 'the default network does not reach backend');
    const inUse = await world.run(['network', 'rm', 'backend']);
    assert.equal(inUse.code, 1);
    assert.match(
      inUse.stderr,
      /^tocker: network backend has container [0-9a-f]{12} on it: remove that first\n$/,
    );
    const overlap = await world.run(['network', 'create', '--subnet', subnet, 'again']);
    assert.equal(overlap.code, 125);
    assert.match(
      overlap.stderr,
      new RegExp(`^tocker: subnet ${subnet.replace(/\./g, '\\.')} overlaps`),
    );
    for (const [name, error] of [
      ['host', 'network host: a name tocker keeps for itself'],
      ['../x', 'network "../x": letters, digits, _ . - (at most 63)'],
    ]) {
      const refused = await world.run(['network', 'create', name as string]);
      assert.equal(refused.stderr, `tocker: ${error}\n`);
    }
    for (const [bridgeName, error] of [
      [
        'tk-a-long-name-0',
        'bridge: an interface name has at most 15 characters: "tk-a-long-name-0"',
      ],
      ['tk/0', 'bridge: an interface name of letters, digits, _ . -: "tk/0"'],
      ['lo', 'bridge lo: this host already has an interface of that name'],
    ]) {
      const refused = await world.run([
        'network',
        'create',
        '--bridge',
        bridgeName as string,
        'named',
      ]);
      assert.equal(refused.stderr, `tocker: ${error}\n`);
    }
    assert.doesNotMatch((await world.run(['network', 'ls', '-q'])).stdout, /named/);
    const ownBridge = `tkn${process.pid}`;
    const named = await world.run(['network', 'create', '--bridge', ownBridge, 'named']);
    assert.equal(named.code, 0, named.stderr);
    assert.ok(existsSync(`/sys/class/net/${ownBridge}`));
    assert.equal((await world.run(['network', 'rm', 'named'])).code, 0);
    assert.equal(existsSync(`/sys/class/net/${ownBridge}`), false);
    const { bridge, containers } = (
      JSON.parse((await world.run(['network', 'inspect', 'backend'])).stdout) as NetworkSummary[]
    )[0] as NetworkSummary;
    assert.ok(existsSync(`/sys/class/net/${bridge}`));
    assert.deepEqual(containers, [{ id: server, name: null, address, aliases: [] }]);
    await world.run(['rm', '-f', server]);
    assert.equal((await world.run(['network', 'rm', 'backend'])).code, 0);
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false);
    assert.doesNotMatch((await world.run(['network', 'ls', '-q'])).stdout, /backend/);
  });

  test('a network whose bridge is down (as after a reboot, until a container uses it) keeps its subnet: a new network takes another, and asking for it is refused', async () => {
    const subnetOf = async (name: string) =>
      (JSON.parse((await world.run(['network', 'inspect', name])).stdout) as NetworkSummary[])[0];
    const subnet = `10.${248 + (process.pid % 8)}.9.0/24`;
    assert.equal((await world.run(['network', 'create', '--subnet', subnet, 'asleep'])).code, 0);
    assert.equal((await world.run(['network', 'create', 'chosen-asleep'])).code, 0);
    const sleeping = [await subnetOf('asleep'), await subnetOf('chosen-asleep')];
    try {
      for (const network of sleeping) execFileSync('ip', ['link', 'del', network?.bridge ?? '']);
      const again = await world.run(['network', 'create', '--subnet', subnet, 'again']);
      assert.equal(again.code, 125);
      assert.equal(again.stderr, `tocker: subnet ${subnet} overlaps ${subnet} (network asleep)\n`);
      assert.equal((await world.run(['network', 'create', 'chosen-awake'])).code, 0);
      const chosen = (await subnetOf('chosen-awake'))?.subnet;
      assert.notEqual(chosen, sleeping[1]?.subnet, "the free subnet is not a sleeping network's");
    } finally {
      for (const name of ['asleep', 'chosen-asleep', 'chosen-awake'])
        await world.run(['network', 'rm', name]);
    }
  });

  test("another table's forward chain with a drop policy (docker's FORWARD) is named at the bridge's creation, with the rules that would let it through; that table is left as it was", async () => {
    const table = `fwtest${process.pid}`;
    // Its first rule accepts everything: the policy is what is looked at, and the other tests
    // running beside this one are not disturbed.
    execFileSync('nft', ['-f', '-'], {
      input: `table inet ${table} {\n  chain forward {\n    type filter hook forward priority 10; policy drop;\n    accept\n  }\n}\n`,
    });
    let bridge: string;
    try {
      const guarded = await world.run(['network', 'create', 'guarded']);
      assert.equal(guarded.code, 0, guarded.stderr);
      bridge = JSON.parse(
        readFileSync(join(world.root, 'networks', 'guarded', 'network.json'), 'utf8'),
      ).bridge;
      const where = `inet ${table} forward`;
      assert.equal(
        guarded.stderr,
        `tocker: warning: table inet ${table} drops forwarded packets by default (chain forward, policy drop): containers on ${bridge} reach neither the outside nor each other's published ports unless it lets them through, e.g. nft insert rule ${where} iifname "${bridge}" accept; nft insert rule ${where} oifname "${bridge}" accept\n`,
      );
      assert.match(
        execFileSync('nft', ['list', 'table', 'inet', table], { encoding: 'utf8' }),
        /policy drop;\n\s+accept\n\s+}/,
      );
    } finally {
      execFileSync('nft', ['delete', 'table', 'inet', table]);
    }
    const unguarded = await world.run(['network', 'create', 'unguarded']);
    assert.equal(unguarded.code, 0, unguarded.stderr);
    assert.equal(unguarded.stderr, '');
    assert.equal((await world.run(['network', 'rm', 'guarded', 'unguarded'])).code, 0);
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false);
  });

  test('bad -p: malformed, out of range, twice, or on a network without ports: one line each, nothing started', async () => {
    for (const [args, error] of [
      [['-p', 'abc'], '-p abc: not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], e.g. 8080:80'],
      [['-p', '99999'], '-p 99999: the container port: a port from 1 to 65535'],
      [['-p', '70000:80'], '-p 70000:80: the host port: a port from 1 to 65535'],
      [['-p', '8080:80', '-p', '8080:81'], 'publish: 0.0.0.0:8080/tcp is published twice'],
      [
        ['--network', 'none', '-p', '80'],
        'publish: a container on network none has no ports of its own to publish',
      ],
      [['-p', '10.255.255.254:8080:80'], 'publish: 10.255.255.254 is not an address of this host'],
    ] as const) {
      const result = await world.run(['run', '--rm', ...args, 'busybox', 'true']);
      assert.equal(result.code, 125, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr, `tocker: ${error}\n`);
    }
    assert.deepEqual((await world.run(['ps', '-a', '-q'])).stdout, '');
  });
});

/** A loopback port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether this process can bind the port on every address (nothing holds it). */
function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

async function get(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}
