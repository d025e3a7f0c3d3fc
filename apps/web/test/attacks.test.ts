import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callDashboard } from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import {
  Agent,
  token as agentToken,
  handshake,
  removeEverything,
} from '../../agent/test/helpers.js';
import { openDatabase } from '../src/server/db.js';
import { Dashboard, until } from './helpers.js';

const dir = scratchDir('web-attacks');
let agent: Agent;
let dashboard: Dashboard;

before(async () => {
  agent = await new Agent().started();
  dashboard = await new Dashboard(dir, agent.url).started();
});
after(async () => {
  await dashboard?.stop();
  await agent?.stop();
  await removeEverything();
  rmSync(dir, { recursive: true, force: true });
});

const disconnected = (socket: Socket) =>
  new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));

describe('the dashboard attacked: sessions and sockets (a real dashboard and agent)', () => {
  test('the gateway refuses a handshake without a live session before socket.io opens one', async () => {
    const { cookie } = await dashboard.signIn();
    assert.ok(cookie);
    for (const headers of [{}, { cookie: 'tocker_session=forged' }] as Record<string, string>[]) {
      const { status, body } = await handshake(dashboard.url, headers);
      assert.equal(status, 400);
      assert.doesNotMatch(body, /sid/);
    }
    assert.equal((await handshake(dashboard.url, { cookie })).status, 101);
  });

  test('signing out closes the sockets that session already had open; another session is untouched', async () => {
    const [mine, theirs] = [await dashboard.signIn(), await dashboard.signIn()];
    const socket = await dashboard.connect(mine.cookie);
    const other = await dashboard.connect(theirs.cookie);
    await callDashboard(socket, 'agents:list', {});
    const closed = disconnected(socket);
    const logout = await fetch(`${dashboard.url}/api/logout`, {
      method: 'POST',
      headers: { cookie: mine.cookie ?? '' },
    });
    assert.equal(logout.status, 200);
    assert.equal(await closed, 'io server disconnect');
    await callDashboard(other, 'agents:list', {}); // the other session goes on
    await assert.rejects(dashboard.connect(mine.cookie), 'and the old cookie cannot reconnect');
    other.close();
  });

  test('a session that expires takes its open sockets with it', async () => {
    const { cookie } = await dashboard.signIn();
    const secret = (cookie ?? '').split('=')[1] ?? '';
    const prisma = openDatabase(join(dir, 'dashboard.db'));
    try {
      await prisma.session.update({
        where: { secretHash: createHash('sha256').update(secret).digest('hex') },
        data: { expiresAt: new Date(Date.now() + 1500) },
      });
    } finally {
      await prisma.$disconnect();
    }
    const socket = await dashboard.connect(cookie);
    const closed = disconnected(socket);
    await until('the session to expire', async () => (await closed) !== '', 10_000);
    assert.equal(await closed, 'io server disconnect');
  });
});

describe('the dashboard attacked: sign-in', () => {
  test('guessing the login token: after 5 wrong tries an address is locked out (doubling), logged; other addresses sign in', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 40; attempt++) {
      statuses.push((await dashboard.signIn(`guess-${attempt}`, '127.0.0.2')).status);
    }
    assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401]);
    assert.ok(
      statuses.slice(6).every((status) => status === 429),
      `then 429 only: ${statuses.join(' ')}`,
    );
    const locked = await dashboard.signIn(dashboard.loginToken, '127.0.0.2');
    assert.equal(locked.status, 429, 'even the right token waits out the lock');
    assert.equal(locked.retryAfter, '1');
    assert.match(
      dashboard.output,
      /6 failed sign-ins in a row from 127\.0\.0\.2: locked out for 1 s/,
    );
    assert.equal((await dashboard.signIn(dashboard.loginToken, '127.0.0.3')).status, 200);
    await until('the lock to pass', async () => {
      const { status } = await dashboard.signIn(dashboard.loginToken, '127.0.0.2');
      return status === 200;
    });
    // A success forgives the address: five more tries before the next lock.
    for (let attempt = 0; attempt < 5; attempt++) {
      assert.equal((await dashboard.signIn('guess', '127.0.0.2')).status, 401);
    }
  });
});

describe('the dashboard attacked: other names, injected scripts', () => {
  test('DNS rebinding: a request or a handshake for another host name is refused', async () => {
    const { cookie } = await dashboard.signIn();
    const port = new URL(dashboard.url).port;
    const page = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${dashboard.url}/containers`, {
        headers: { host: `rebound.example:${port}`, cookie: cookie ?? '' },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    assert.equal(page, 421);
    const socket = await handshake(dashboard.url, {
      host: `rebound.example:${port}`,
      origin: `http://rebound.example:${port}`,
      cookie: cookie ?? '',
    });
    assert.equal(socket.status, 400);
    for (const name of ['localhost', '127.0.0.1']) {
      const ok = await handshake(dashboard.url, {
        host: `${name}:${port}`,
        origin: `http://${name}:${port}`,
        cookie: cookie ?? '',
      });
      assert.equal(ok.status, 101, name);
    }
  });

  test('every page has a Content-Security-Policy with a fresh nonce that its scripts, and only they, carry', async () => {
    const { cookie } = await dashboard.signIn();
    const nonces = new Set<string>();
    for (const path of ['/login', '/containers', '/history', '/agents', '/launch']) {
      const response = await fetch(`${dashboard.url}${path}`, {
        headers: { cookie: cookie ?? '' },
      });
      assert.equal(response.status, 200, path);
      const policy = response.headers.get('content-security-policy') ?? '';
      const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
      assert.ok(nonce, `${path}: ${policy}`);
      assert.match(policy, /script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
      assert.match(policy, /frame-ancestors 'none'/);
      assert.match(policy, /object-src 'none'/);
      nonces.add(nonce);
      const scripts = (await response.text()).match(/<script[^>]*>/g) ?? [];
      assert.ok(scripts.length > 0, path);
      for (const script of scripts)
        assert.ok(script.includes(`nonce="${nonce}"`), `${path}: ${script}`);
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
    }
    assert.equal(nonces.size, 5, 'a new nonce for every page');
  });
});

describe('the dashboard attacked: its files and command lines', () => {
  test("no process's command line (what every user's ps shows) holds a token", () => {
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      assert.ok(!cmdline.includes(agentToken), `process ${pid} shows the agent token`);
      assert.ok(!cmdline.includes(dashboard.loginToken), `process ${pid} shows the login token`);
    }
  });

  test('a copy of its database holds no agent token; the database and its key are 0600', async () => {
    const database = join(dir, 'dashboard.db');
    for (const file of [database, `${database}-wal`]) {
      assert.equal((statSync(file).mode & 0o777).toString(8), '600', file);
      assert.ok(!readFileSync(file).includes(agentToken), `${file} holds the agent token`);
    }
  });
});
