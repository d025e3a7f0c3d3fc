/**
 * One cold first load of the containers page, and where its time went: timed from the
 * test's side as before (navigation → every row visible to Playwright), and from inside
 * the page on its own clock (navigation start = 0): the HTML's first and last byte, the
 * scripts, the socket to the gateway, the requests the list waits for, hydration, and the
 * first and the last row in the DOM.
 */
import { DEFAULT_IMAGE } from '@tocker/protocol';
import type { Page } from 'playwright-core';
import { connect, ok } from '../../apps/agent/test/helpers.js';
import { median } from '../../packages/runtime/bench/measure.js';

export interface FirstLoad {
  /** From before `page.goto` until every row is visible (or "No containers"), as Playwright sees it. */
  readonly onScreen: number;
  readonly phases: Phases;
  readonly bytes: number;
}

/** Milliseconds from navigation start, on the page's clock; NaN when it did not happen. */
export interface Phases {
  readonly htmlFirstByte: number;
  readonly htmlLastByte: number;
  readonly stylesLoaded: number;
  readonly scriptsLoaded: number;
  readonly domContentLoaded: number;
  readonly firstContentfulPaint: number;
  readonly loadEvent: number;
  readonly socketOpened: number;
  readonly socketConnected: number;
  readonly agentsListed: number;
  readonly containersListed: number;
  readonly hydrated: number;
  readonly firstRow: number;
  readonly lastRow: number;
  /** After the frame that followed the last row: it is painted. */
  readonly rowsPainted: number;
  /** Main-thread script time over the whole load (CDP Performance metrics). */
  readonly scriptMs: number;
}

export const PHASE_NAMES: readonly (keyof Phases)[] = [
  'htmlFirstByte',
  'htmlLastByte',
  'stylesLoaded',
  'scriptsLoaded',
  'domContentLoaded',
  'firstContentfulPaint',
  'loadEvent',
  'socketOpened',
  'socketConnected',
  'agentsListed',
  'containersListed',
  'hydrated',
  'firstRow',
  'lastRow',
  'rowsPainted',
  'scriptMs',
];

/**
 * Runs in the page before any of its scripts: stamps the socket's life (socket.io's
 * frames: "40" connected, acks "43<id>" of the requests "42<id>[name"), the rows, and
 * when React has taken over the list (its fiber on the table's rows, or on the page's
 * main element when there is no table).
 */
