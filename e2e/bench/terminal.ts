/**
 * The container console in Debian's chromium against a real agent and dashboard, timed
 * inside the page:
 * - a flood (`head -c 20000000 /dev/urandom | base64`, 27 MB on screen): from the Enter
 *   that sends the command to the last byte parsed by xterm.js, and meanwhile how late
 *   the page's timers run and how long clicks wait for their handler;
 * - keystroke echo: keydown → the echo parsed by xterm.js, and → the frame that draws it;
 * - Ctrl+C during a flood: keydown → the shell's next prompt parsed.
 *
 * "Parsed by xterm.js" is when the page acknowledges output to the agent: it does so from
 * xterm's write callback, so a probe on the page's WebSocket sees it without any hook in
 * the product. Run as root: npm run bench (BENCH_FLOODS, BENCH_KEYS, BENCH_INTERRUPTS to
 * change the sizes; BENCH_PROFILE=DIR writes the page's CPU profile of each flood there;
 * BENCH_TRACE=FILE writes a Chromium trace of the keystrokes there; BENCH_WEB=DIR measures
 * another build of the dashboard, a copy of apps/web with its dist and .next, to compare
 * with this tree's; BENCH_CHROMIUM_ARGS adds chromium flags).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_IMAGE, relayToAgent } from '@tocker/protocol';
import type { CDPSession, Page } from 'playwright-core';
import { connect, ok } from '../../apps/agent/test/helpers.js';
import { median, percentile } from '../../packages/runtime/bench/measure.js';
import { Stack } from '../stack.js';

const FLOODS = Number(process.env.BENCH_FLOODS ?? 3);
const KEYS = Number(process.env.BENCH_KEYS ?? 250);
const INTERRUPTS = Number(process.env.BENCH_INTERRUPTS ?? 3);
const FLOOD_INPUT_BYTES = 20_000_000;
/** Printed by the shell after the flood; typed with quotes so the echoed command line differs. */
const END_MARKER = 'FLOOD-END';
const CLICK_EVERY_MS = 50;
/** A frame at 60 Hz. */
const FRAME_MS = 1000 / 60;
/** Ctrl+C comes once this much of a flood has arrived; the busybox shell's prompt ends in PROMPT_END. */
const INTERRUPT_AFTER_BYTES = 4_000_000;
const PROMPT_END = '# ';
/** Where to write the page's CPU profile of each flood (chrome://inspect, speedscope), if anywhere. */
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** Where to write a Chromium trace of the keystrokes (chrome://tracing, Perfetto), if anywhere. */
const TRACE_FILE = process.env.BENCH_TRACE;
/** Another build of the dashboard to measure (a copy of apps/web with its dist and .next), if any. */
const WEB = process.env.BENCH_WEB;
/** More chromium flags, space-separated: e.g. a scheduler feature turned off, to see what it costs. */
const EXTRA_CHROMIUM_ARGS = process.env.BENCH_CHROMIUM_ARGS?.split(' ').filter(Boolean) ?? [];

/** What the probe keeps in the page (installed before the dashboard's own scripts). */
interface Probe {
  /** Output bytes that arrived over the WebSocket, and when each binary frame came. */
  received: number;
  frames: { at: number; bytes: number }[];
  /** Output bytes acknowledged: parsed by xterm.js. */
  acked: number;
  lastAckAt: number;
  /** `received` when the watched text arrived (0: not yet), and when it was parsed. */
  markerAt: number;
  markerParsedAt: number;
  /** Watches the output for `marker` from now on. */
  watch: (marker: string) => void;
  /** Keydown times of keys, Enter included; the acknowledgement that followed each. */
  keydowns: number[];
  echoes: { parsed: number; frame: number }[];
  /** When each key left the page (terminal:input), and when output next arrived. */
  inputsSent: number[];
  arrivals: number[];
  /** Called once an echo has been drawn (the keystroke loop waits on it). */
  drawn?: () => void;
  /** How late a 10 ms timer fired, and how long a click waited for its handler. */
  timerLate: number[];
  clickWait: number[];
  /** Empties the readings, so that each measurement starts from nothing. */
  reset: () => void;
}

function installProbe(): void {
  // What one measurement reads; the byte counts go on across them.
  const readings = () => ({
    frames: [],
    keydowns: [],
    echoes: [],
    inputsSent: [],
    arrivals: [],
    timerLate: [],
    clickWait: [],
  });
  const probe: Probe = {
    received: 0,
    acked: 0,
    lastAckAt: 0,
    markerAt: 0,
    markerParsedAt: 0,
    ...readings(),
    reset: () => Object.assign(probe, readings()),
    watch: (marker) => {
      markerBytes = new TextEncoder().encode(marker);
      tail = new Uint8Array(0);
      Object.assign(probe, { markerAt: 0, markerParsedAt: 0 });
    },
  };
  (window as unknown as { probe: Probe }).probe = probe;
  let markerBytes = new Uint8Array(0);
  let tail = new Uint8Array(0);
  const sawMarker = (bytes: Uint8Array): boolean => {
    const window = new Uint8Array(tail.length + Math.min(bytes.length, 256));
    window.set(tail);
    window.set(bytes.subarray(-256), tail.length);
    tail = window.slice(-markerBytes.length);
    outer: for (let start = 0; start + markerBytes.length <= window.length; start++) {
      for (let index = 0; index < markerBytes.length; index++)
        if (window[start + index] !== markerBytes[index]) continue outer;
      return true;
    }
    return false;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      // socket.io sends a binary event as a text frame that says how many binary frames
      // follow: only those of terminal:output count (not the scrollback of an attach).
      let attachments = 0;
      let ofOutput = false;
      this.addEventListener('message', (event: MessageEvent) => {
        if (typeof event.data === 'string') {
          const announced = /^4[56](\d+)-/.exec(event.data);
          if (announced !== null) {
            attachments = Number(announced[1]);
            ofOutput = event.data.includes('"terminal:output"');
          }
          return;
        }
        if (attachments === 0) return;
        attachments--;
        if (!ofOutput) return;
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        probe.received += bytes.length;
        probe.frames.push({ at: performance.now(), bytes: bytes.length });
        if (probe.arrivals.length < probe.inputsSent.length) probe.arrivals.push(performance.now());
        if (markerBytes.length > 0 && probe.markerAt === 0 && sawMarker(bytes))
          probe.markerAt = probe.received;
      });
    }
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      if (typeof data === 'string' && data.includes('"terminal:input"'))
        probe.inputsSent.push(performance.now());
      if (typeof data === 'string' && data.includes('"terminal:ack"')) {
        const at = performance.now();
        probe.acked += Number(/"bytes":(\d+)/.exec(data)?.[1] ?? 0);
        probe.lastAckAt = at;
        if (probe.markerAt > 0 && probe.markerParsedAt === 0 && probe.acked >= probe.markerAt)
          probe.markerParsedAt = at;
        if (probe.echoes.length < probe.keydowns.length) {
          const entry = { parsed: at, frame: 0 };
          probe.echoes.push(entry);
          requestAnimationFrame(() => {
            entry.frame = performance.now();
            probe.drawn?.();
          });
        }
      }
      super.send(data);
    }
  };
  addEventListener('keydown', () => probe.keydowns.push(performance.now()), { capture: true });
  addEventListener('click', (event) => probe.clickWait.push(performance.now() - event.timeStamp), {
    capture: true,
  });
  let expected = performance.now() + 10;
  const tick = () => {
    const now = performance.now();
    probe.timerLate.push(now - expected);
    expected = now + 10;
    setTimeout(tick, 10);
  };
  setTimeout(tick, 10);
}

