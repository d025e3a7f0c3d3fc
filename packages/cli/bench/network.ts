/**
 * Networking, measured in one run (issue #10's Performance section):
 *
 * - start: the extra start-to-exit cost of /bin/true on the bridge over `--network none`,
 *   through the CLI and the library, runs interleaved; with TOCKER_TRACE=1, where the
 *   bridge's extra time goes, phase by phase.
 * - TCP throughput: a static C sink and source (tcp-bench.c, built here) container to
 *   container on one user network, and host to a published port (127.0.0.1 and the
 *   network's gateway), each against the same transfer between two plain network
 *   namespaces made with `ip` (through a bridge, and host to namespace).
 * - churn: 100 containers on one network started detached and removed, then nothing of
 *   them may be left (veth, lease, nftables rule, cgroup, process).
 *
 * Run as root: npm run bench. BENCH_RUNS (start runs), BENCH_TCP_RUNS, BENCH_TCP_MIB,
 * BENCH_CHURN (containers) change the sizes.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ContainerView, type NetworkSummary, primaryAddress } from '@tocker/protocol';
import { Runtime } from '@tocker/runtime';
import { timeLibraryRun, trueConfig } from '../../runtime/bench/library-start.js';
import { median, RUNS, scratchDir, WARMUP } from '../../runtime/bench/measure.js';
import { detectCgroupDriver } from '../../runtime/src/cgroups/index.js';
import { prepareDefaultImage } from '../../runtime/src/image.js';
import { removeStateRoot } from '../../runtime/test/scratch.js';
import { pooledOrThrow } from '../src/pool.js';

const here = dirname(fileURLToPath(import.meta.url));
const tockerBin = join(here, '..', 'bin', 'tocker.cjs');
const TCP_RUNS = Number(process.env.BENCH_TCP_RUNS ?? 5);
const TCP_MIB = Number(process.env.BENCH_TCP_MIB ?? 1024);
const CHURN = Number(process.env.BENCH_CHURN ?? 100);
const CHURN_CONCURRENCY = 4;
const PORT = 5001;
const NETWORK = 'benchnet';

const scratch = scratchDir();
const root = join(scratch, 'state');
const cgroupParent = `tocker-bench-net-${process.pid}`;
const env = { ...process.env, TOCKER_ROOT: root, TOCKER_CGROUP_PARENT: cgroupParent };
/** The bench's own devices and namespaces (tw: not tocker's tk), removed at the end. */
const tag = `tw${process.pid.toString(36)}`;
const namespaces = [`${tag}-a`, `${tag}-b`];
const baselineBridge = `${tag}br`;
const children: ChildProcess[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tocker(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(tockerBin, args, { env: { ...env, ...extra }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tockerOk(args: readonly string[]): string {
  const result = tocker(args);
  if (result.code !== 0) throw new Error(`tocker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function tockerAsync(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(tockerBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

// ---------------------------------------------------------------------------------------
// Start cost

/** The trace's landmarks, in order; one a run lacks is taken to be at the one before it. */
const LANDMARKS = [
  'cli loaded',
  'runtime opened',
  'create',
  'reserved',
  'network leased',
  'cgroup created',
  'shim started',
  'ready',
  'start',
  'running',
  'exited',
  'cleaned up',
  'done',
  'exit',
] as const;

const SEGMENT_NAMES: Record<string, string> = {
  'reserved → network leased': 'network prepared + address leased',
  'network leased → cgroup created': 'ports, cgroup, /etc files, plan',
  'shim started → ready': 'root built; the shim makes the veth meanwhile',
  'start → running': 'eth0 configured in the child, exec',
  'running → exited': '/bin/true runs, exit seen',
  'cleaned up → done': 'rm (--rm): record, lease given back',
  'done → exit': 'the CLI process ends (as seen by the bench)',
};

/** `wall`: the run's ms as the bench saw it (the CLI's clock starts with its process). */
function landmarks(stderr: string, wall: number): Map<string, number> {
  const at = new Map<string, number>([['exit', wall]]);
  for (const line of stderr.split('\n')) {
    const match = /^tocker-trace (\d+\.\d+) (.+)$/.exec(line);
    if (match) at.set(match[2] as string, Number(match[1]));
  }
  let last = 0;
  for (const name of LANDMARKS) {
    if (!at.has(name)) at.set(name, last);
    last = at.get(name) as number;
  }
  return at;
}

function segments(at: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (let index = 1; index < LANDMARKS.length; index++) {
    const from = LANDMARKS[index - 1] as string;
    const to = LANDMARKS[index] as string;
    out.set(`${from} → ${to}`, (at.get(to) as number) - (at.get(from) as number));
  }
  return out;
}

function startCost(image: string) {
  const cli = { none: [] as number[], bridge: [] as number[] };
  const phases = { none: [] as Map<string, number>[], bridge: [] as Map<string, number>[] };
  for (let run = 0; run < WARMUP + RUNS; run++) {
    // Alternating which goes first: neither gets the warmer cache every time.
    const order = run % 2 === 0 ? (['none', 'bridge'] as const) : (['bridge', 'none'] as const);
    for (const network of order) {
      const started = performance.now();
      const result = tocker(['run', '--rm', '--network', network, '--rootfs', image, '/bin/true'], {
        TOCKER_TRACE: '1',
      });
      const ms = performance.now() - started;
      if (result.code !== 0) throw new Error(`run --network ${network}: ${result.stderr}`);
      if (run < WARMUP) continue;
      cli[network].push(ms);
      phases[network].push(segments(landmarks(result.stderr, ms)));
    }
  }
  return { cli, phases };
}

async function libraryStartCost(image: string) {
  const runtime = Runtime.open({ root, cgroupParent });
  const configs = {
    none: trueConfig(runtime, image, 'none'),
    bridge: trueConfig(runtime, image, 'bridge'),
  };
  const times = { none: [] as number[], bridge: [] as number[] };
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const order = run % 2 === 0 ? (['none', 'bridge'] as const) : (['bridge', 'none'] as const);
    for (const network of order) {
      const ms = await timeLibraryRun(runtime, configs[network]);
      if (run >= WARMUP) times[network].push(ms);
    }
  }
  await runtime.close();
  return times;
}

// ---------------------------------------------------------------------------------------
// TCP throughput

/** A subnet for the baseline's bridge that no route of the host overlaps (a /24 of 10.249/16). */
function baselineSubnet(): string {
  const routes = execFileSync('ip', ['-4', 'route'], { encoding: 'utf8' });
  for (let third = process.pid % 200; third < 255; third++)
    if (!routes.includes(`10.249.${third}.`) && !/^10\.249\.0\.0\/16/m.test(routes))
      return `10.249.${third}`;
  throw new Error('no free 10.249.x.0/24 for the baseline');
}

/** Two namespaces, each with a veth into one bridge of the host that has .1: tocker's shape. */
function baselineUp(prefix: string): void {
  ip('link', 'add', baselineBridge, 'type', 'bridge');
  ip('addr', 'add', `${prefix}.1/24`, 'dev', baselineBridge);
  ip('link', 'set', baselineBridge, 'up');
  namespaces.forEach((namespace, index) => {
    ip('netns', 'add', namespace);
    const host = `${tag}h${index}`;
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
    ip('link', 'set', host, 'master', baselineBridge, 'up');
    ip('-n', namespace, 'addr', 'add', `${prefix}.${10 + index}/24`, 'dev', 'eth0');
    ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
  });
}

function baselineDown(): void {
  for (const namespace of namespaces)
    spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', baselineBridge], { stdio: 'ignore' });
}

/** A sink running until the end (a host process, killed in the finally). */
function hostSink(argv: readonly string[]): void {
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore' });
  children.push(child);
}

function megabytes(command: readonly string[], run: (argv: readonly string[]) => Run): number {
  const result = run(command);
  const value = Number(result.stdout.trim().split('\n').pop());
  if (result.code !== 0 || !Number.isFinite(value))
    throw new Error(`${command.join(' ')}: ${result.code} ${result.stderr}`);
  return value;
}

function onHost(argv: readonly string[]): Run {
  const result = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function throughput(image: string, binary: string) {
  const prefix = baselineSubnet();
  baselineUp(prefix);
  const [nsA, nsB] = namespaces as [string, string];
  hostSink(['ip', 'netns', 'exec', nsB, binary, 'sink', String(PORT)]);
  const { gateway } = (
    JSON.parse(tockerOk(['network', 'inspect', NETWORK])) as NetworkSummary[]
  )[0] as NetworkSummary;
  const sink = tockerOk([
    'run',
    '-d',
    '--network',
    NETWORK,
    '-p',
    `127.0.0.1::${PORT}`,
    '-p',
    `${gateway}::${PORT}`,
    '--rootfs',
    image,
    '/tcp-bench',
    'sink',
    String(PORT),
  ]);
  try {
    const { network } = (
      JSON.parse(tockerOk(['inspect', sink])) as ContainerView[]
    )[0] as ContainerView;
    const address = primaryAddress(network) as string;
    const ports = network.mode === 'bridge' ? network.ports : [];
    const portOn = (hostIp: string) =>
      String(ports.find((port) => port.hostIp === hostIp)?.hostPort);
    const mib = String(TCP_MIB);
    const paths: [string, () => number][] = [
      [
        'baseline: netns → netns (veths, ip bridge)',
        () =>
          megabytes(
            ['ip', 'netns', 'exec', nsA, binary, 'source', `${prefix}.11`, String(PORT), mib],
            onHost,
          ),
      ],
      [
        'tocker: container → container',
        () =>
          megabytes(
            ['run', '--rm', '--network', NETWORK, '--rootfs', image, '/tcp-bench', 'source'],
            (argv) => tocker([...argv, address, String(PORT), mib]),
          ),
      ],
      [
        'baseline: host → netns (ip bridge)',
        () => megabytes([binary, 'source', `${prefix}.11`, String(PORT), mib], onHost),
      ],
      [
        'tocker: host → container address',
        () => megabytes([binary, 'source', address, String(PORT), mib], onHost),
      ],
      [
        'tocker: host → published 127.0.0.1',
        () => megabytes([binary, 'source', '127.0.0.1', portOn('127.0.0.1'), mib], onHost),
      ],
      [
        'tocker: host → published gateway',
        () => megabytes([binary, 'source', gateway, portOn(gateway), mib], onHost),
      ],
    ];
    const results = new Map<string, number[]>(paths.map(([name]) => [name, []]));
    // Round robin: a disturbance (another process on these 2 cores) hits every path alike.
    for (let round = 0; round < TCP_RUNS + 1; round++)
      for (const [name, measure] of paths) {
        const value = measure();
        if (round > 0) results.get(name)?.push(value);
      }
    return results;
  } finally {
    tocker(['rm', '-f', sink]);
  }
}

// ---------------------------------------------------------------------------------------
// Churn

/** What is left of `ids` on the host and in the root; empty when nothing is. */
function leftovers(ids: readonly string[], addresses: readonly string[]): string[] {
  const left: string[] = [];
  const veths = readdirSync('/sys/class/net').filter((device) =>
    ids.some((id) => device.startsWith(`tk${id.slice(0, 8)}`)),
  );
  if (veths.length > 0) left.push(`veths: ${veths.join(' ')}`);
  const leases = JSON.parse(readFileSync(join(root, 'networks', NETWORK, 'leases.json'), 'utf8'));
  if (Object.keys(leases).length > 0) left.push(`leases: ${Object.keys(leases).join(' ')}`);
  const ruleset = execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  const inRules = addresses.filter((address) =>
    new RegExp(`(?<![\\d.])${address.replace(/\./g, '\\.')}(?![\\d])`).test(ruleset),
  );
  if (inRules.length > 0) left.push(`nft: ${inRules.join(' ')}`);
  const cgroups = detectCgroupDriver({ parent: cgroupParent })
    .parentDirs.filter((dir) => existsSync(dir))
    .flatMap((dir) =>
      readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => join(dir, entry.name)),
    );
  if (cgroups.length > 0) left.push(`cgroups: ${cgroups.length}`);
  // A container's processes have their root in the scratch directory; its shim is named
  // after it.
  const shortIds = ids.map((id) => id.slice(0, 12));
  const processes = readdirSync('/proc').filter((pid) => {
    try {
      if (!/^\d+$/.test(pid)) return false;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return (
        readlinkSync(`/proc/${pid}/root`).startsWith(scratch) ||
        shortIds.some((id) => cmdline.includes(id))
      );
    } catch {
      return false;
    }
  });
  if (processes.length > 0) left.push(`processes: ${processes.join(' ')}`);
  return left;
}

async function churn(image: string) {
  const indexes = Array.from({ length: CHURN }, (_, index) => index);
  const startedAt = performance.now();
  const started = await pooledOrThrow(indexes, CHURN_CONCURRENCY, (index) =>
    tockerAsync([
      'run',
      '-d',
      '--network',
      NETWORK,
      // Every tenth publishes a port: the rules then have its address, to be taken away.
      ...(index % 10 === 0 ? ['-p', '127.0.0.1::80'] : []),
      '--rootfs',
      image,
      'sleep',
      '600',
    ]),
  );
  const startMs = performance.now() - startedAt;
  const failed = started.filter((result) => result.code !== 0);
  const ids = started.filter((result) => result.code === 0).map((result) => result.stdout.trim());
  const views: ContainerView[] = ids.length > 0 ? JSON.parse(tockerOk(['inspect', ...ids])) : [];
  const addresses = views.flatMap((view) => primaryAddress(view.network) ?? []);
  const distinct = new Set(addresses).size;
  const removedAt = performance.now();
  const removed = ids.length > 0 ? tocker(['rm', '-f', ...ids]) : { code: 0, stderr: '' };
  const removeMs = performance.now() - removedAt;
  if (removed.code !== 0) throw new Error(`rm -f: ${removed.stderr}`);
  // The veths go with their namespaces, which the kernel takes down a moment later.
  let left = leftovers(ids, addresses);
  const settledAt = performance.now();
  while (left.length > 0 && performance.now() - settledAt < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = leftovers(ids, addresses);
  }
  return {
    startMs,
    removeMs,
    settleMs: performance.now() - settledAt,
    started: ids.length,
    failed: failed.map((result) => result.stderr.trim()),
    distinct,
    left,
  };
}

// ---------------------------------------------------------------------------------------

async function reportStartCost(image: string): Promise<void> {
  const { cli, phases } = startCost(image);
  const library = await libraryStartCost(image);
  const extra = (times: { none: number[]; bridge: number[] }) =>
    median(times.bridge) - median(times.none);
  console.log(`\nStart-to-exit of /bin/true, median of ${RUNS} interleaved runs:\n`);
  for (const [what, times] of [
    ['CLI', cli],
    ['library', library],
  ] as const)
    console.log(
      `  ${`${what}: none ${median(times.none).toFixed(1)} ms, bridge ${median(times.bridge).toFixed(1)} ms`.padEnd(52)} extra ${extra(times).toFixed(1)} ms (target ≤ 5)`,
    );
  console.log('\nWhere the bridge spends it (CLI, TOCKER_TRACE=1 medians, ms):\n');
  console.log(
    `  ${'phase'.padEnd(62)} ${'none'.padStart(6)} ${'bridge'.padStart(7)} ${'extra'.padStart(6)}`,
  );
  for (const segment of phases.bridge[0]?.keys() ?? []) {
    const none = median(phases.none.map((run) => run.get(segment) ?? 0));
    const bridge = median(phases.bridge.map((run) => run.get(segment) ?? 0));
    if (none < 0.05 && bridge < 0.05) continue;
    const label = SEGMENT_NAMES[segment] ? `${segment} (${SEGMENT_NAMES[segment]})` : segment;
    console.log(
      `  ${label.padEnd(62)} ${none.toFixed(2).padStart(6)} ${bridge.toFixed(2).padStart(7)} ${(bridge - none).toFixed(2).padStart(6)}`,
    );
  }
}

async function reportThroughput(image: string, binary: string): Promise<void> {
  const tcp = await throughput(image, binary);
  const tcpMedian = (name: string) => median(tcp.get(name) ?? []);
  const ratios: Record<string, string> = {
    'tocker: container → container': 'baseline: netns → netns (veths, ip bridge)',
    'tocker: host → container address': 'baseline: host → netns (ip bridge)',
    'tocker: host → published 127.0.0.1': 'baseline: host → netns (ip bridge)',
    'tocker: host → published gateway': 'baseline: host → netns (ip bridge)',
  };
  console.log(
    `\nTCP throughput, ${TCP_MIB} MiB per transfer, median of ${TCP_RUNS} (MB/s; target ≥ 90% of the baseline):\n`,
  );
  for (const [name, values] of tcp) {
    const baseline = ratios[name];
    const ratio = baseline ? `${((tcpMedian(name) / tcpMedian(baseline)) * 100).toFixed(0)}%` : '';
    console.log(
      `  ${name.padEnd(44)} ${tcpMedian(name).toFixed(0).padStart(6)}  ${ratio.padStart(5)}   [${values.map((value) => value.toFixed(0)).join(' ')}]`,
    );
  }
}

async function reportChurn(image: string): Promise<void> {
  const churned = await churn(image);
  console.log(`\nChurn: ${CHURN} containers on one network, ${CHURN_CONCURRENCY} at a time:\n`);
  console.log(
    `  started ${churned.started}/${CHURN} in ${(churned.startMs / 1000).toFixed(1)} s (${((churned.started / churned.startMs) * 1000).toFixed(1)}/s), distinct addresses ${churned.distinct}`,
  );
  console.log(
    `  removed (one rm -f) in ${(churned.removeMs / 1000).toFixed(1)} s (${((churned.started / churned.removeMs) * 1000).toFixed(1)}/s); nothing left after ${churned.settleMs.toFixed(0)} ms more: ${churned.left.length === 0 ? 'yes' : `NO: ${churned.left.join('; ')}`}`,
  );
  if (churned.failed.length > 0) console.log(`  failed: ${churned.failed.slice(0, 3).join(' | ')}`);
  if (churned.left.length > 0 || churned.failed.length > 0 || churned.distinct !== churned.started)
    process.exitCode = 1;
}

/** Which parts to run (BENCH_NET=start,tcp,churn: all of them). */
const sections = (process.env.BENCH_NET ?? 'start,tcp,churn').split(',');
try {
  const image = prepareDefaultImage(join(scratch, 'image'));
  const binary = join(scratch, 'tcp-bench');
  execFileSync('gcc', ['-static', '-O2', '-o', binary, join(here, 'tcp-bench.c')]);
  copyFileSync(binary, join(image, 'tcp-bench'));
  tockerOk(['network', 'create', NETWORK]);

  if (sections.includes('start')) await reportStartCost(image);
  if (sections.includes('tcp')) await reportThroughput(image, binary);
  if (sections.includes('churn')) await reportChurn(image);
} finally {
  for (const child of children) child.kill('SIGKILL');
  baselineDown();
  try {
    const runtime = Runtime.open({ root, cgroupParent });
    for (const { id } of runtime.list()) await runtime.remove(id, { force: true });
    await runtime.close();
  } catch {}
  removeStateRoot(root);
  for (const dir of detectCgroupDriver({ parent: cgroupParent }).parentDirs)
    try {
      rmdirSync(dir);
    } catch {}
  rmSync(scratch, { recursive: true, force: true });
}
