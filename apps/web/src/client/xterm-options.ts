import { SCROLLBACK_BYTES } from '@tocker/protocol';
import type { ITerminalOptions } from '@xterm/xterm';

/**
 * Lines kept above the screen: about what the agent replays when a console reattaches (its
 * last SCROLLBACK_BYTES, at 80 columns), so a reload does not shorten the history; all of
 * a container's output is in its log. Each line kept costs xterm.js memory and time: with
 * 10,000 lines a flood in Chromium was ~20% slower (and a console held ~16 MB of lines).
 */
const SCROLLBACK_LINES = Math.round(SCROLLBACK_BYTES / 80);

/** How the dashboard's terminals look; the console benchmark measures xterm.js with these. */
export const XTERM_OPTIONS = {
  scrollback: SCROLLBACK_LINES,
  fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
  fontSize: 14,
  theme: { background: '#0b0f14' },
} as const satisfies ITerminalOptions;
