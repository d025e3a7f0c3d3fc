/**
 * xterm.js alone in Debian's chromium, with no agent, no dashboard and no network: the
 * flood's 27 MB of base64 lines (CR LF ended, as a terminal shows them) made inside the
 * page and written in frames as the agent sends them. What it measures is the console's
 * ceiling in this browser on this machine:
 * - parsed only: a terminal that is never opened (xterm.js's parser and buffer, no drawing);
 * - drawn: a terminal opened in a pane the size of the dashboard's console, drawn by the
 *   renderer the dashboard uses in this browser (the DOM renderer without a GPU);
 * each fed bytes (what the dashboard hands it) and strings, interleaved, BENCH_ROUNDS rounds.
 *
 * Run as root: node --import tsx e2e/bench/xterm-alone.ts
 */
import { createRequire } from 'node:module';
import { chromium, type Page } from 'playwright-core';
import { XTERM_OPTIONS } from '../../apps/web/src/client/xterm-options.js';
import { median } from '../../packages/runtime/bench/measure.js';
// Not from the Stack's module: importing it makes the agent tests' state root.
import { CHROMIUM, CHROMIUM_ARGS } from '../chromium.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FLOOD_INPUT_BYTES = 20_000_000;
/** The agent's frames while output streams: up to 256 KiB, gathered for 5 ms. */
const FRAME_BYTES = 128 * 1024;
/** The dashboard's console at 1280×800: its pane is 60vh high, the page's width less margins. */
const PANE = { width: 1180, height: 468 };

type Mode = { drawn: boolean; as: 'bytes' | 'string' };

/** Runs in the page: the flood into a fresh terminal; MB/s from the first write to the last callback. */
async function floodInPage({
  mode,
  setup,
}: {
  mode: Mode;
  setup: { options: object; pane: typeof PANE; inputBytes: number; frameBytes: number };
}): Promise<{ mbPerSecond: number; cols: number; rows: number }> {
  const { Terminal, FitAddon } = window as unknown as {
    FitAddon: { FitAddon: new () => { fit(): void } };
    Terminal: new (
      options: object,
    ) => {
      loadAddon(addon: object): void;
      open(element: HTMLElement): void;
      write(data: string | Uint8Array, callback?: () => void): void;
      dispose(): void;
      cols: number;
      rows: number;
    };
  };
  // base64 of random bytes in lines of 76, each ended by CR LF.
  const lines: string[] = [];
  const random = new Uint8Array(57);
  for (let made = 0; made < setup.inputBytes; made += 57) {
    crypto.getRandomValues(random);
    lines.push(btoa(String.fromCharCode(...random)));
  }
  const text = `${lines.join('\r\n')}\r\n`;
  const bytes = new TextEncoder().encode(text);
  const frames: (string | Uint8Array)[] = [];
  for (let start = 0; start < bytes.length; start += setup.frameBytes)
    frames.push(
      mode.as === 'bytes'
        ? bytes.subarray(start, start + setup.frameBytes)
        : text.slice(start, start + setup.frameBytes),
    );
  const pane = document.createElement('div');
  Object.assign(pane.style, { width: `${setup.pane.width}px`, height: `${setup.pane.height}px` });
  document.body.replaceChildren(pane);
  const term = new Terminal(setup.options);
  if (mode.drawn) {
    const fit = new FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(pane);
    fit.fit();
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = performance.now();
  await new Promise<void>((resolve) => {
    for (const [index, frame] of frames.entries())
      term.write(frame, index === frames.length - 1 ? resolve : undefined);
  });
  const seconds = (performance.now() - started) / 1000;
  const size = { cols: term.cols, rows: term.rows };
  term.dispose();
  return { mbPerSecond: bytes.length / 1e6 / seconds, ...size };
}

async function measure(page: Page, mode: Mode) {
  return page.evaluate(floodInPage, {
    mode,
    setup: {
      options: XTERM_OPTIONS,
      pane: PANE,
      inputBytes: FLOOD_INPUT_BYTES,
      frameBytes: FRAME_BYTES,
    },
  });
}

const require = createRequire(import.meta.url);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // tsx keeps function names by wrapping them in __name(), which the page lacks.
  await page.addInitScript('globalThis.__name = (target) => target');
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addStyleTag({ path: require.resolve('@xterm/xterm/css/xterm.css') });
  await page.addScriptTag({ path: require.resolve('@xterm/xterm/lib/xterm.js') });
  await page.addScriptTag({ path: require.resolve('@xterm/addon-fit/lib/addon-fit.js') });
  const modes: Mode[] = [
    { drawn: false, as: 'bytes' },
    { drawn: false, as: 'string' },
    { drawn: true, as: 'bytes' },
    { drawn: true, as: 'string' },
  ];
  const results = new Map<Mode, number[]>(modes.map((mode) => [mode, []]));
  let size = '';
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) {
      const result = await measure(page, mode);
      results.get(mode)?.push(result.mbPerSecond);
      if (mode.drawn) size = `${result.cols}×${result.rows}`;
    }
  }
  console.log(
    `\nxterm.js alone in chromium, the flood made in the page (${FLOOD_INPUT_BYTES / 1e6} MB of random bytes as base64) in ${FRAME_BYTES / 1024} KiB writes, median (range) of ${ROUNDS}:\n`,
  );
  for (const [mode, rates] of results)
    console.log(
      `  ${mode.drawn ? `drawn by the DOM renderer, ${size}` : 'parsed only (never opened)'}, fed ${mode.as}: ` +
        `${median(rates).toFixed(1)} MB/s (${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)})`,
    );
} finally {
  await browser.close();
}
