import type { WebglAddon } from '@xterm/addon-webgl';
import type { Terminal } from '@xterm/xterm';
import { XTERM_OPTIONS } from './xterm-options';

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
    ...XTERM_OPTIONS,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(screen);
  if (hasHardwareWebgl2()) {
    const { WebglAddon } = await import('@xterm/addon-webgl');
    if (isDisposed()) {
      term.dispose();
      return null;
    }
    drawWithWebgl(term, WebglAddon);
  }
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

/**
 * WebGL2 drawn by a GPU. A software rasterizer (SwiftShader, llvmpipe: headless browsers,
 * VMs without a GPU) is left to the DOM renderer: measured in Debian's headless chromium,
 * WebGL there halved a flood's throughput and held the page's timers up by 200 ms.
 */
function hasHardwareWebgl2(): boolean {
  try {
    const gl = document
      .createElement('canvas')
      .getContext('webgl2', { failIfMajorPerformanceCaveat: true });
    if (gl === null) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info?.UNMASKED_RENDERER_WEBGL ?? gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext(); // the probe's context is not kept
    return !/swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    return false;
  }
}

/**
 * The GPU renderer: it draws a frame from a glyph atlas instead of rebuilding rows of DOM
 * elements that the browser must then lay out and paint. Should the GPU context be lost
 * (a driver reset, too many contexts), xterm falls back to its DOM renderer.
 */
function drawWithWebgl(term: Terminal, Addon: typeof WebglAddon): void {
  try {
    const addon = new Addon();
    addon.onContextLoss(() => addon.dispose());
    term.loadAddon(addon);
  } catch {
    // No usable WebGL2 after all: the DOM renderer stays.
  }
}
