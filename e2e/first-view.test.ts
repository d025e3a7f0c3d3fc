import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_IMAGE } from '@tocker/protocol';
import type { Socket } from 'socket.io-client';
import { token as agentToken, connect, ok } from '../apps/agent/test/helpers.js';
import { Stack, screenshot } from './stack.js';

/**
 * The containers page carries its rows in its HTML (rendered from the gateway's link to
 * the agent), so they show before the page's socket connects; once the page has hydrated,
 * the socket keeps the list live. The HTML is still only for a signed-in browser, and holds
 * no agent token.
 */
const stack = new Stack();
let agent: Socket;

const run = (name: string) =>
  ok(agent, 'container:run', {
    spec: { name, rootfs: DEFAULT_IMAGE, command: ['sleep', '3600'] },
  });

before(async () => {
  await stack.start();
  agent = await connect(stack.agent.url);
  await run('first-view-a');
});
after(async () => {
  agent?.close();
  await stack.close();
});

test('the HTML of the containers page has the row; without a session it is a redirect to sign in', async () => {
  const { cookie } = await stack.dashboard.signIn();
  const signedIn = await fetch(`${stack.dashboard.url}/containers`, {
    headers: { cookie: cookie ?? '' },
  });
  assert.equal(signedIn.status, 200);
  const html = await signedIn.text();
  assert.match(html, /<tr data-testid="container-first-view-a">/);
  assert.ok(!html.includes(agentToken), 'no agent token in the page');
  assert.match(signedIn.headers.get('content-security-policy') ?? '', /'nonce-/);

  const signedOut = await fetch(`${stack.dashboard.url}/containers`, { redirect: 'manual' });
  assert.equal(signedOut.status, 303);
  assert.doesNotMatch(await signedOut.text(), /first-view-a/);
});

test('with scripts off (no socket at all) the row is on screen', async () => {
  const context = await stack.browser.newContext({ javaScriptEnabled: false });
  const { cookie } = await stack.dashboard.signIn();
  const [name, value] = (cookie ?? '').split('=');
  await context.addCookies([
    { name: name ?? '', value: value ?? '', url: stack.dashboard.url, httpOnly: true },
  ]);
  const page = await context.newPage();
  let sockets = 0;
  page.on('websocket', () => sockets++);
  await page.goto(`${stack.dashboard.url}/containers`);
  await page.getByTestId('container-first-view-a').getByText('running').waitFor();
  await screenshot(page, 'first-view-no-scripts');
  assert.equal(sockets, 0);
  await context.close();
});

test('signing in before the scripts run (or without them) never puts the login token in the URL', async () => {
  const context = await stack.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const requests: { method: string; url: string }[] = [];
  page.on('request', (request) => requests.push({ method: request.method(), url: request.url() }));
  await page.goto(`${stack.dashboard.url}/login`);
  await page.getByLabel('Login token').fill('not-the-token-a1b2c3');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
  const sent = requests.find((request) => request.url.endsWith('/api/login'));
  assert.equal(sent?.method, 'POST');
  assert.ok(
    requests.every((request) => !request.url.includes('a1b2c3')),
    JSON.stringify(requests),
  );
  await context.close();
});

test('after hydration the list is live: a new container appears, a removed one goes', async () => {
  const page = await stack.signedInPage();
  await page.goto(`${stack.dashboard.url}/containers`);
  const first = page.getByTestId('container-first-view-a');
  // Usage cells fill from the socket's stats: the page has hydrated and subscribed.
  await first.getByText(/of host/).waitFor();
  await run('first-view-b');
  await page.getByTestId('container-first-view-b').getByText('running').waitFor();
  await ok(agent, 'container:remove', { container: 'first-view-a', force: true });
  await first.waitFor({ state: 'detached' });
  await screenshot(page, 'first-view-live');
  await page.context().close();
  assert.deepEqual(stack.policyViolations, []);
});

test('a page rendered after a change shows it (the cached list follows the events)', async () => {
  const { cookie } = await stack.dashboard.signIn();
  const load = async () =>
    (
      await fetch(`${stack.dashboard.url}/containers`, { headers: { cookie: cookie ?? '' } })
    ).text();
  await load(); // the list is now cached
  await run('first-view-c');
  // The agent's event reaches the dashboard's link asynchronously: the next page may
  // still be the cached one, a later one not.
  const deadline = Date.now() + 10_000;
  let html = await load();
  while (!html.includes('container-first-view-c') && Date.now() < deadline) html = await load();
  assert.match(html, /data-testid="container-first-view-c"/);
  assert.doesNotMatch(html, /data-testid="container-first-view-a"/);
});

test("a page whose scripts failed to load (the browser's network changed: a container's interfaces came up) loads them again and goes live", async () => {
  const page = await stack.signedInPage();
  // Chromium fails the requests it has in flight when the host's addresses change, which
  // a container starting on a bridge does; each of the page's scripts fails once here.
  const failed = new Set<string>();
  await page.route('**/_next/static/chunks/*.js', (route) => {
    const url = route.request().url();
    if (failed.has(url)) return route.continue();
    failed.add(url);
    return route.abort('internetdisconnected');
  });
  await page.goto(`${stack.dashboard.url}/agents`);
  // The agents come over the page's socket: its scripts ran, and React took the page over.
  await page.getByText('online').waitFor({ timeout: 15_000 });
  assert.ok(failed.size > 0, 'the page has scripts');
  await page.context().close();
  assert.deepEqual(stack.policyViolations, []);
});
