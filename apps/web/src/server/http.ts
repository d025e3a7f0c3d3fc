import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PrismaClient } from '@prisma/client';
import { AttemptLimiter, type HostAllowList } from '@tocker/guard';
import { isSignedIn, SESSION_COOKIE, sessionCookie, signIn, signOut } from './auth.js';
import { readCookie, sameOrigin } from './cookies.js';
import { applyContentSecurityPolicy } from './csp.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/** What anyone may fetch: the sign-in page and the static assets it needs (its icon too). */
const isPublic = (path: string) =>
  path === '/login' || path.startsWith('/_next/static/') || path === '/icon.svg';

const MAX_LOGIN_BODY = 4096;

function json(response: ServerResponse, status: number, body: object, headers = {}): void {
  response
    .writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...headers,
    })
    .end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let body = '';
  for await (const chunk of request) {
    body += chunk;
    if (body.length > MAX_LOGIN_BODY) throw new Error('request too large');
  }
  return JSON.parse(body);
}

export interface GateOptions {
  readonly prisma: PrismaClient;
  readonly loginToken: string;
  /** The names the dashboard answers to (not another name that resolves to it). */
  readonly hosts: HostAllowList;
  /** Next, for what passed the gate. */
  readonly next: Handler;
  /** A session signed out: its sockets close too. */
  readonly signedOut: (secretHash: string) => void;
}

/**
 * Every HTTP request passes here before Next sees it: the host name checked, sign-in and
 * sign-out, and a gate that sends anyone without a live session to the sign-in page
 * (pages) or answers 401 (anything else). Next only ever renders for a signed-in browser,
 * and every page it renders gets a Content-Security-Policy with a fresh nonce.
 */
export function authGate({ prisma, loginToken, hosts, next, signedOut }: GateOptions): Handler {
  const attempts = new AttemptLimiter((address, failures, lockMs) =>
    process.stderr.write(
      `tocker-dashboard: ${failures} failed sign-ins in a row from ${address}: locked out for ${lockMs / 1000} s\n`,
    ),
  );
  return async (request, response) => {
    if (!hosts.allows(request))
      return json(response, 421, {
        error: `this dashboard does not answer to the name ${request.headers.host ?? '(none)'} (its --host-name adds names)`,
      });
    const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
    if (path === '/api/login' || path === '/api/logout') {
      if (request.method !== 'POST') return json(response, 405, { error: 'use POST' });
      if (!sameOrigin(request)) return json(response, 403, { error: 'cross-origin request' });
    }
    if (path === '/api/login') {
      const address = request.socket.remoteAddress ?? '';
      const waitMs = attempts.waitFor(address);
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        return json(
          response,
          429,
          { error: `too many wrong login tokens: try again in ${seconds} s` },
          { 'retry-after': String(seconds) },
        );
      }
      let given: unknown;
      try {
        given = ((await readJson(request)) as { token?: unknown } | null)?.token;
      } catch {
        return json(response, 400, { error: 'send {"token": "..."} as JSON' });
      }
      const secret = await signIn(prisma, loginToken, given);
      if (secret === null) {
        attempts.failed(address);
        return json(response, 401, { error: 'wrong login token' });
      }
      attempts.succeeded(address);
      return json(response, 200, {}, { 'set-cookie': sessionCookie(secret) });
    }
    if (path === '/api/logout') {
      const ended = await signOut(prisma, readCookie(request));
      if (ended !== null) signedOut(ended);
      return json(response, 200, {}, { 'set-cookie': `${SESSION_COOKIE}=; Path=/; Max-Age=0` });
    }
    // For the browser to tell a lost session from a lost server.
    if (path === '/api/session') {
      const live = await isSignedIn(prisma, readCookie(request));
      return json(response, live ? 200 : 401, live ? {} : { error: 'sign in first' });
    }
    if (isPublic(path) || (await isSignedIn(prisma, readCookie(request)))) {
      if (!path.startsWith('/_next/')) applyContentSecurityPolicy(request, response);
      return next(request, response);
    }
    if (request.method === 'GET' && !path.startsWith('/api/') && !path.startsWith('/_next/')) {
      const target = `/login?next=${encodeURIComponent(request.url ?? '/')}`;
      response.writeHead(303, { location: target, 'cache-control': 'no-store' }).end();
      return;
    }
    json(response, 401, { error: 'sign in first' });
  };
}
