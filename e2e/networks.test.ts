import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { call, connect, ok } from '../apps/agent/test/helpers.js';
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
/** A container's second network, and one removed behind the page's back. */
const BACK_SUBNET = `10.${second}.${third + 2}.0/24`;
const GONE_SUBNET = `10.${second}.${third + 3}.0/24`;

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

const launchForm = () => page.getByRole('form', { name: 'Launch a container' });
const connectForm = () => page.getByRole('form', { name: 'Connect to network' });
/** A line of the container page's network facts: its place on one network. */
const attachment = (network: string) =>
  page
    .getByTestId('network')
    .locator('.attachment')
    .filter({ hasText: ` on ${network}` });

/** Its IPv4 addresses as the container itself sees them, by interface. */
async function addressesInside(container: string): Promise<string[]> {
  const { output } = await ok(agent, 'container:exec', {
    container,
    command: ['ip', '-4', '-o', 'addr', 'show'],
  });
  return [...output.matchAll(/^\d+: (\S+)\s+inet (\S+)/gm)]
    .map(([, name, address]) => `${name} ${address}`)
    .filter((line) => !line.startsWith('lo '));
}

let multiId = '';
/** Its page: /containers/AGENT/ID, AGENT the dashboard's number for the agent. */
let multiUrl = '';

test('network aliases from the launch form: refused at their field on the default network, shown on the page on a network of ours', async () => {
  await ok(agent, 'network:create', { name: 'e2e-front', subnet: SUBNET });
  await ok(agent, 'network:create', { name: 'e2e-back', subnet: BACK_SUBNET });
  await page.goto(`${stack.dashboard.url}/launch`);
  await launchForm().getByLabel('Network', { exact: true }).selectOption('bridge');
  await launchForm().getByLabel('Name', { exact: true }).fill('e2e-multi');
  await launchForm().getByLabel('Command').fill('sleep 600');
  await launchForm().getByLabel('Terminal (tty), for a console').uncheck();
  const aliases = launchForm().getByLabel('Network aliases');
  await aliases.fill('e2e-alias');
  await launchForm().getByRole('button', { name: 'Launch', exact: true }).click();
  await launchForm()
    .getByRole('alert')
    .getByText("Network alias: only on a network of the user's (tocker network create)")
    .waitFor();
  assert.equal(await aliases.getAttribute('aria-invalid'), 'true');
  assert.equal(
    await launchForm().getByLabel('Network', { exact: true }).getAttribute('aria-invalid'),
    'false',
  );
  assert.deepEqual((await ok(agent, 'container:list', { all: true })).containers, []);
  await screenshot(page, 'networks-08-alias-refused');

  // A bad name is the schema's too, at the same field; the good ones go as they are typed.
  await aliases.fill('e2e-alias, ../up');
  await launchForm().getByLabel('Network', { exact: true }).selectOption('e2e-front');
  await launchForm().getByRole('button', { name: 'Launch', exact: true }).click();
  await launchForm().getByText('Network alias: letters, digits, _ . - (at most 63)').waitFor();
  assert.equal(await aliases.getAttribute('aria-invalid'), 'true');

  await aliases.fill('e2e-alias, e2e-www');
  await launchForm().getByRole('button', { name: 'Launch', exact: true }).click();
  await page.waitForURL(/\/containers\/\d+\/[0-9a-f]{64}$/);
  multiUrl = page.url();
  multiId = multiUrl.split('/').pop() ?? '';
  await attachment('e2e-front').waitFor();
  assert.match(
    (await attachment('e2e-front').textContent()) ?? '',
    new RegExp(
      `^10\\.${second}\\.${third}\\.\\d+/24 on e2e-front \\(also e2e-alias, e2e-www\\), gateway ${GATEWAY.replaceAll('.', '\\.')}, MAC `,
    ),
  );
  const { container } = await ok(agent, 'container:inspect', { container: multiId });
  assert.equal(container.network.mode, 'bridge');
  if (container.network.mode === 'bridge')
    assert.deepEqual(
      container.network.networks.map((each) => [each.network, each.aliases]),
      [['e2e-front', ['e2e-alias', 'e2e-www']]],
    );
  await screenshot(page, 'networks-09-aliases');
});

test('connected to a second network from its page: the new place shows with its address, inside the container too, and on the Networks page', async () => {
  const choice = connectForm().getByLabel('Network', { exact: true });
  assert.deepEqual(
    await choice.locator('option').allTextContents(),
    ['e2e-back'],
    'only the networks it is not on',
  );
  await connectForm().getByLabel('Aliases').fill('e2e-db');
  await connectForm().getByRole('button', { name: 'Connect to network' }).click();
  await attachment('e2e-back').waitFor();
  const line = (await attachment('e2e-back').textContent()) ?? '';
  const address = new RegExp(
    `^(10\\.${second}\\.${third + 2}\\.\\d+)/24 on e2e-back \\(also e2e-db\\)`,
  ).exec(line)?.[1];
  assert.ok(address, `the second network's place: ${line}`);
  assert.equal(await attachment('e2e-front').count(), 1, 'the first one stays');
  // On every network of the agent's now: nothing is left to join.
  await connectForm().waitFor({ state: 'detached' });
  const inside = await addressesInside(multiId);
  assert.ok(inside.includes(`eth1 ${address}/24`), `inside: ${inside.join('; ')}`);
  await screenshot(page, 'networks-10-connected');

  await page.getByRole('link', { name: 'Networks', exact: true }).click();
  await row('e2e-back').getByRole('link', { name: 'e2e-multi' }).waitFor();
  await row('e2e-front').getByRole('link', { name: 'e2e-multi' }).waitFor();
  await row('e2e-back').getByRole('link', { name: 'e2e-multi' }).click();
  await page.waitForURL(new RegExp(`/containers/\\d+/${multiId}$`));
  await attachment('e2e-back').waitFor();
});

