/**
 * tocker-runtime against runc and crun as OCI runtimes: create + start + delete of /bin/true
 * on one bundle (the busybox tree, `runc spec`'s config), each call a process as an engine
 * makes it, and podman `run --rm` with each runtime. Prints medians and ratios to crun.
 * tocker-runtime is measured when its binary is built.
 *
 * The whole benchmark runs in a private mount namespace where the cgroup2 mount at
 * /sys/fs/cgroup/unified is hidden (crun 1.8 refuses this VM's hybrid layout otherwise; it
 * holds only hugetlb, so runc and podman lose nothing), and as a subreaper, as conmon and
 * containerd's shim are: the container's init is our child once `create` returns.
 *
 * Run as root: npm run bench (installs runc, crun and podman from apt first).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { median, scratchDir, timed, timedAsync } from '../../runtime/bench/measure.js';
import { decodeWaitStatus, spawnProcess } from '../../runtime/src/sys/libc.js';
import { busyboxBundle } from '../test/engines/bundle.js';
import { Compiler } from '../test/engines/compiler.js';
import { Podman } from '../test/engines/podman.js';
import { crun, type OciRuntime, runc, tockerRuntime } from '../test/engines/runtimes.js';

const RUNS = 20;
const PODMAN_RUNS = 10;
const WARMUP = 2;
const INSIDE = 'TOCKER_OCI_BENCH_NAMESPACE';
const ENV = [`PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`];

const libc = koffi.load('libc.so.6');
const prctl = libc.func(
  'int prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d)',
);
const waitpid = libc.func('int waitpid(int pid, _Out_ int *status, int options)');
const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

/** Once, from outside: this file again, in a mount namespace of its own with cgroup2 hidden. */
function reenterHidingUnified(): never {
  const result = spawnSync(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      process.execPath,
      ...process.execArgv,
      fileURLToPath(import.meta.url),
    ],
    { stdio: 'inherit', env: { ...process.env, [INSIDE]: '1' } },
  );
  process.exit(result.status ?? 1);
}

interface LifecycleTimes {
  create: number;
  start: number;
  delete: number;
  total: number;
}

/**
 * Median create, start and delete of /bin/true with `runtime`. Between start and delete the
 * init is waited for (it is our child, we are a subreaper): delete then finds it stopped.
 * Each call is a posix_spawn, as Node's fork of its whole self would cost more than crun's
 * calls themselves; the runtimes' errors go to their --log.
 */
function lifecycle(
  runtime: OciRuntime,
  scratch: string,
  bundle: string,
  root = join(scratch, `state-${runtime.name}`),
): LifecycleTimes {
  const log = join(scratch, `${runtime.name}.log`);
  const call = (args: string[]) =>
    timed(() => {
      const pid = spawnProcess(
        runtime.path,
        [runtime.name, '--root', root, '--log', log, ...args],
        ENV,
        [],
      );
      const status = [0];
      if (waitpid(pid, status, 0) !== pid) throw new Error(`waitpid ${pid} failed`);
      const { exitCode, signal } = decodeWaitStatus(status[0] ?? 0);
      if (exitCode !== 0 || signal !== null)
        throw new Error(
          `${runtime.name} ${args.join(' ')} exited ${exitCode ?? `on signal ${signal}`}: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-500) : ''}`,
        );
    });
  const samples: LifecycleTimes[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const id = `tocker-bench-${process.pid}-${runtime.name}-${run}`;
    const pidFile = join(scratch, `${id}.pid`);
    const create = call(['create', '--bundle', bundle, '--pid-file', pidFile, id]);
    const start = call(['start', id]);
    const init = Number(readFileSync(pidFile, 'utf8'));
    if (waitpid(init, [0], 0) !== init)
      throw new Error(`${runtime.name}: the init ${init} is not our child`);
    const remove = call(['delete', id]);
    while (waitpid(-1, [0], WNOHANG) > 0); // whatever else the runtime left to its subreaper
    if (run >= WARMUP)
      samples.push({ create, start, delete: remove, total: create + start + remove });
  }
  const of = (key: keyof LifecycleTimes) => median(samples.map((sample) => sample[key]));
  return { create: of('create'), start: of('start'), delete: of('delete'), total: of('total') };
}

