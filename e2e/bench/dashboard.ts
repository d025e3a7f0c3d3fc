/**
 * The dashboard in Debian's chromium against a real agent and dashboard server:
 * - first load of the containers page on localhost (a cold browser context each time):
 *   navigation to DOMContentLoaded, and until all rows are on screen;
 * - the containers page with 200 running containers streaming stats at 1 Hz: main-thread
 *   time per stats tick, long tasks, and which DOM nodes change per tick (rows inserted or
 *   removed would mean the list re-rendered).
 *
 * Run as root: npm run bench (BENCH_CONTAINERS, BENCH_LOADS to change the sizes).
 */
import { DEFAULT_IMAGE } from '@tocker/protocol';
import { connect, ok } from '../../apps/agent/test/helpers.js';
import { median, percentile } from '../../packages/runtime/bench/measure.js';
import { Stack } from '../stack.js';

const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 200);
const LOADS = Number(process.env.BENCH_LOADS ?? 10);
const TICK_SECONDS = 20;

const stack = await new Stack().start();

/** Cold first loads of the containers page: until DOMContentLoaded, and until every row is there. */
async function measureFirstLoad(containers: number): Promise<void> {
  const firstLoad: { dcl: number; rows: number; bytes: number }[] = [];
  for (let run = 0; run < LOADS; run++) {
    const page = await stack.signedInPage();
    const begin = Date.now();
    await page.goto(`${stack.dashboard.url}/containers`);
    if (containers === 0) await page.getByText('No containers').waitFor();
    else
      await page
        .locator('tbody tr')
        .nth(containers - 1)
        .waitFor();
    const rows = Date.now() - begin;
    const timing = await page.evaluate(() => {
      const navigation = performance.getEntriesByType(
        'navigation',
      )[0] as PerformanceNavigationTiming;
      const bytes = performance
        .getEntriesByType('resource')
        .reduce((sum, entry) => sum + (entry as PerformanceResourceTiming).encodedBodySize, 0);
      return {
        dcl: navigation.domContentLoadedEventEnd,
        bytes: bytes + navigation.encodedBodySize,
      };
    });
    firstLoad.push({ dcl: timing.dcl, rows, bytes: timing.bytes });
    await page.context().close();
  }
  const medianOf = (key: 'dcl' | 'rows' | 'bytes') => median(firstLoad.map((load) => load[key]));
  console.log(
    `first load of /containers with ${containers} containers (cold context, median of ${LOADS}): DOMContentLoaded ${medianOf('dcl').toFixed(0)} ms, ` +
      `list on screen ${medianOf('rows').toFixed(0)} ms, ${(medianOf('bytes') / 1024).toFixed(0)} KiB transferred`,
  );
}

try {
  await measureFirstLoad(0);
  const socket = await connect(stack.agent.url);
  const started = performance.now();
  for (let index = 0; index < CONTAINERS; index++) {
    await ok(socket, 'container:run', {
      spec: {
        name: `bench-${index}`,
        rootfs: DEFAULT_IMAGE,
        command: ['sleep', '3600'],
        limits: { cpus: '0.1', memory: '16m' },
      },
    });
  }
  console.log(
    `started ${CONTAINERS} containers through the agent in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  socket.close();

  await measureFirstLoad(CONTAINERS);

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
