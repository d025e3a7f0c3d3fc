import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { connect, ok } from '../apps/agent/test/helpers.js';
import { overflowsSideways, Stack, screenshot } from './stack.js';

/**
 * The dashboard's Networks page in a real browser, against a real agent making real
 * bridges: create (a bad name refused in the page, an overlapping subnet refused by the
 * agent, both at their field), a container launched onto it from the form listed as a
 * member link, removal refused while it is there, the list following the container's
 * removal by itself, then removal and prune. One shared page, a screenshot per step
 * (e2e/artifacts). Nothing here leaves loopback: the containers only run `true`.
 */
const stack = new Stack();
let page: Page;
let agent: Socket;

/** Subnets of this run's own, outside the ones picked by default (172.17-31, 10.200-247). */
const second = 248 + (process.pid % 6);
const third = (process.pid >> 3) % 250;
const SUBNET = `10.${second}.${third}.0/24`;
const UNUSED_SUBNET = `10.${second}.${third + 1}.0/24`;
const GATEWAY = `10.${second}.${third}.1`;

let bridge = '';
let containerId = '';

before(async () => {
  await stack.start();
  agent = await connect(stack.agent.url);
  page = await stack.signedInPage();
});
afterEach(async (context) => {
  const name = context.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  if (page && !page.isClosed())
    await screenshot(page, `networks-end-${name}`).catch(() => undefined);
});
after(async () => {
  agent?.close();
  await stack.close();
});

const form = () => page.getByRole('form', { name: 'Create a network' });
const row = (name: string) => page.getByTestId(`network-${name}`);

/** Answers every confirmation; what they asked, in order. */
function acceptDialogs(tab: Page): string[] {
  const asked: string[] = [];
  tab.on('dialog', (dialog) => {
    asked.push(dialog.message());
    void dialog.accept();
  });
  return asked;
}

test('the Networks page is in the navigation; a bad name is refused in the page, nothing is sent', async () => {
  await page.goto(`${stack.dashboard.url}/containers`);
  await page.getByRole('link', { name: 'Networks', exact: true }).click();
  await page.getByRole('heading', { name: 'Networks', level: 1 }).waitFor();
  assert.equal(
    await page.getByRole('link', { name: 'Networks', exact: true }).getAttribute('aria-current'),
    'page',
  );
  await form().getByLabel('Network name').fill('../escape');
  await form().getByRole('button', { name: 'Create network' }).click();
  await form().getByText('Letters, digits, _ . - (at most 63)').waitFor();
  assert.equal(await form().getByLabel('Network name').getAttribute('aria-invalid'), 'true');
  assert.equal((await ok(agent, 'network:list', {})).networks.length, 0);
  await screenshot(page, 'networks-01-bad-name');
});

test('created from the form on a subnet: listed with its subnet, gateway and bridge, no containers', async () => {
  await form().getByLabel('Network name').fill('e2e-net');
  await form().getByLabel('Subnet').fill(SUBNET);
  await form().getByRole('button', { name: 'Create network' }).click();
  const created = row('e2e-net');
  await created.locator('td[data-label="Subnet"]').getByText(SUBNET, { exact: true }).waitFor();
  assert.equal(await created.locator('td[data-label="Gateway"]').textContent(), GATEWAY);
  bridge = (await created.locator('td[data-label="Bridge"]').textContent()) ?? '';
  assert.match(bridge, /^tk-[0-9a-f]{12}$/);
  assert.ok(existsSync(`/sys/class/net/${bridge}`), `the bridge ${bridge} is on the host`);
  assert.equal(await created.locator('td[data-label="Containers"]').textContent(), 'none');
  assert.equal(await form().getByLabel('Network name').inputValue(), '', 'the form is reset');
  await screenshot(page, 'networks-02-created');
});

test("an overlapping subnet is refused by the agent, at the form's Subnet field", async () => {
  const wider = `10.${second}.0.0/16`;
  await form().getByLabel('Network name').fill('e2e-clash');
  await form().getByLabel('Subnet').fill(wider);
  await form().getByRole('button', { name: 'Create network' }).click();
  const subnet = form().getByLabel('Subnet');
  await form()
    .getByText(`Subnet ${wider} overlaps ${SUBNET} (the host's route on ${bridge})`)
    .waitFor();
  assert.equal(await subnet.getAttribute('aria-invalid'), 'true');
  assert.equal(await form().getByLabel('Network name').getAttribute('aria-invalid'), 'false');
  assert.equal(await row('e2e-clash').count(), 0);
  assert.deepEqual(
    (await ok(agent, 'network:list', {})).networks.map((network) => network.name),
    ['e2e-net'],
  );
  await screenshot(page, 'networks-03-overlap-refused');
});

