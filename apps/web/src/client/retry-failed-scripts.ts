/**
 * An inline script for the top of every page: a page script of Next's that failed to load
 * is loaded again (three times at most, 0.25, 0.5 and 1 s later).
 *
 * Chromium fails the requests it has in flight when the host's network addresses change,
 * which a new network's bridge does (its gateway address): on the host running the agent,
 * a page opened meanwhile can lose one of its scripts. Next's runtime loads a chunk
 * again only when it was already waiting for it; a chunk that failed before then was waited
 * for forever, and the page stayed as the server rendered it ("Loading agents…"), dead.
 * A script left in place (nobody took it out to load it again) is replaced by a new one
 * with the same src as written (the runtime knows its chunks by that, not by the absolute
 * URL); the page's nonce lets this script in, and 'strict-dynamic' the scripts it adds.
 */
export const RETRY_FAILED_SCRIPTS = `(() => {
  const attempts = new Map();
  document.addEventListener('error', (event) => {
    const failed = event.target;
    const src = failed instanceof HTMLScriptElement ? failed.getAttribute('src') : null;
    if (src === null || !src.startsWith('/_next/static/')) return;
    const attempt = (attempts.get(src) ?? 0) + 1;
    if (attempt > 3) return;
    attempts.set(src, attempt);
    setTimeout(() => {
      if (!failed.isConnected) return;
      const again = document.createElement('script');
      again.setAttribute('src', src);
      again.async = true;
      failed.replaceWith(again);
    }, 125 * 2 ** attempt);
  }, true);
})();`;
