import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The pages' Content-Security-Policy: scripts only from this origin and with this
 * response's nonce (Next's inline bootstrap carries it, 'strict-dynamic' lets its loader
 * add its chunks); no plugins, no framing, no base or form target elsewhere. Styles may be
 * inline: React and xterm.js set style attributes and style elements at run time.
 */
function policy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * A fresh nonce for each page: on the response, and on the request, where Next reads it
 * to stamp its own inline scripts (the pages are rendered per request for that).
 */
export function applyContentSecurityPolicy(
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const header = policy(randomBytes(16).toString('base64'));
  request.headers['content-security-policy'] = header;
  response.setHeader('content-security-policy', header);
}