/** Median `podman run --rm /bin/true` with `runtime` (no logging front), in a podman of its own. */
async function podmanRun(runtime: OciRuntime): Promise<number> {
  const podman = await Podman.open(runtime, { logCalls: false });
  try {
    const times: number[] = [];
    for (let run = 0; run < WARMUP + PODMAN_RUNS; run++) {
      let stderr = '';
      const ms = await timedAsync(async () => {
        const result = await podman.run(['--rm'], ['/bin/true']);
        if (result.code !== 0) stderr = result.stderr;
      });
      if (stderr !== '') throw new Error(`podman run with ${runtime.name}: ${stderr}`);
      if (run >= WARMUP) times.push(ms);
    }
    return median(times);
  } finally {
    await podman.close();
  }
}

/**
 * `fn` with `tocker-runtime compiler` serving `root`: tocker-runtime's creates there are
 * warm (compiler.ts), as on a host that keeps one running.
 */
async function withCompiler<T>(root: string, fn: () => Promise<T>): Promise<T> {
  const compiler = await Compiler.start(root);
  try {
    return await fn();
  } finally {
    await compiler.stop();
  }
}

const ratio = (ms: number, reference: number | undefined) =>
  reference === undefined ? '' : `${(ms / reference).toFixed(2)}x crun`;
const ms = (value: number) => value.toFixed(1).padStart(7);

async function main(): Promise<void> {
  if (existsSync('/sys/fs/cgroup/unified') && process.env[INSIDE] === undefined)
    reenterHidingUnified();
  if (process.env[INSIDE] !== undefined)
    execFileSync('mount', ['-t', 'tmpfs', 'tocker-bench', '/sys/fs/cgroup/unified']);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0)
    throw new Error('prctl(PR_SET_CHILD_SUBREAPER) failed');

  const runtimes = [runc, crun, tockerRuntime].filter((runtime) => existsSync(runtime.path));
  const scratch = scratchDir();
  try {
    const bundle = busyboxBundle(runc, join(scratch, 'bundle'), {
      args: ['/bin/true'],
      cgroupsPath: `/tocker-test-${process.pid}-bench`,
    });
    const lifecycles = new Map(
      runtimes.map((runtime) => [runtime.name, lifecycle(runtime, scratch, bundle)]),
    );
    const warmRoot = join(scratch, 'state-tocker-runtime-warm');
    lifecycles.set(
      `${tockerRuntime.name} (warm)`,
      await withCompiler(warmRoot, async () => lifecycle(tockerRuntime, scratch, bundle, warmRoot)),
    );
    const podmanRuns = new Map<string, number>();
    for (const runtime of runtimes) podmanRuns.set(runtime.name, await podmanRun(runtime));
    // podman gives the runtime no --root: the compiler serves the default one.
    podmanRuns.set(
      `${tockerRuntime.name} (warm)`,
      await withCompiler(tockerRuntime.defaultRoot, () => podmanRun(tockerRuntime)),
    );

    const crunTotal = lifecycles.get(crun.name)?.total;
    console.log(`\nOCI runtimes: create + start + delete of /bin/true, median of ${RUNS} (ms)\n`);
    console.log(
      `  ${'runtime'.padEnd(22)} ${'create'.padStart(7)} ${'start'.padStart(7)} ${'delete'.padStart(7)} ${'total'.padStart(7)}`,
    );
    for (const [name, times] of lifecycles)
      console.log(
        `  ${name.padEnd(22)} ${ms(times.create)} ${ms(times.start)} ${ms(times.delete)} ${ms(times.total)}   ${ratio(times.total, crunTotal)}`,
      );
    const crunPodman = podmanRuns.get(crun.name);
    console.log(`\npodman run --rm /bin/true with each runtime, median of ${PODMAN_RUNS} (ms)\n`);
    for (const [name, median] of podmanRuns)
      console.log(`  ${name.padEnd(22)} ${ms(median)}   ${ratio(median, crunPodman)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