const readProbe = (page: Page) =>
  page.evaluate(() => (window as unknown as { probe: Probe }).probe);

/** Empties the probe's readings; from now on it watches the output for `marker`, if given. */
const resetProbe = (page: Page, marker = '') =>
  page.evaluate((watched) => {
    const { probe } = window as unknown as { probe: Probe };
    probe.reset();
    probe.watch(watched);
  }, marker);

/** Waits in the page until xterm.js has parsed everything that has arrived. */
const settled = (page: Page) =>
  page.waitForFunction(() => {
    const probe = (window as unknown as { probe: Probe }).probe;
    return probe.acked === probe.received && performance.now() - probe.lastAckAt > 300;
  });

/** A process and all its descendants. */
function processTree(pid: number): number[] {
  try {
    const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean),
    );
    return [pid, ...children.flatMap((child) => processTree(Number(child)))];
  } catch {
    return []; // it ended meanwhile
  }
}

/** CPU seconds (user + system) spent by each process so far, by pid. */
function cpuSeconds(pids: readonly number[]): Map<number, number> {
  const spent = new Map<number, number>();
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      spent.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // It ended meanwhile.
    }
  }
  return spent;
}

/** What a process of the test is: the agent, the dashboard, a chromium process by its type. */
function roleOf(pid: number, stack: Stack): string | null {
  if (pid === stack.agent.pid) return 'agent';
  if (pid === stack.dashboard.pid) return 'dashboard';
  try {
    // Chromium rewrites its children's command lines into one space-separated string.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    if (!/chrom/.test(argv[0] ?? '')) return null;
    const type = argv.find((arg) => arg.startsWith('--type='))?.slice('--type='.length);
    return `chromium ${type ?? 'browser'}`;
  } catch {
    return null; // it ended meanwhile
  }
}

