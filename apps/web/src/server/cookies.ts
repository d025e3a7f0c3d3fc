import type { IncomingMessage } from 'node:http';
import { SESSION_COOKIE } from './auth.js';

/** The session cookie's value, if the request carries one. */
export function readCookie(request: IncomingMessage): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

/**
 * A browser request from a page of this very dashboard (or a non-browser client, which
 * sends no Origin): the cookie is SameSite=Strict already, this also stops another site
 * from driving a signed-in browser's WebSocket or form posts.
 */
export function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
