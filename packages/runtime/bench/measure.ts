/**
 * What the benchmarks share: medians, timings, hyperfine runs, and the reference runtimes
 * (runc, crun) measured on the same image in the same run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_IMAGE } from '../src/paths.js';

export const RUNS = Number(process.env.BENCH_RUNS ?? 40);
export const WARMUP = 5;

export function has(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
}

export function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

export const median = (values: readonly number[]) => percentile(values, 0.5);

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

/** An OCI bundle for runc and crun over the same image, read-only, running `args`. */
export function ociBundle(
  scratch: string,
  runtime: string,
  args: readonly string[] = ['/bin/true'],
): string {
  const bundle = join(scratch, `bundle-${runtime}`);
  mkdirSync(bundle);
  execFileSync(runtime, ['spec'], { cwd: bundle });
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.root = { path: DEFAULT_IMAGE, readonly: true };
  config.process.terminal = false;
  config.process.args = args;
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

/** Start-to-exit medians of /bin/true under runc and crun, when installed. */
export function referenceRuntimes(scratch: string): Map<string, number> {
  const results = new Map<string, number>();
  if (has('runc')) {
    results.set(
      'runc run',
      hyperfine(
        scratch,
        'runc',
        ['runc', 'run', '--bundle', ociBundle(scratch, 'runc'), 'tocker-bench-runc'],
        process.env,
      ),
    );
  }
  if (has('crun')) {
    results.set(
      'crun run',
      hyperfine(
        scratch,
        'crun',
        ['crun', 'run', '--bundle', ociBundle(scratch, 'crun'), 'tocker-bench-crun'],
        process.env,
        CRUN_WRAPPER,
      ),
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
  for (const [name, ms] of results) {
    const ratios = [
      runc ? `${(ms / runc).toFixed(2)}x runc` : '',
      other ? `${(ms / other).toFixed(2)}x ${also}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    console.log(`  ${name.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms   ${ratios}`);
  }
}