function instrument(rowsWanted: number): void {
  const marks: Record<string, number> = {};
  const mark = (name: string) => {
    if (!(name in marks)) marks[name] = performance.now();
  };
  (window as unknown as { firstLoadMarks: typeof marks }).firstLoadMarks = marks;
  const pending = new Map<string, string>();
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      mark('socketOpened');
      this.addEventListener('message', (event) => {
        const text = typeof event.data === 'string' ? event.data : '';
        if (text.startsWith('40')) mark('socketConnected');
        const ack = /^43(\d+)/.exec(text);
        const name = ack && pending.get(ack[1] ?? '');
        if (name) mark(`${name}Listed`);
      });
    }
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      const request = typeof data === 'string' ? /^42(\d+)\["(\w+)[:"]/.exec(data) : null;
      if (request?.[1] !== undefined && request[2] !== undefined) {
        // relay → the agent's list; agents → the dashboard's list of agents.
        const name = data.toString().includes('"container:list"') ? 'containers' : request[2];
        if (!pending.has(request[1])) pending.set(request[1], name);
      }
      super.send(data);
    }
  };
  const isHydrated = (node: Element | null) =>
    node !== null && Object.keys(node).some((key) => key.startsWith('__reactFiber'));
  const watch = () => {
    const rows = document.querySelectorAll('tbody tr').length;
    if (rows > 0) mark('firstRow');
    const empty =
      rowsWanted === 0 && document.querySelector('main')?.textContent?.includes('No containers');
    if (!('lastRow' in marks) && ((rowsWanted > 0 && rows >= rowsWanted) || empty)) {
      mark('lastRow');
      // The frame that shows them: a task queued from the next animation frame runs after
      // that frame's paint.
      requestAnimationFrame(() => setTimeout(() => mark('rowsPainted')));
    }
    const hydratedNode = document.querySelector('tbody tr') ?? document.querySelector('main');
    if (isHydrated(hydratedNode)) mark('hydrated');
  };
  new MutationObserver(watch).observe(document, { childList: true, subtree: true });
  const frame = () => {
    watch();
    if (!('hydrated' in marks && 'lastRow' in marks)) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** Loads `url` in `page` (fresh context) and waits for `rows` rows (or the empty list). */
export async function measureFirstLoad(
  page: Page,
  url: string,
  rows: number,
  waitUntil: 'load' | 'commit' = 'load',
): Promise<FirstLoad> {
  // As source text: tsx names functions with a helper (__name) the page does not have.
  await page.addInitScript({
    content: `const __name = (f) => f; (${instrument.toString()})(${rows});`,
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const begin = Date.now();
  await page.goto(url, { waitUntil });
  if (rows === 0) await page.getByText('No containers').waitFor();
  else
    await page
      .locator('tbody tr')
      .nth(rows - 1)
      .waitFor();
  const onScreen = Date.now() - begin;
  // Rows rendered on the server come before hydration, the socket and the live list; a
  // phase still missing after a while reads as such rather than failing the run.
  await page
    .waitForFunction(
      () =>
        ['hydrated', 'containersListed', 'rowsPainted'].every(
          (name) => name in (window as unknown as { firstLoadMarks: object }).firstLoadMarks,
        ),
      undefined,
      { timeout: 10_000 },
    )
    .catch(() => undefined);
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: { name: string; value: number }[];
  };
  const scriptMs = (metrics.find((metric) => metric.name === 'ScriptDuration')?.value ?? 0) * 1000;
  const timing = await page.evaluate(() => {
    const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
    // No helper functions in here: tsx would wrap them in one the page does not have.
    const ends = { link: 0, script: 0 } as Record<string, number>;
    for (const entry of resources)
      if (entry.initiatorType in ends)
        ends[entry.initiatorType] = Math.max(ends[entry.initiatorType] ?? 0, entry.responseEnd);
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    return {
      marks: (window as unknown as { firstLoadMarks: Record<string, number> }).firstLoadMarks,
      htmlFirstByte: navigation.responseStart,
      htmlLastByte: navigation.responseEnd,
      stylesLoaded: ends.link ?? 0,
      scriptsLoaded: ends.script ?? 0,
      firstContentfulPaint: paint?.startTime ?? Number.NaN,
      domContentLoaded: navigation.domContentLoadedEventEnd,
      loadEvent: navigation.loadEventEnd,
      bytes:
        navigation.encodedBodySize +
        resources.reduce((sum, entry) => sum + entry.encodedBodySize, 0),
    };
  });
  const at = (name: string) => timing.marks[name] ?? Number.NaN;
  return {
    onScreen,
    bytes: timing.bytes,
    phases: {
      htmlFirstByte: timing.htmlFirstByte,
      htmlLastByte: timing.htmlLastByte,
      stylesLoaded: timing.stylesLoaded,
      scriptsLoaded: timing.scriptsLoaded,
      domContentLoaded: timing.domContentLoaded,
      firstContentfulPaint: timing.firstContentfulPaint,
      loadEvent: timing.loadEvent,
      socketOpened: at('socketOpened'),
      socketConnected: at('socketConnected'),
      agentsListed: at('agentsListed'),
      containersListed: at('containersListed'),
      hydrated: at('hydrated'),
      firstRow: at('firstRow'),
      lastRow: at('lastRow'),
      rowsPainted: at('rowsPainted'),
      scriptMs,
    },
  };
}

/** The medians of each phase, one line (a phase that never happened reads "–"). */
export function describePhases(loads: readonly FirstLoad[]): string {
  return PHASE_NAMES.map((name) => {
    const values = loads.map((load) => load.phases[name]).filter((value) => !Number.isNaN(value));
    return `${name} ${values.length === 0 ? '–' : median(values).toFixed(0)}`;
  }).join(', ');
}

/** `count` idle containers (bench-0...) started through the agent at `agentUrl`, one at a time. */
export async function startIdleContainers(agentUrl: string, count: number): Promise<void> {
  const socket = await connect(agentUrl);
  try {
    for (let index = 0; index < count; index++) {
      await ok(socket, 'container:run', {
        spec: {
          name: `bench-${index}`,
          rootfs: DEFAULT_IMAGE,
          command: ['sleep', '3600'],
          limits: { cpus: '0.1', memory: '16m' },
        },
      });
    }
  } finally {
    socket.close();
  }
}
