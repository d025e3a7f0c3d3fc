import type { ITerminalOptions } from '@xterm/xterm';

/** How the dashboard's terminals look; the console benchmark measures xterm.js with these. */
export const XTERM_OPTIONS = {
  scrollback: 10_000,
  fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
  fontSize: 14,
  theme: { background: '#0b0f14' },
} as const satisfies ITerminalOptions;
