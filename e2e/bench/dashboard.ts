import { median, percentile } from '../../packages/runtime/bench/measure.js';
import { Stack } from '../stack.js';
import {
  describePhases,
  type FirstLoad,
  measureFirstLoad,
  startIdleContainers,
} from './first-load.js';

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 200);
const LOADS = Number(process.env.BENCH_LOADS ?? 10);
const TICK_SECONDS = 20;

const stack = await new Stack().start();

/** Cold first loads of the containers page: until every row is there, and where the time went. */
async function measureFirstLoads(containers: number): Promise<void> {
  const loads: FirstLoad[] = [];
  for (let run = 0; run < LOADS; run++) {
    const page = await stack.signedInPage();
    // From the navigation's commit, not its load event: rows rendered on the server are
    // on screen before the page's scripts have loaded, which the load event waits for.
    loads.push(
      await measureFirstLoad(page, `${stack.dashboard.url}/containers`, containers, 'commit'),
    );
    await page.context().close();
  }
  const medianOf = (values: number[]) => median(values).toFixed(0);
  console.log(
    `first load of /containers with ${containers} containers (cold context, median of ${LOADS}): DOMContentLoaded ${medianOf(loads.map((load) => load.phases.domContentLoaded))} ms, ` +
      `list on screen ${medianOf(loads.map((load) => load.onScreen))} ms ` +
      `(${Math.min(...loads.map((load) => load.onScreen))}–${Math.max(...loads.map((load) => load.onScreen))}), ` +
      `${(median(loads.map((load) => load.bytes)) / 1024).toFixed(0)} KiB transferred`,
  );
  console.log(`  in the page, ms from navigation start (medians): ${describePhases(loads)}`);
}

try {
  await measureFirstLoads(0);
  const started = performance.now();
  await startIdleContainers(stack.agent.url, CONTAINERS);
  console.log(
    `started ${CONTAINERS} containers through the agent in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  await measureFirstLoads(CONTAINERS);

  const page = await stack.signedInPage();
  await page.goto(`${stack.dashboard.url}/containers`);
  await page
    .locator('tbody tr')
    .nth(CONTAINERS - 1)
    .waitFor();
  await page.getByText('of 0.1 CPU').first().waitFor(); // stats are flowing
  await page.evaluate(() => {
    const state = {
      ticks: 0,
      mutations: 0,
      rowsAdded: 0,
      longTasks: [] as number[],
      touched: new Set<Element>(),
    };
    (window as unknown as { bench: typeof state }).bench = state;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) state.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
    const body = document.querySelector('tbody') as HTMLElement;
    new MutationObserver((records) => {
      for (const record of records) {
        state.mutations++;
        if (record.target === body) state.rowsAdded += record.addedNodes.length;
        const row = (
          record.target instanceof Element ? record.target : record.target.parentElement
        )?.closest('tr');
        if (row) state.touched.add(row);
      }
    }).observe(body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () =>
    Object.fromEntries(
      ((await cdp.send('Performance.getMetrics')).metrics as { name: string; value: number }[]).map(
        (metric) => [metric.name, metric.value],
      ),
    ) as Record<string, number>;
  const before = await metrics();
  await page.waitForTimeout(TICK_SECONDS * 1000);
  const after = await metrics();
  const observed = await page.evaluate(() => {
    const state = (
      window as unknown as {
        bench: { mutations: number; rowsAdded: number; longTasks: number[]; touched: Set<Element> };
      }
    ).bench;
    return {
      mutations: state.mutations,
      rowsAdded: state.rowsAdded,
      longTasks: state.longTasks,
      rowsTouched: state.touched.size,
    };
  });
  const perTick = (name: string) =>
    (((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / TICK_SECONDS;
  console.log(
    `${CONTAINERS} containers streaming stats, per 1 s tick over ${TICK_SECONDS} s: main thread busy ${perTick('TaskDuration').toFixed(1)} ms ` +
      `(script ${perTick('ScriptDuration').toFixed(1)}, style ${perTick('RecalcStyleDuration').toFixed(1)}, layout ${perTick('LayoutDuration').toFixed(1)}), ` +
      `${(observed.mutations / TICK_SECONDS).toFixed(0)} DOM mutations, rows inserted ${observed.rowsAdded}, ` +
      `long tasks ${observed.longTasks.length}${observed.longTasks.length ? ` (p95 ${percentile(observed.longTasks, 0.95).toFixed(0)} ms)` : ''}; ` +
      `${observed.rowsTouched} of ${CONTAINERS} rows updated in place`,
  );
} finally {
  await stack.close();
}
