import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import { isSignedIn, SESSION_TTL_MS, sessionCookie, signIn, signOut } from '../src/server/auth.js';
import { openDatabase } from '../src/server/db.js';

const dir = scratchDir('web-auth');
after(() => rmSync(dir, { recursive: true, force: true }));

test('sign-in with the login token: sessions by cookie, hashed at rest, expiring, revocable (real SQLite)', async () => {
  const prisma = openDatabase(join(dir, 'auth.db'));
  const token = 'the-login-token-printed-at-start';
  assert.equal(await signIn(prisma, token, 'wrong-token'), null);
  assert.equal(await signIn(prisma, token, undefined), null);
  assert.equal(await prisma.session.count(), 0);

  const secret = await signIn(prisma, token, token);
  assert.ok(secret && secret.length >= 40);
  assert.equal(await isSignedIn(prisma, secret), true);
  assert.equal(await isSignedIn(prisma, `${secret}x`), false);
  assert.equal(await isSignedIn(prisma, undefined), false);
  const stored = await prisma.session.findFirstOrThrow();
  assert.notEqual(stored.secretHash, secret, 'only a hash is stored');
  assert.match(sessionCookie(secret), /HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/);

  const later = new Date(Date.now() + SESSION_TTL_MS + 1000);
  assert.equal(await isSignedIn(prisma, secret, later), false, 'sessions expire');
  await signIn(prisma, token, token, later);
  assert.equal(
    await prisma.session.count(),
    1,
    'expired sessions are cleaned away at the next sign-in',
  );

  const another = await signIn(prisma, token, token);
  await signOut(prisma, another ?? '');
  assert.equal(await isSignedIn(prisma, another ?? ''), false);
  await prisma.$disconnect();
});
