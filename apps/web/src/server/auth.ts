import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '@prisma/client';
import { tokenMatches } from '@tocker/guard';

/**
 * Dashboard sign-in: the login token (printed at start) buys a session, kept in an
 * HttpOnly, SameSite=Strict cookie. Only a hash of the session secret is stored, so the
 * database alone does not let anyone in.
 */
export const SESSION_COOKIE = 'tocker_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A new session's cookie value, or null when the token is wrong. */
export async function signIn(
  prisma: PrismaClient,
  loginToken: string,
  given: unknown,
  now = new Date(),
): Promise<string | null> {
  if (!tokenMatches(loginToken, given)) return null;
  const secret = randomBytes(32).toString('base64url');
  await prisma.session.create({
    data: { secretHash: hash(secret), expiresAt: new Date(now.getTime() + SESSION_TTL_MS) },
  });
  await prisma.session.deleteMany({ where: { expiresAt: { lte: now } } }); // expired ones go
  return secret;
}

/** A live session: what names it (its secret's hash, never the secret) and when it ends. */
export interface SignedIn {
  readonly secretHash: string;
  readonly expiresAt: Date;
}

/** The live session a cookie belongs to, or null. */
export async function sessionOf(
  prisma: PrismaClient,
  cookie: string | undefined,
  now = new Date(),
): Promise<SignedIn | null> {
  if (cookie === undefined || cookie === '') return null;
  const session = await prisma.session.findUnique({ where: { secretHash: hash(cookie) } });
  return session !== null && session.expiresAt > now ? session : null;
}

export async function isSignedIn(
  prisma: PrismaClient,
  cookie: string | undefined,
  now = new Date(),
): Promise<boolean> {
  return (await sessionOf(prisma, cookie, now)) !== null;
}

/** Ends the cookie's session; returns what named it (its sockets close with it), if any. */
export async function signOut(
  prisma: PrismaClient,
  cookie: string | undefined,
): Promise<string | null> {
  if (cookie === undefined || cookie === '') return null;
  const secretHash = hash(cookie);
  const { count } = await prisma.session.deleteMany({ where: { secretHash } });
  return count > 0 ? secretHash : null;
}

export function sessionCookie(secret: string): string {
  return `${SESSION_COOKIE}=${secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}`;
}
