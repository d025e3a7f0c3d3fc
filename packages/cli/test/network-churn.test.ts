import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ContainerView, primaryAddress } from '@tocker/protocol';
import { pooledOrThrow } from '../src/pool.js';
import { CliRoot, waitFor } from './helpers.js';

const world = new CliRoot({ name: 'churn' });
const COUNT = 100;
/** The CLI costs ~150 ms of CPU a run: a few at a time keep 2 cores busy, not swamped. */
const CONCURRENCY = 4;
const NETWORK = 'churn';

after(() => world.cleanup());

/** The network's leases: address → container. */
function leases(): Record<string, string> {
  const file = join(world.root, 'networks', NETWORK, 'leases.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
}

/** The host's veth ends of these containers (tk + the first 8 of the id). */
function hostVeths(ids: readonly string[]): string[] {
  return readdirSync('/sys/class/net').filter((device) =>
    ids.some((id) => device.startsWith(`tk${id.slice(0, 8)}`)),
  );
}

/** Those of `addresses` that some nftables rule or set element of the host mentions. */
function inFirewall(addresses: readonly string[]): string[] {
  const ruleset = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  return addresses.filter((address) =>
    new RegExp(`(?<![\\d.])${address.replace(/\./g, '\\.')}(?![\\d])`).test(ruleset),
  );
}

/** The cgroups below this world's parent (one per container, in each hierarchy). */
function containerCgroups(): string[] {
  return world.cgroupDirs().flatMap((dir) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name)),
  );
}

/**
 * The processes of these containers: their PID 1 (`pids`, while it is still that `sleep`)
 * and their shims (`tocker-shim ID12`).
 */
function processesOf(ids: readonly string[], pids: ReadonlySet<number>): number[] {
  const shims = new Set(ids.map((id) => `tocker-shim\0${id.slice(0, 12)}\0`));
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const ours =
        shims.has(cmdline) ||
        (pids.has(Number(entry)) && cmdline === ['sleep', '300', ''].join('\0'));
      return ours ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

test(`${COUNT} containers on one user network, started detached and removed: each its own address; afterwards no veth, lease, firewall rule, cgroup or process of theirs`, async () => {
  const created = await world.run(['network', 'create', NETWORK]);
  assert.equal(created.code, 0, created.stderr);
  const started = await pooledOrThrow(
    Array.from({ length: COUNT }, (_, index) => index),
    CONCURRENCY,
    (index) =>
      world.run([
        'run',
        '-d',
        '--network',
        NETWORK,
        // Every tenth publishes a port: the firewall then has rules with its address.
        ...(index % 10 === 0 ? ['-p', '127.0.0.1::80'] : []),
        'busybox',
        'sleep',
        '300',
      ]),
  );
  for (const result of started) assert.equal(result.code, 0, result.stderr);
  const ids = started.map((result) => result.stdout.trim());
  assert.equal(new Set(ids).size, COUNT);

  const shown = await world.run(['inspect', ...ids]);
  assert.equal(shown.code, 0, shown.stderr);
  const views = JSON.parse(shown.stdout) as ContainerView[];
  const addresses = views.map((view) => {
    assert.equal(view.network.mode, 'bridge');
    assert.equal(view.status, 'running');
    return primaryAddress(view.network) ?? '';
  });
  assert.equal(new Set(addresses).size, COUNT, `distinct addresses: ${addresses.join(' ')}`);
  const publishing = views.flatMap((view, index) =>
    view.network.mode === 'bridge' && view.network.ports.length > 0 ? [addresses[index]] : [],
  ) as string[];
  assert.equal(publishing.length, COUNT / 10);

  // What the checks below look for is there while they run (so each can fail).
  assert.deepEqual(
    Object.entries(leases()).sort(),
    addresses.map((address, index) => [address, ids[index]]).sort(),
  );
  assert.equal(hostVeths(ids).length, COUNT);
  assert.deepEqual(inFirewall(addresses).sort(), [...publishing].sort());
  for (const id of ids)
    assert.ok(
      containerCgroups().some((dir) => dir.endsWith(`/${id}`)),
      `the cgroup of ${id.slice(0, 12)}`,
    );
  const pids = new Set(views.map((view) => view.pid ?? 0));
  assert.equal(processesOf(ids, pids).length, 2 * COUNT, 'their PID 1s and shims');

  const removed = await world.run(['rm', '-f', ...ids], { timeoutMs: 120_000 });
  assert.equal(removed.code, 0, removed.stderr);

  assert.deepEqual(leases(), {}, 'leases left');
  assert.deepEqual(inFirewall(addresses), [], 'firewall rules left');
  assert.deepEqual(containerCgroups(), [], 'cgroups left');
  assert.deepEqual(processesOf(ids, pids), [], 'processes left');
  assert.equal((await world.run(['ps', '-a', '-q'])).stdout, '');
  // Each veth pair goes with its container's network namespace, which the kernel takes down
  // a moment after its last process.
  assert.deepEqual(
    await waitFor('the veths to go', () => (hostVeths(ids).length === 0 ? [] : undefined), 30_000),
    [],
  );
  assert.equal((await world.run(['network', 'rm', NETWORK])).code, 0);
});
