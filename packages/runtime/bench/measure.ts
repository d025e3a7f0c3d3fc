/**
 * What the benchmarks share: medians, timings, hyperfine runs, and the reference runtimes
 * (runc, crun) measured on the same image in the same run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IMAGE } from '../src/paths.js';
import { defaultProfile, renderProfile } from '../src/security/seccomp.js';

export const RUNS = Number(process.env.BENCH_RUNS ?? 40);
export const WARMUP = 5;

export function has(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
}

export function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/** The middle value; of an even count, the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = sorted.length / 2;
  return Number.isInteger(half)
    ? ((sorted[half - 1] ?? Number.NaN) + (sorted[half] ?? Number.NaN)) / 2
    : (sorted[Math.floor(half)] ?? Number.NaN);
}

/** How long `run` took, in ms. */
export function timed(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** How long `run` took to settle, in ms. */
export async function timedAsync(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A scratch directory for one benchmark run (the caller removes it). */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'tocker-bench-'));
}

/** hyperfine's median in ms; `wrapper` runs the measurement inside another command. */
export function hyperfine(
  scratch: string,
  name: string,
  command: readonly string[],
  env: NodeJS.ProcessEnv,
  wrapper: readonly string[] = [],
): number {
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

/**
 * An OCI bundle for runc and crun over the same image, read-only, running `args`, as
 * `runc spec` writes it. `seccomp`: with the default seccomp profile that tocker's
 * containers get (Docker's, rendered for the bundle's capabilities), as Docker and podman
 * run these runtimes: `runc spec` has no filter, and loading one is part of every start.
 */
export function ociBundle(
  scratch: string,
  runtime: string,
  args: readonly string[] = ['/bin/true'],
  seccomp = false,
): string {
  const bundle = join(scratch, `bundle-${runtime}${seccomp ? '-seccomp' : ''}`);
  mkdirSync(bundle);
  execFileSync(runtime, ['spec'], { cwd: bundle });
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.root = { path: DEFAULT_IMAGE, readonly: true };
  config.process.terminal = false;
  config.process.args = args;
  if (seccomp)
    config.linux.seccomp = renderProfile(defaultProfile(), {
      capabilities: config.process.capabilities.bounding,
    });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

/**
 * crun 1.8 refuses this hybrid cgroup layout unless the (nearly empty) cgroup2 mount at
 * /sys/fs/cgroup/unified is hidden: what runs crun runs inside this private mount namespace.
 */
export const CRUN_WRAPPER: readonly string[] = [
  'unshare',
  '-m',
  'sh',
  '-c',
  'mount --make-rprivate / && mount -t tmpfs none /sys/fs/cgroup/unified && exec "$@"',
  'sh',
];

/**
 * Start-to-exit medians of /bin/true under runc and crun, when installed: as `runc spec`
 * writes the bundle, and with the seccomp profile tocker's containers get (see ociBundle).
 */
export function referenceRuntimes(scratch: string): Map<string, number> {
  const results = new Map<string, number>();
  const runtimes = [
    ['runc', []],
    ['crun', CRUN_WRAPPER],
  ] as const;
  for (const seccomp of [false, true])
    for (const [runtime, wrapper] of runtimes) {
      if (!has(runtime)) continue;
      const tag = `${runtime}${seccomp ? '-seccomp' : ''}`;
      const bundle = ociBundle(scratch, runtime, undefined, seccomp);
      const command = [runtime, 'run', '--bundle', bundle, `tocker-bench-${tag}`];
      results.set(
        `${runtime} run${seccomp ? ', seccomp profile' : ''}`,
        hyperfine(scratch, tag, command, process.env, wrapper),
      );
    }
  return results;
}

/** Prints medians with their ratios to runc (and to a second reference when given). */
export function printLatencies(
  title: string,
  results: ReadonlyMap<string, number>,
  also?: string,
): void {
  const runc = results.get('runc run');
  const other = also === undefined ? undefined : results.get(also);
  console.log(`\n${title}\n`);
  const width = Math.max(...[...results.keys()].map((name) => name.length));
  for (const [name, ms] of results) {
    const ratios = [
      runc ? `${(ms / runc).toFixed(2)}x runc` : '',
      other ? `${(ms / other).toFixed(2)}x ${also}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    console.log(`  ${name.padEnd(width)} ${ms.toFixed(1).padStart(7)} ms   ${ratios}`);
  }
}
