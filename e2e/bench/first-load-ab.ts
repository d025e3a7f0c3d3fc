/**
 * The containers page's first load, this tree's dashboard against another build of it
 * (BENCH_BASE_WEB: a copy of apps/web with its dist and .next), both on the same agent and
 * its containers, loads alternating between them round by round, so load on the machine
 * falls on both alike. Timed as first-load.ts times it: from the navigation's commit until
 * every row is visible, with the page's own phases.
 *
 * Run as root: BENCH_BASE_WEB=/path/to/apps/web node --import tsx e2e/bench/first-load-ab.ts
 * (BENCH_CONTAINERS, BENCH_LOADS to change the sizes).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Dashboard } from '../../apps/web/test/helpers.js';
import { median } from '../../packages/runtime/bench/measure.js';
import { scratchDir } from '../../packages/runtime/test/scratch.js';
import { Stack } from '../stack.js';
import {
  describePhases,
  type FirstLoad,
  measureFirstLoad,
  startIdleContainers,
} from './first-load.js';

const BASE_WEB = process.env.BENCH_BASE_WEB;
if (BASE_WEB === undefined)
  throw new Error('BENCH_BASE_WEB: the apps/web directory to compare with');
const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 200);
const LOADS = Number(process.env.BENCH_LOADS ?? 20);

const stack = await new Stack().start();
const baseDir = scratchDir('bench-ab');
const base = await new Dashboard(
  baseDir,
  stack.agent.url,
  join(BASE_WEB, 'dist', 'server', 'main.js'),
).started();

/** One cold load of `dashboard`'s containers page. */
async function load(dashboard: Dashboard): Promise<FirstLoad> {
  const context = await stack.newContext();
  const { cookie } = await dashboard.signIn();
  const [name, value] = (cookie ?? '').split('=');
  await context.addCookies([
    {
      name: name ?? '',
      value: value ?? '',
      url: dashboard.url,
      httpOnly: true,
      sameSite: 'Strict',
    },
  ]);
  try {
    return await measureFirstLoad(
      await context.newPage(),
      `${dashboard.url}/containers`,
      CONTAINERS,
      'commit',
    );
  } finally {
    await context.close();
  }
}

function report(label: string, loads: readonly FirstLoad[]): void {
  const onScreen = loads.map((one) => one.onScreen);
  console.log(
    `${label}: on screen median ${median(onScreen).toFixed(0)} ms (${Math.min(...onScreen)}–${Math.max(...onScreen)}), ` +
      `rows painted in the page ${median(loads.map((one) => one.phases.rowsPainted)).toFixed(0)} ms, ` +
      `${(median(loads.map((one) => one.bytes)) / 1024).toFixed(0)} KiB`,
  );
  console.log(`  phases (medians): ${describePhases(loads)}`);
}

try {
  await startIdleContainers(stack.agent.url, CONTAINERS);
  // Each server's first render (its cached list, Next's warm-up) is not a cold browser's load.
  await load(base);
  await load(stack.dashboard);
  const loads = { base: [] as FirstLoad[], tree: [] as FirstLoad[] };
  for (let round = 0; round < LOADS; round++) {
    const order = round % 2 === 0 ? (['base', 'tree'] as const) : (['tree', 'base'] as const);
    for (const which of order)
      loads[which].push(await load(which === 'base' ? base : stack.dashboard));
  }
  console.log(
    `first load of /containers with ${CONTAINERS} containers, ${LOADS} cold loads each, alternating:`,
  );
  report(`base (${BASE_WEB})`, loads.base);
  report('this tree', loads.tree);
} finally {
  await base.stop();
  rmSync(baseDir, { recursive: true, force: true });
  await stack.close();
}