test('a phone (390 px): the container page on two networks, with the control to join a third, does not scroll sideways', async () => {
  await ok(agent, 'network:create', { name: 'e2e-spare', subnet: GONE_SUBNET });
  const phone = await stack.signedInPage(390, 844);
  try {
    await phone.goto(multiUrl);
    const facts = phone.getByTestId('network');
    await facts.locator('.attachment').nth(1).waitFor();
    assert.equal(await facts.locator('.attachment').count(), 2);
    const control = phone.getByRole('form', { name: 'Connect to network' });
    await control.getByRole('option', { name: 'e2e-spare' }).waitFor({ state: 'attached' });
    await screenshot(phone, 'networks-phone-container');
    assert.equal(await overflowsSideways(phone), false, 'the container page scrolls sideways');
    const button = await control.getByRole('button', { name: 'Connect to network' }).boundingBox();
    assert.ok(button && button.x >= 0 && button.x + button.width <= 390, 'its button on screen');
  } finally {
    await phone.context().close();
    await ok(agent, 'network:remove', { name: 'e2e-spare' });
  }
});

test("a refused connect shows the agent's message at the control; a container on network none has no such control", async () => {
  await ok(agent, 'network:create', { name: 'e2e-gone', subnet: GONE_SUBNET });
  await page.reload();
  const choice = connectForm().getByLabel('Network', { exact: true });
  await choice.locator('option', { hasText: 'e2e-gone' }).waitFor({ state: 'attached' });
  // Removed behind the page's back: only the agent can tell.
  await ok(agent, 'network:remove', { name: 'e2e-gone' });
  await choice.selectOption('e2e-gone');
  await connectForm().getByRole('button', { name: 'Connect to network' }).click();
  await connectForm()
    .getByRole('alert')
    .getByText('no network e2e-gone', { exact: true })
    .waitFor();
  assert.equal(await page.getByTestId('network').locator('.attachment').count(), 2);
  await screenshot(page, 'networks-11-connect-refused');

  const { container } = await ok(agent, 'container:run', {
    spec: { image: 'busybox', command: ['sleep', '600'], network: 'none', name: 'e2e-alone' },
  });
  try {
    await page.goto(multiUrl.replace(multiId, container.id));
    await page.getByRole('heading', { name: 'e2e-alone' }).waitFor();
    await page.getByText('none (only lo)').waitFor();
    assert.equal(await connectForm().count(), 0);
    // The agent refuses it too, in a line of its own.
    const refused = await call(agent, 'network:connect', {
      network: 'e2e-back',
      container: 'e2e-alone',
    });
    assert.equal(
      refused.error,
      'container e2e-alone is on network mode none: it has no networks of its own',
    );
  } finally {
    await ok(agent, 'container:remove', { container: container.id, force: true });
  }
});

test('disconnected from its page: asked first, then its place there is gone, inside the container and on the Networks page too', async () => {
  await page.goto(multiUrl);
  await attachment('e2e-back').waitFor();
  const asked = acceptDialogs(page);
  try {
    await attachment('e2e-back').getByRole('button', { name: 'Disconnect from e2e-back' }).click();
    await attachment('e2e-back').waitFor({ state: 'detached' });
    assert.match(
      asked[0] ?? '',
      new RegExp(
        `^Disconnect e2e-multi from the network e2e-back\\? Its address 10\\.${second}\\.${third + 2}\\.\\d+ there is given back\\.$`,
      ),
    );
    assert.equal(asked.length, 1);
    assert.equal(await attachment('e2e-front').count(), 1);
    // It can join again: the network is offered once more.
    await connectForm()
      .getByLabel('Network', { exact: true })
      .locator('option', { hasText: 'e2e-back' })
      .waitFor({ state: 'attached' });
    const inside = await addressesInside(multiId);
    assert.deepEqual(
      inside.map((line) => line.split(' ')[0]),
      ['eth0'],
      `inside: ${inside.join('; ')}`,
    );
    await screenshot(page, 'networks-12-disconnected');

    await page.getByRole('link', { name: 'Networks', exact: true }).click();
    await row('e2e-front').getByRole('link', { name: 'e2e-multi' }).waitFor();
    assert.equal(
      await row('e2e-back').locator('td[data-label="Containers"]').textContent(),
      'none',
    );
  } finally {
    page.removeAllListeners('dialog');
    await ok(agent, 'container:remove', { container: multiId, force: true });
    await ok(agent, 'network:remove', { name: 'e2e-front' });
    await ok(agent, 'network:remove', { name: 'e2e-back' });
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