/**
 * The CPU seconds that the agent, the dashboard server and chromium's processes (by type)
 * have spent: on a busy machine, throughput follows the CPU left over, the cost per byte
 * does not.
 */
function cpuReader(stack: Stack): () => Map<string, number> {
  return () => {
    const spent = new Map<string, number>();
    const pids = processTree(process.pid);
    for (const [pid, seconds] of cpuSeconds(pids)) {
      const role = roleOf(pid, stack);
      if (role !== null) spent.set(role, (spent.get(role) ?? 0) + seconds);
    }
    return spent;
  };
}

/** Main-thread time by kind (CDP Performance metrics), in ms. */
async function mainThread(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: { name: string; value: number }[];
  };
  return Object.fromEntries(metrics.map((metric) => [metric.name, metric.value * 1000]));
}

async function flood(
  page: Page,
  cdp: CDPSession,
  cpu: ReturnType<typeof cpuReader>,
  profile: string | null,
): Promise<{
  mbPerSecond: number;
  arrivalMbPerSecond: number;
  megabytes: number;
  frames: number;
  bytesPerFrame: number;
  timerLateMax: number;
  timerLateP99: number;
  clickWaitMax: number;
  clickWaitP99: number;
  clicks: number;
  busy: Record<'task' | 'script' | 'layout' | 'style', number>;
  cpu: Map<string, number>;
}> {
  await settled(page);
  await page.locator('#panel-console .xterm').click(); // the clicks of the last flood took the focus
  const startBytes = (await readProbe(page)).received;
  // Quoted so that the echoed command line does not contain the marker itself.
  await page.keyboard.type(
    `head -c ${FLOOD_INPUT_BYTES} /dev/urandom | base64; echo "${END_MARKER.slice(0, 5)}""${END_MARKER.slice(5)}"`,
  );
  await resetProbe(page, END_MARKER);
  if (profile !== null) await cdp.send('Profiler.start');
  const before = await mainThread(cdp);
  const cpuBefore = cpu();
  await page.keyboard.press('Enter');
  const heading = await page.getByRole('heading', { level: 1 }).boundingBox();
  if (heading === null) throw new Error('no heading to click');
  let clicking = true;
  const clicks = (async () => {
    let count = 0;
    while (clicking) {
      await page.mouse.click(heading.x + 2, heading.y + heading.height / 2);
      count++;
      await new Promise((resolve) => setTimeout(resolve, CLICK_EVERY_MS));
    }
    return count;
  })();
  await page.waitForFunction(
    () => {
      const probe = (window as unknown as { probe: Probe }).probe;
      return probe.markerAt > 0 && probe.acked >= probe.markerAt;
    },
    undefined,
    { timeout: 300_000, polling: 100 },
  );
  const after = await mainThread(cdp);
  const cpuAfter = cpu();
  if (profile !== null) {
    const { profile: recorded } = await cdp.send('Profiler.stop');
    writeFileSync(profile, JSON.stringify(recorded));
  }
  clicking = false;
  const clickCount = await clicks;
  const spent = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  const probe = await readProbe(page);
  const sent = probe.keydowns.at(0) ?? 0;
  const lastFrame = probe.frames.at(-1)?.at ?? 0;
  const bytes = probe.markerAt - startBytes;
  const seconds = (probe.lastAckAt - sent) / 1000;
  return {
    mbPerSecond: bytes / 1e6 / seconds,
    arrivalMbPerSecond: bytes / 1e6 / ((lastFrame - sent) / 1000),
    megabytes: bytes / 1e6,
    frames: probe.frames.length,
    bytesPerFrame: bytes / probe.frames.length,
    timerLateMax: Math.max(...probe.timerLate),
    timerLateP99: percentile(probe.timerLate, 0.99),
    clickWaitMax: Math.max(...probe.clickWait),
    clickWaitP99: percentile(probe.clickWait, 0.99),
    clicks: clickCount,
    cpu: new Map(
      [...cpuAfter].map(([role, seconds]) => [role, seconds - (cpuBefore.get(role) ?? 0)]),
    ),
    busy: {
      task: spent('TaskDuration'),
      script: spent('ScriptDuration'),
      layout: spent('LayoutDuration'),
      style: spent('RecalcStyleDuration'),
    },
  };
}

