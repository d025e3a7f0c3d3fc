/**
 * Where to go after signing in: `next` when it is a page of this dashboard, else the
 * containers. Resolved the way the browser will resolve it, so that "/\evil.example" (a
 * browser reads "\" as "/"), "//evil.example" or "javascript:" cannot leave the origin.
 */
export function pageAfterSignIn(next: string | null, origin: string): string {
  const fallback = '/containers';
  if (next === null) return fallback;
  let target: URL;
  try {
    target = new URL(next, origin);
  } catch {
    return fallback;
  }
  if (target.origin !== origin || target.pathname.startsWith('/login')) return fallback;
  return `${target.pathname}${target.search}${target.hash}`;
}
