/**
 * Start-to-exit latency of /bin/true on the default image: the tocker CLI, the tocker
 * library from a warm process, runc and crun on the same rootfs, and a bare `node -e 0`
 * for scale, all in one run. Prints medians and ratios.
 *
 * Run as root: npm run bench (installs runc, crun and hyperfine from apt first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMAGE } from '../src/paths.js';
import { Runtime } from '../src/runtime.js';
import { parseContainerSpec } from '../src/spec.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const WARMUP = 5;
const tockerBin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tocker.cjs');
const scratch = mkdtempSync(join(tmpdir(), 'tocker-bench-'));
const env = {
  ...process.env,
  TOCKER_ROOT: join(scratch, 'state'),
  TOCKER_CGROUP_PARENT: 'tocker-bench',
};

function has(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** hyperfine's median in ms; `wrapper` runs the measurement inside another command. */
function hyperfine(name: string, command: string[], wrapper: string[] = []): number {
  const json = join(scratch, `${name}.json`);
  execFileSync(
    wrapper[0] ?? 'hyperfine',
    [
      ...wrapper.slice(1),
      ...(wrapper.length > 0 ? ['hyperfine'] : []),
      '-N',
      '--style',
      'none',
      '--warmup',
      String(WARMUP),
      '--runs',
      String(RUNS),
      '--export-json',
      json,
      command.map((part) => (/[\s"']/.test(part) ? JSON.stringify(part) : part)).join(' '),
    ],
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return JSON.parse(readFileSync(json, 'utf8')).results[0].median * 1000;
}

/** An OCI bundle for runc and crun over the same image, read-only, running /bin/true. */
function ociBundle(runtime: string): string {
  const bundle = join(scratch, `bundle-${runtime}`);
  mkdirSync(bundle);
  execFileSync(runtime, ['spec'], { cwd: bundle });
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.root = { path: DEFAULT_IMAGE, readonly: true };
  config.process.terminal = false;
  config.process.args = ['/bin/true'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

async function libraryWarm(): Promise<number> {
  const runtime = Runtime.open({ root: env.TOCKER_ROOT, cgroupParent: env.TOCKER_CGROUP_PARENT });
  const spec = parseContainerSpec({
    rootfs: DEFAULT_IMAGE,
    command: ['/bin/true'],
    autoRemove: true,
  });
  const devNull = openSync('/dev/null', 'r+');
  const stdio = { stdin: devNull, stdout: devNull, stderr: devNull, terminal: false };
  const times: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const started = performance.now();
    const container = await runtime.run(spec, { stdio });
    const exit = await container.wait();
    if (exit.exitCode !== 0) throw new Error(`/bin/true exited ${exit.exitCode}`);
    if (run >= WARMUP) times.push(performance.now() - started);
  }
  return median(times);
}

const results = new Map<string, number>();
try {
  if (!has('hyperfine'))
    throw new Error('hyperfine is missing: run `npm run bench`, which installs it');
  results.set('node -e 0', hyperfine('node', ['node', '-e', '0']));
  results.set(
    'tocker CLI (run --rm)',
    hyperfine('tocker', [tockerBin, 'run', '--rm', '/bin/true']),
  );
  results.set('tocker library, warm process', await libraryWarm());
  if (has('runc'))
    results.set(
      'runc run',
      hyperfine('runc', ['runc', 'run', '--bundle', ociBundle('runc'), 'tocker-bench-runc']),
    );
  if (has('crun')) {
    // crun 1.8 refuses this hybrid cgroup layout unless the (nearly empty) cgroup2 mount
    // at /sys/fs/cgroup/unified is hidden: measure it inside a private mount namespace.
    const bundle = ociBundle('crun');
    const hide =
      'mount --make-rprivate / && mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"';
    results.set(
      'crun run',
      hyperfine(
        'crun',
        ['crun', 'run', '--bundle', bundle, 'tocker-bench-crun'],
        ['unshare', '-m', 'sh', '-c', hide, 'sh'],
      ),
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const runc = results.get('runc run');
const node = results.get('node -e 0');
console.log(`\nStart-to-exit of /bin/true, median of ${RUNS} runs (ms):\n`);
for (const [name, ms] of results) {
  const ratios = [
    runc ? `${(ms / runc).toFixed(2)}x runc` : '',
    node ? `${(ms / node).toFixed(2)}x node -e 0` : '',
  ]
    .filter(Boolean)
    .join(', ');
  console.log(`  ${name.padEnd(30)} ${ms.toFixed(1).padStart(7)}   ${ratios}`);
}