/**
 * Ctrl+C once a flood is under way: from its keydown until the prompt that the shell prints
 * next is parsed. The output already on its way (the flow-control window's worth, at most)
 * scrolls past first.
 */
async function interrupt(page: Page): Promise<number> {
  await settled(page);
  await page.locator('#panel-console .xterm').click();
  await page.keyboard.type(`head -c ${FLOOD_INPUT_BYTES} /dev/urandom | base64`);
  await resetProbe(page);
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (bytes) => (window as unknown as { probe: Probe }).probe.received > bytes,
    INTERRUPT_AFTER_BYTES,
    { polling: 50 },
  );
  // base64 has neither '#' nor ' ': the first '# ' is the prompt's.
  await resetProbe(page, PROMPT_END);
  await page.keyboard.press('Control+C');
  await page.waitForFunction(
    () => (window as unknown as { probe: Probe }).probe.markerParsedAt > 0,
    undefined,
    { timeout: 60_000, polling: 50 },
  );
  const probe = await readProbe(page);
  return probe.markerParsedAt - (probe.keydowns.at(-1) ?? Number.NaN);
}

/**
 * The same keystrokes from Node, through the same dashboard and agent to the same shell: a
 * browser-like socket.io client (the session cookie) attached as a second viewer. Its
 * round trip is the keystroke's path outside Chromium.
 */
async function nodeViewer(page: Page): Promise<{ type: () => Promise<number>; close: () => void }> {
  const [agent, container] = new URL(page.url()).pathname.split('/').slice(-2);
  const { cookie } = await stack.dashboard.signIn();
  const socket = await stack.dashboard.connect(cookie);
  const { session } = await relayToAgent(socket, Number(agent), 'terminal:attach', {
    container: container ?? '',
  });
  let echoed: (() => void) | undefined;
  socket.on('terminal:output', (message: { session: string; data: ArrayBuffer }) => {
    if (message.session !== session) return;
    socket.emit('terminal:ack', { agent: Number(agent), session, bytes: message.data.byteLength });
    echoed?.();
  });
  return {
    type: async () => {
      const started = performance.now();
      await new Promise<void>((resolve) => {
        echoed = resolve;
        socket.emit('terminal:input', { agent: Number(agent), session, data: 'y' });
      });
      echoed = undefined;
      return performance.now() - started;
    },
    close: () => socket.close(),
  };
}

