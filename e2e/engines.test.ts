import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { EngineRoot } from '../apps/agent/test/engine-root.js';
import { Stack, screenshot } from './stack.js';

/**
 * The containers other engines run through tocker-runtime, on the Containers page of a real
 * dashboard and agent: a section of their own that shows only while there are any, with
 * the engine's badge and the live status, and nothing to act with.
 */
const engines = new EngineRoot();
const stack = new Stack({ agentOptions: ['--engine-root', engines.root] });
const ID = `e2e-${process.pid}-podman`;
let page: Page;

const section = () => page.getByRole('region', { name: 'Other engines' });
const row = () => page.getByTestId(`engine-container-${ID}`);
/** The section is listed again every 5 s: a change shows within that. */
const SHOWS_WITHIN_MS = 15_000;

before(async () => {
  await stack.start();
  page = await stack.signedInPage();
});
afterEach(async (context) => {
  const name = context.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  if (page && !page.isClosed()) await screenshot(page, `engines-${name}`).catch(() => undefined);
});
after(async () => {
  await stack.close();
  engines.remove();
});

test('no engine container: no section', async () => {
  await page.goto(`${stack.dashboard.url}/containers`);
  await page.getByText('No containers.').waitFor();
  assert.equal(await section().count(), 0);
});

test("podman's container shows by itself with its engine and status, read-only; gone once deleted", async () => {
  engines.create(ID, 'podman');
  await row().waitFor({ timeout: SHOWS_WITHIN_MS });
  assert.equal(await row().locator('.badge').nth(0).textContent(), 'podman');
  assert.equal(await row().locator('.badge').nth(1).textContent(), 'created');
  assert.equal(await section().getByRole('button').count(), 0, 'no actions');

  engines.call('start', ID);
  await row().locator('.badge', { hasText: 'running' }).waitFor({ timeout: SHOWS_WITHIN_MS });
  await screenshot(page, 'engines-01-running');

  engines.call('delete', '--force', ID);
  await section().waitFor({ state: 'detached', timeout: SHOWS_WITHIN_MS });
});
