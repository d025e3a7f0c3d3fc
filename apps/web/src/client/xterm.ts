import type { Terminal } from '@xterm/xterm';

/**
 * An xterm.js terminal opened in `screen`, fitted to it and refitted whenever it changes
 * size. Loaded on demand: xterm is the heaviest thing a page can need. `null` when the
 * page went away while it loaded. `dispose` undoes everything.
 */
export async function openXterm(
  screen: HTMLElement,
  options: { label: string; readOnly: boolean },
  isDisposed: () => boolean,
): Promise<{ term: Terminal; dispose: () => void } | null> {
  const [{ Terminal }, { FitAddon }] = await Promise.all([
    import('@xterm/xterm'),
    import('@xterm/addon-fit'),
  ]);
  if (isDisposed()) return null;
  const term = new Terminal({
    cursorBlink: !options.readOnly,
    disableStdin: options.readOnly,
    scrollback: 10_000,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    theme: { background: '#0b0f14' },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  term.textarea?.setAttribute('aria-label', options.label);
  fit.fit();
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => fit.fit());
  });
  observer.observe(screen);
  return {
    term,
    dispose: () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      term.dispose();
    },
  };
}