/**
 * One key at a time, each typed a random part of a frame after the previous one's echo was
 * drawn; after each, one typed from Node through the dashboard (its round trip in
 * `fromNode`).
 */
async function keystrokes(
  page: Page,
): Promise<Record<'sent' | 'arrived' | 'parsed' | 'frame' | 'fromNode', number[]>> {
  await settled(page);
  const outside = await nodeViewer(page);
  const fromNode: number[] = [];
  await resetProbe(page);
  for (let key = 0; key < KEYS; key++) {
    // Waited for inside the page: polling from outside would keep the page busy itself.
    const drawn = page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          (window as unknown as { probe: Probe }).probe.drawn = resolve;
        }),
    );
    // A person's keys fall anywhere between two frames; typed right after the last echo
    // was drawn, they would all land at the same point of a frame.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * FRAME_MS));
    await page.keyboard.press('x');
    await drawn;
    fromNode.push(await outside.type());
  }
  outside.close();
  const probe = await readProbe(page);
  await page.keyboard.press('Control+U'); // the shell forgets the line
  return {
    sent: probe.inputsSent.map((at, index) => at - (probe.keydowns[index] ?? 0)),
    arrived: probe.arrivals.map((at, index) => at - (probe.keydowns[index] ?? 0)),
    parsed: probe.echoes.map((echo, index) => echo.parsed - (probe.keydowns[index] ?? 0)),
    frame: probe.echoes.map((echo, index) => echo.frame - (probe.keydowns[index] ?? 0)),
    fromNode,
  };
}

