import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ContainerNetwork, ContainerView, NetworkAttachment } from '@tocker/protocol';
import { OutsideHost } from '../../runtime/test/outside.js';
import { CliRoot, waitFor } from './helpers.js';
import { attackImage } from './probe/image.js';

const world = new CliRoot({ name: 'names' });
let outside: OutsideHost;

before(async () => {
  outside = await OutsideHost.start();
  // The host's resolver, as far as this root's tocker knows: the outside host's.
  writeFileSync(world.resolvConf, `nameserver ${outside.address}\n`);
});

after(async () => {
  await outside?.stop();
  await world.cleanup();
});

async function inspect(reference: string): Promise<ContainerView> {
  const result = await world.run(['inspect', reference]);
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as ContainerView[])[0] as ContainerView;
}

/** The networks the container is on, by name. */
async function attachments(reference: string): Promise<Map<string, NetworkAttachment>> {
  const { network } = await inspect(reference);
  assert.equal(network.mode, 'bridge');
  const { networks } = network as Extract<ContainerNetwork, { mode: 'bridge' }>;
  return new Map(networks.map((attachment) => [attachment.network, attachment]));
}

/** A new network of the test's, on a subnet of its own. */
async function createNetwork(name: string, third: number): Promise<string> {
  const subnet = `10.${240 + (process.pid % 8)}.${third}.0/24`;
  const created = await world.run(['network', 'create', '--subnet', subnet, name]);
  assert.equal(created.code, 0, created.stderr);
  return subnet.replace(/0\/24$/, '1');
}

/** `script` in a new container on `network`: its output, and how it ended. */
async function shell(network: string, script: string) {
  return world.run(['run', '--rm', '--network', network, 'busybox', 'sh', '-c', script]);
}

/** What the network's DNS server (its gateway) answers for `name`: the address, or null. */
function resolved(output: string, name: string): string | null {
  const answer = output.split(`Name:\t${name}\n`)[1];
  return answer === undefined ? null : (/^Address: (\S+)/m.exec(answer)?.[1] ?? null);
}

/** The network's DNS server's process, from the identity it wrote. */
function dnsServer(network: string): number | null {
  try {
    const { pid } = JSON.parse(
      readFileSync(join(world.root, 'networks', network, 'dns.json'), 'utf8'),
    ) as { pid: number };
    return existsSync(`/proc/${pid}`) ? pid : null;
  } catch {
    return null;
  }
}

