import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { connect, ok } from '../apps/agent/test/helpers.js';
import { Stack, screenshot } from './stack.js';

/**
 * Pause and unpause from the dashboard, in a real browser against a real agent: a
 * container printing ticks is frozen (its logs stop growing), thawed (they grow again),
 * and a pause made elsewhere shows on an open page by itself.
 */
const stack = new Stack();
let page: Page;
let client: Socket;
let containerUrl = '';

const NAME = 'e2e-pause';
const badge = (scope = page.locator('.page-head')) => scope.locator('.badge').first();
const logsText = async () => (await page.locator('#panel-logs pre').textContent()) ?? '';
const lastTick = (text: string) => Number(/tick-(\d+)\n?$/.exec(text)?.[1] ?? -1);

/** What the container has printed, as the agent has it. */
const agentLogs = async () => (await ok(client, 'container:logs', { container: NAME })).logs;

/** Waits until the page's Logs show `predicate`'s text; returns it. */
async function logsUntil(predicate: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  let text = '';
  while (Date.now() < deadline) {
    text = await logsText();
    if (predicate(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`the Logs never showed ${what}; they show:\n${text.slice(-300)}`);
}

before(async () => {
  await stack.start();
  client = await connect(stack.agent.url);
  page = await stack.signedInPage();
});
afterEach(async (context) => {
  const name = context.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  if (page && !page.isClosed()) await screenshot(page, `pause-${name}`).catch(() => undefined);
});
after(async () => {
  client?.close();
  await stack.close();
});

test('a container printing ticks runs; its page offers Pause, not Unpause', async () => {
  await page.goto(`${stack.dashboard.url}/containers`);
  await page.getByRole('link', { name: 'Launch', exact: true }).click();
  await page.getByLabel('Name', { exact: true }).fill(NAME);
  await page
    .getByLabel('Command')
    .fill(`sh -c 'trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done'`);
  await page.getByLabel('Terminal (tty), for a console').uncheck();
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.waitForURL(/\/containers\/\d+\/[0-9a-f]{64}$/);
  containerUrl = page.url();
  await badge().filter({ hasText: 'running' }).waitFor();
  await logsUntil((text) => lastTick(text) >= 3, 'three ticks');
  await page.getByRole('button', { name: `Pause ${NAME}`, exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: `Unpause ${NAME}`, exact: true }).count(), 0);
});

test('Pause on its page: it reads paused there and in the list, its logs stop growing, exec waits', async () => {
  await page.getByRole('button', { name: `Pause ${NAME}`, exact: true }).click();
  await badge().filter({ hasText: 'paused' }).waitFor();
  await page.getByRole('button', { name: `Unpause ${NAME}`, exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: `Pause ${NAME}`, exact: true }).count(), 0);
  // Stop and kill stay offered: they end a paused container too.
  assert.equal(
    await page.getByRole('button', { name: `Stop ${NAME}`, exact: true }).isEnabled(),
    true,
  );

  // Frozen: once the page shows everything printed before the pause, nothing follows.
  const frozen = await agentLogs();
  const shown = await logsUntil((text) => text === frozen, 'what the agent has');
  await page.waitForTimeout(2500); // more than two follow intervals of the Logs (1 s)
  assert.equal(await agentLogs(), frozen, 'the agent got no new output while paused');
  assert.equal(await logsText(), shown, 'the Logs did not grow while paused');

  await page.getByRole('tab', { name: 'Shell' }).click();
  assert.equal(await page.getByRole('button', { name: 'Exec a new shell' }).isDisabled(), true);
  await page.getByText('The container is paused: unpause it to exec a shell.').waitFor();
  await screenshot(page, 'pause-01-paused-page');

  await page.getByRole('link', { name: 'Containers', exact: true }).click();
  const row = page.getByTestId(`container-${NAME}`);
  await badge(row).filter({ hasText: 'paused' }).waitFor();
  await row.getByRole('button', { name: `Unpause ${NAME}`, exact: true }).waitFor();
  await screenshot(page, 'pause-02-paused-list');
});

test('Unpause from the list: it reads running again, on its page too, and its logs grow again', async () => {
  const before = lastTick(await agentLogs());
  const row = page.getByTestId(`container-${NAME}`);
  await row.getByRole('button', { name: `Unpause ${NAME}`, exact: true }).click();
  await badge(row).filter({ hasText: 'running' }).waitFor();
  await row.getByRole('button', { name: `Pause ${NAME}`, exact: true }).waitFor();

  await page.goto(containerUrl);
  await badge().filter({ hasText: 'running' }).waitFor();
  await logsUntil((text) => lastTick(text) >= before + 3, `ticks after tick-${before}`);
  await page.getByRole('tab', { name: 'Shell' }).click();
  assert.equal(await page.getByRole('button', { name: 'Exec a new shell' }).isEnabled(), true);
});

test('a pause and an unpause made through the agent show on open pages by themselves', async () => {
  const list = await page.context().newPage();
  await list.goto(`${stack.dashboard.url}/containers`);
  const row = list.getByTestId(`container-${NAME}`);
  await badge(row).filter({ hasText: 'running' }).waitFor();

  const paused = await ok(client, 'container:pause', { container: NAME });
  assert.equal(paused.container.paused, true);
  await badge().filter({ hasText: 'paused' }).waitFor();
  await page.getByRole('button', { name: `Unpause ${NAME}`, exact: true }).waitFor();
  await badge(row).filter({ hasText: 'paused' }).waitFor();
  await screenshot(list, 'pause-03-paused-by-the-agent');

  await ok(client, 'container:unpause', { container: NAME });
  await badge().filter({ hasText: 'running' }).waitFor();
  await page.getByRole('button', { name: `Pause ${NAME}`, exact: true }).waitFor();
  await badge(row).filter({ hasText: 'running' }).waitFor();
  await list.close();
});

test("a stale page's Pause gets the agent's refusal next to the buttons; Stop ends a paused container", async () => {
  // A page that has not heard of a pause yet (its pushed events held back on the way)
  // still offers Pause: the agent's one line shows, as other actions' errors do.
  let holdEvents = false;
  const stale = await page.context().newPage();
  await stale.routeWebSocket(/\/socket\.io\//, (socket) => {
    const server = socket.connectToServer();
    server.onMessage((message) => {
      if (holdEvents && String(message).startsWith('42["event"')) return;
      socket.send(message);
    });
    socket.onMessage((message) => server.send(message));
  });
  await stale.goto(containerUrl);
  await badge(stale.locator('.page-head')).filter({ hasText: 'running' }).waitFor();
  holdEvents = true;
  await ok(client, 'container:pause', { container: NAME });
  await stale.getByRole('button', { name: `Pause ${NAME}`, exact: true }).click();
  await stale
    .locator('.actions [role="alert"]')
    .getByText(`container ${NAME} is already paused`, { exact: true })
    .waitFor();
  await screenshot(stale, 'pause-04-refused');
  holdEvents = false;

  await stale.getByRole('button', { name: `Stop ${NAME}`, exact: true }).click();
  await badge(stale.locator('.page-head')).filter({ hasText: 'stopped' }).waitFor();
  await badge().filter({ hasText: 'stopped' }).waitFor();
  const { container } = await ok(client, 'container:inspect', { container: NAME });
  assert.equal(container.exitCode, 0, 'the stop thawed it and its SIGTERM trap ran');
  assert.equal(container.paused, false);
  assert.equal(
    await page.getByRole('button', { name: `Pause ${NAME}`, exact: true }).isDisabled(),
    true,
  );
  await stale.close();
});