const stack = await new Stack({
  dashboardMain: WEB === undefined ? undefined : join(WEB, 'dist', 'server', 'main.js'),
  chromiumArgs: EXTRA_CHROMIUM_ARGS,
}).start();
try {
  const socket = await connect(stack.agent.url);
  await ok(socket, 'container:run', {
    spec: {
      name: 'bench-console',
      rootfs: DEFAULT_IMAGE,
      command: ['sh'],
      tty: true,
      interactive: true,
      network: 'none',
    },
  });
  socket.close();
  const page = await stack.signedInPage();
  // tsx keeps function names by wrapping them in __name(), which the page lacks.
  await page.addInitScript('globalThis.__name = (target) => target');
  await page.addInitScript(installProbe);
  await page.goto(`${stack.dashboard.url}/containers`);
  await page.getByRole('link', { name: 'bench-console' }).click({ timeout: 120_000 });
  await page.waitForURL(/\/containers\/\d+\/[0-9a-f]{64}$/);
  await page.locator('#panel-console .badge', { hasText: 'attached' }).waitFor();
  await page.locator('#panel-console .xterm').click();
  await page.keyboard.press('Enter'); // a fresh prompt: output the probe sees
  await page.waitForFunction(() => (window as unknown as { probe: Probe }).probe.acked > 0);
  const renderer = await page.evaluate(() =>
    document.querySelector('#panel-console .xterm canvas') ? 'canvas (WebGL)' : 'DOM',
  );
  console.log(`xterm.js renderer in this chromium: ${renderer}`);

  if (TRACE_FILE !== undefined)
    await stack.browser.startTracing(page, {
      path: TRACE_FILE,
      categories: [
        'devtools.timeline',
        'disabled-by-default-devtools.timeline',
        'disabled-by-default-devtools.timeline.frame',
        'toplevel',
        'blink',
        'renderer.scheduler',
        'disabled-by-default-renderer.scheduler',
        'net',
        'ipc',
        'mojom',
        'cc',
        'viz',
        'gpu',
      ],
    });
  const keys = await keystrokes(page);
  if (TRACE_FILE !== undefined) await stack.browser.stopTracing();
  console.log(
    `keystroke → its terminal:input sent: p50 ${median(keys.sent).toFixed(2)} ms; → the echo arrived: p50 ${median(keys.arrived).toFixed(2)} ms, p99 ${percentile(keys.arrived, 0.99).toFixed(2)} ms`,
  );
  console.log(
    `the same keystroke typed from Node through the dashboard (socket.io client, no browser): p50 ${median(keys.fromNode).toFixed(2)} ms, p99 ${percentile(keys.fromNode, 0.99).toFixed(2)} ms`,
  );
  console.log(
    `keystroke → echo parsed by xterm.js (${KEYS} keys): p50 ${median(keys.parsed).toFixed(2)} ms, p99 ${percentile(keys.parsed, 0.99).toFixed(2)} ms; ` +
      `→ the frame that draws it: p50 ${median(keys.frame).toFixed(2)} ms, p99 ${percentile(keys.frame, 0.99).toFixed(2)} ms`,
  );

  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  if (PROFILE_DIR !== undefined) await cdp.send('Profiler.enable');
  const floods: Awaited<ReturnType<typeof flood>>[] = [];
  for (let run = 0; run < FLOODS; run++) {
    const profile =
      PROFILE_DIR === undefined ? null : join(PROFILE_DIR, `page-flood-${run + 1}.cpuprofile`);
    const result = await flood(page, cdp, cpuReader(stack), profile);
    floods.push(result);
    console.log(
      `flood ${run + 1}: ${result.megabytes.toFixed(1)} MB parsed at ${result.mbPerSecond.toFixed(1)} MB/s (arrived at ${result.arrivalMbPerSecond.toFixed(1)} MB/s; ` +
        `${result.frames} frames, ${(result.bytesPerFrame / 1024).toFixed(1)} KiB each); ` +
        `10 ms timer late by max ${result.timerLateMax.toFixed(0)} ms, p99 ${result.timerLateP99.toFixed(0)} ms; ` +
        `${result.clicks} clicks waited max ${result.clickWaitMax.toFixed(0)} ms, p99 ${result.clickWaitP99.toFixed(0)} ms; ` +
        `page main thread busy ${result.busy.task.toFixed(0)} ms (script ${result.busy.script.toFixed(0)}, layout ${result.busy.layout.toFixed(0)}, style ${result.busy.style.toFixed(0)}); ` +
        `CPU seconds: ${[...result.cpu].map(([role, seconds]) => `${role} ${seconds.toFixed(2)}`).join(', ')}`,
    );
  }
  const medianOf = (
    key: 'mbPerSecond' | 'timerLateMax' | 'timerLateP99' | 'clickWaitMax' | 'clickWaitP99',
  ) => median(floods.map((result) => result[key]));
  console.log(
    `flood of ${FLOOD_INPUT_BYTES / 1e6} MB of base64 in the console, median of ${FLOODS}: ${medianOf('mbPerSecond').toFixed(1)} MB/s end to end; ` +
      `timer late max ${medianOf('timerLateMax').toFixed(0)} ms (p99 ${medianOf('timerLateP99').toFixed(0)}), ` +
      `click wait max ${medianOf('clickWaitMax').toFixed(0)} ms (p99 ${medianOf('clickWaitP99').toFixed(0)})`,
  );
  const interrupts: number[] = [];
  for (let run = 0; run < INTERRUPTS; run++) interrupts.push(await interrupt(page));
  console.log(
    `Ctrl+C during a flood → the prompt parsed, median of ${INTERRUPTS}: ${median(interrupts).toFixed(0)} ms (${interrupts.map((ms) => ms.toFixed(0)).join(', ')})`,
  );
} finally {
  await stack.close();
}