describe("a network's names: its DNS server on the gateway (the upstream is a namespace of the test's)", () => {
  test('containers of a user network find each other by name, alias and short id; other names go to the host resolvers; a removed container is no longer answered', async () => {
    const gateway = await createNetwork('names', 21);
    const web = await world.run([
      'run',
      '-d',
      '--name',
      'web',
      '--network',
      'names',
      '--network-alias',
      'www',
      '--network-alias',
      'site.lab',
      'busybox',
      'sh',
      '-c',
      'mkdir /www && echo served-by-name > /www/index.html && httpd -f -p 80 -h /www',
    ]);
    assert.equal(web.code, 0, web.stderr);
    const id = web.stdout.trim();
    const address = (await attachments('web')).get('names')?.address;
    assert.equal((await attachments('web')).get('names')?.aliases.join(), 'www,site.lab');
    const client = await shell(
      'names',
      [
        'cat /etc/resolv.conf',
        `nslookup web; nslookup www; nslookup Site.Lab; nslookup ${id.slice(0, 12)}`,
        `nslookup ${OutsideHost.NAME}`,
        'wget -q -O - http://web/ && wget -q -O - http://www/',
        'ping -c 1 -W 2 site.lab >/dev/null && echo pinged',
      ].join('; '),
    );
    assert.equal(client.code, 0, client.stderr);
    assert.equal(client.stdout.split('\n')[0], `nameserver ${gateway}`);
    for (const name of ['web', 'www', 'Site.Lab', id.slice(0, 12)])
      assert.equal(resolved(client.stdout, name), address, `${name} in ${client.stdout}`);
    assert.equal(resolved(client.stdout, OutsideHost.NAME), outside.address);
    assert.match(client.stdout, /^served-by-name\nserved-by-name\npinged$/m);
    // The network's names never left the machine; the other name went to the upstream.
    assert.deepEqual(
      outside.asked.filter((name) => name !== OutsideHost.NAME),
      [],
    );
    assert.ok(outside.asked.includes(OutsideHost.NAME));

    assert.equal((await world.run(['rm', '-f', 'web'])).code, 0);
    const gone = await shell('names', 'nslookup web || echo not-found');
    assert.match(gone.stdout, /not-found/);
    assert.equal(resolved(gone.stdout, 'web'), null);
    assert.deepEqual(outside.asked.slice(-1), ['web']); // no longer the network's: asked upstream
  });

  test("another network's containers get neither its names nor answers from its server; the default network has no names (the host's resolvers)", async () => {
    const gateway = await createNetwork('private', 22);
    await createNetwork('elsewhere', 23);
    const secret = await world.run([
      'run',
      '-d',
      '--name',
      'secret',
      '--network',
      'private',
      'busybox',
      'sleep',
      '60',
    ]);
    assert.equal(secret.code, 0, secret.stderr);
    const seen = await shell('private', 'nslookup secret');
    assert.ok(resolved(seen.stdout, 'secret'), seen.stdout);
    // Asked of its own network's server, and straight at the other network's gateway.
    const stranger = await shell(
      'elsewhere',
      `nslookup secret || echo own-server-refused; nslookup secret ${gateway} || echo other-server-refused`,
    );
    assert.match(stranger.stdout, /own-server-refused\n/);
    assert.match(stranger.stdout, /other-server-refused\n/);
    assert.equal(resolved(stranger.stdout, 'secret'), null);
    const onDefault = await world.run(['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.equal(onDefault.stdout, `nameserver ${outside.address}\n`);
    const refused = await world.run(['run', '--rm', '--network-alias', 'x', 'busybox', 'true']);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /network alias: only on a network of the user's/);
    await world.run(['rm', '-f', 'secret']);
  });

  test("a container abusing its network's DNS server (malformed queries, a frame cut short, 100 connections held) leaves it answering, the same process", async () => {
    const gateway = await createNetwork('abused', 28);
    const target = await world.run([
      'run',
      '-d',
      '--name',
      'target',
      '--network',
      'abused',
      'busybox',
      'sleep',
      '60',
    ]);
    assert.equal(target.code, 0, target.stderr);
    const server = dnsServer('abused');
    assert.ok(server !== null);
    const image = attackImage(join(world.root, 'attack-image'));
    const abuse = await world.run([
      'run',
      '--rm',
      '--network',
      'abused',
      '--rootfs',
      image,
      '/attack',
      'dns-abuse',
      gateway,
      'target',
      '100',
    ]);
    assert.equal(abuse.stdout, 'answered 1, 100 connections held\n', abuse.stderr);
    assert.equal(dnsServer('abused'), server);
    const after = await shell('abused', 'nslookup target');
    assert.ok(resolved(after.stdout, 'target'), after.stdout);
    await world.run(['rm', '-f', 'target']);
  });

  test('the DNS server is started again when it is gone, and ends with its network', async () => {
    await createNetwork('lifecycle', 24);
    const first = await shell('lifecycle', 'true');
    assert.equal(first.code, 0, first.stderr);
    const pid = dnsServer('lifecycle');
    assert.ok(pid !== null, 'a server after the first container');
    process.kill(pid, 'SIGKILL');
    await waitFor('the killed server to go', () => (existsSync(`/proc/${pid}`) ? undefined : true));
    const again = await shell('lifecycle', 'nslookup $(hostname) | grep -c Address');
    assert.equal(again.code, 0, again.stderr);
    const restarted = dnsServer('lifecycle');
    assert.ok(restarted !== null && restarted !== pid);
    assert.equal((await world.run(['network', 'rm', 'lifecycle'])).code, 0);
    await waitFor('the server to end with its network', () =>
      existsSync(`/proc/${restarted}`) ? undefined : true,
    );
  });
});

describe('network connect and disconnect', () => {
  test('a running container joins a second network at once (eth1, its address, its aliases in DNS), keeps it across a restart, and leaves it with nothing left', async () => {
    await createNetwork('front', 25);
    const backGateway = await createNetwork('back', 26);
    const started = await world.run([
      'run',
      '-d',
      '--name',
      'api',
      '--network',
      'front',
      'busybox',
      'sleep',
      '300',
    ]);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    const connected = await world.run([
      'network',
      'connect',
      '--alias',
      'db-client',
      'back',
      'api',
    ]);
    assert.equal(connected.code, 0, connected.stderr);
    const joined = (await attachments('api')).get('back');
    assert.ok(joined !== undefined);
    assert.equal(joined.gateway, backGateway);
    assert.deepEqual(joined.aliases, ['db-client']);
    const inside = await world.run(['exec', 'api', 'ip', '-o', '-4', 'addr']);
    assert.match(inside.stdout, new RegExp(`eth1\\s+inet ${joined.address}/24 `));
    const route = await world.run(['exec', 'api', 'ip', 'route']);
    assert.match(route.stdout, /^default via \S+ dev eth0/m); // still through its first network
    const peer = await shell(
      'back',
      'ping -c 1 -W 2 db-client >/dev/null && echo reached; nslookup api',
    );
    assert.match(peer.stdout, /^reached$/m);
    assert.equal(resolved(peer.stdout, 'api'), joined.address);

    const again = await world.run(['network', 'connect', 'back', 'api']);
    assert.equal(again.code, 125);
    assert.equal(again.stderr, 'tocker: container api is already on network back\n');

    assert.equal((await world.run(['restart', 'api'])).code, 0);
    const restarted = await world.run(['exec', 'api', 'ip', '-o', '-4', 'addr']);
    assert.match(restarted.stdout, new RegExp(`eth1\\s+inet ${joined.address}/24 `));

    const left = await world.run(['network', 'disconnect', 'back', 'api']);
    assert.equal(left.code, 0, left.stderr);
    assert.deepEqual([...(await attachments('api')).keys()], ['front']);
    const after = await world.run(['exec', 'api', 'ip', '-o', 'link']);
    assert.doesNotMatch(after.stdout, /eth1/);
    const backBridge = readFileSync(join(world.root, 'networks', 'back', 'network.json'), 'utf8');
    const bridge = (JSON.parse(backBridge) as { bridge: string }).bridge;
    assert.deepEqual(readdirSync(`/sys/class/net/${bridge}/brif`), []);
    assert.deepEqual(
      JSON.parse(readFileSync(join(world.root, 'networks', 'back', 'leases.json'), 'utf8')),
      {},
    );
    const notOn = await world.run(['network', 'disconnect', 'back', 'api']);
    assert.equal(notOn.stderr, 'tocker: container api is not on network back\n');
    assert.equal((await world.run(['network', 'rm', 'back'])).code, 0);
    await world.run(['rm', '-f', id]);
  });

  test('an exited container is connected at its next start; a container without networks of its own is refused; bad names are one line', async () => {
    await createNetwork('later', 27);
    const started = await world.run(['run', '-d', '--name', 'idle', 'busybox', 'sleep', '300']);
    assert.equal(started.code, 0, started.stderr);
    assert.equal((await world.run(['kill', 'idle'])).code, 0);
    await waitFor('idle to exit', async () =>
      (await inspect('idle')).status === 'exited' ? true : undefined,
    );
    const connected = await world.run(['network', 'connect', 'later', 'idle']);
    assert.equal(connected.code, 0, connected.stderr);
    const address = (await attachments('idle')).get('later')?.address;
    assert.ok(address !== undefined);
    assert.equal((await world.run(['restart', 'idle'])).code, 0);
    assert.match(
      (await world.run(['exec', 'idle', 'ip', '-o', '-4', 'addr'])).stdout,
      new RegExp(`eth1\\s+inet ${address}/24 `),
    );
    const lonely = await world.run(['run', '-d', '--network', 'none', 'busybox', 'sleep', '60']);
    const refused = await world.run(['network', 'connect', 'later', lonely.stdout.trim()]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /is on network mode none: it has no networks of its own\n$/);
    const unknown = await world.run(['network', 'connect', 'nowhere', 'idle']);
    assert.equal(unknown.stderr, 'tocker: no network nowhere\n');
    const badAlias = await world.run(['network', 'connect', '--alias', 'a b', 'later', 'idle']);
    assert.equal(badAlias.code, 125);
    assert.match(badAlias.stderr, /network alias: letters, digits/);
    await world.run(['rm', '-f', 'idle', lonely.stdout.trim()]);
    assert.deepEqual(
      JSON.parse(readFileSync(join(world.root, 'networks', 'later', 'leases.json'), 'utf8')),
      {},
    );
  });
});