test("a container launched onto it from the form's network select is a member, linked to its page", async () => {
  await page.getByRole('link', { name: 'Launch', exact: true }).click();
  await page.getByLabel('Network', { exact: true }).selectOption('e2e-net');
  await page.getByLabel('Name', { exact: true }).fill('e2e-on-net');
  await page.getByLabel('Command').fill('true');
  await page.getByLabel('Terminal (tty), for a console').uncheck();
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.waitForURL(/\/containers\/\d+\/[0-9a-f]{64}$/);
  containerId = page.url().split('/').pop() ?? '';

  await page.getByRole('link', { name: 'Networks', exact: true }).click();
  const member = row('e2e-net').getByRole('link', { name: 'e2e-on-net' });
  await member.waitFor();
  await screenshot(page, 'networks-04-member');
  await member.click();
  await page.waitForURL(new RegExp(`/containers/\\d+/${containerId}$`));
  await page.getByRole('heading', { name: 'e2e-on-net' }).waitFor();
});

test('removal is asked first and refused while the container is on it; the list follows its removal by itself; then removed with its bridge', async () => {
  await page.getByRole('link', { name: 'Networks', exact: true }).click();
  const network = row('e2e-net');
  await network.getByRole('link', { name: 'e2e-on-net' }).waitFor();
  const asked = acceptDialogs(page);
  try {
    await network.getByRole('button', { name: 'Remove network e2e-net' }).click();
    await network
      .getByRole('alert')
      .getByText(
        `network e2e-net has container ${containerId.slice(0, 12)} on it: remove that first`,
      )
      .waitFor();
    assert.match(asked[0] ?? '', /^Remove the network e2e-net and its bridge tk-/);
    assert.ok(existsSync(`/sys/class/net/${bridge}`));
    await screenshot(page, 'networks-05-remove-refused');

    // Removed elsewhere (the agent's own API): the page learns it from the agent's events.
    await ok(agent, 'container:remove', { container: containerId, force: true });
    await network.locator('td[data-label="Containers"]').getByText('none').waitFor();

    await network.getByRole('button', { name: 'Remove network e2e-net' }).click();
    await network.waitFor({ state: 'detached' });
    assert.equal(asked.length, 2);
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false, 'its bridge is gone');
    await screenshot(page, 'networks-06-removed');
  } finally {
    page.removeAllListeners('dialog');
  }
});

test('prune removes the networks no container is on, and says which', async () => {
  await form().getByLabel('Network name').fill('e2e-unused');
  await form().getByLabel('Subnet').fill(UNUSED_SUBNET);
  await form().getByRole('button', { name: 'Create network' }).click();
  await row('e2e-unused').waitFor();
  const asked = acceptDialogs(page);
  try {
    const list = page.getByRole('region', { name: 'On the agent' });
    await list.getByRole('button', { name: 'Prune' }).click();
    await list.getByRole('status').getByText('Removed e2e-unused.').waitFor();
    await row('e2e-unused').waitFor({ state: 'detached' });
    assert.match(asked[0] ?? '', /^Remove every network that no container is on/);
    assert.deepEqual((await ok(agent, 'network:list', {})).networks, []);
    await list.getByRole('button', { name: 'Prune' }).click();
    await list.getByRole('status').getByText('No unused network.').waitFor();
    await screenshot(page, 'networks-07-pruned');
  } finally {
    page.removeAllListeners('dialog');
  }
});

test('a phone (390 px): the Networks page with a member and a refusal does not scroll sideways', async () => {
  await ok(agent, 'network:create', { name: 'e2e-phone', subnet: SUBNET });
  const { container } = await ok(agent, 'container:run', {
    spec: { image: 'busybox', command: ['true'], network: 'e2e-phone', name: 'e2e-phone-member' },
  });
  const phone = await stack.signedInPage(390, 844);
  try {
    await phone.goto(`${stack.dashboard.url}/networks`);
    const network = phone.getByTestId('network-e2e-phone');
    await network.getByRole('link', { name: 'e2e-phone-member' }).waitFor();
    acceptDialogs(phone);
    await network.getByRole('button', { name: 'Remove network e2e-phone' }).click();
    await network
      .getByRole('alert')
      .getByText(/has container [0-9a-f]{12} on it/)
      .waitFor();
    await screenshot(phone, 'networks-phone');
    assert.equal(await overflowsSideways(phone), false, '/networks scrolls sideways');
  } finally {
    await phone.context().close();
    await ok(agent, 'container:remove', { container: container.id, force: true });
    await ok(agent, 'network:remove', { name: 'e2e-phone' });
  }
});

test('nothing any page did was refused by its Content-Security-Policy, or missing', () => {
  assert.deepEqual(stack.policyViolations, []);
  assert.deepEqual(stack.missing, []);
});
