import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { DEFAULT_IMAGE, shortDigest } from '@tocker/protocol';
import type { Page } from 'playwright-core';
import {
  diffIds,
  digestOf,
  gzip,
  imageConfig,
  layerTar,
  writeOciLayout,
} from '../packages/images/test/fixtures.js';
import { FakeRegistry } from '../packages/images/test/registry.js';
import { scratchDir } from '../packages/runtime/test/scratch.js';
import { overflowsSideways, Stack, screenshot } from './stack.js';

/**
 * The dashboard's images and volumes in a real browser, against a real agent that pulls
 * from a registry on loopback: pull with live progress, launch from the form with a
 * volume, the image and its digest where the container and its run are shown, removal
 * refused while in use and then forced, prunes. One shared page, a screenshot per step
 * (e2e/artifacts).
 */
const stack = new Stack();
let page: Page;
let registry: FakeRegistry;
const layouts = scratchDir('e2e-layouts');

/** A layer of random bytes is as large gzipped: its download takes as many chunks. */
const FILLER_BYTES = 512 * 1024;
/** Where a held layer's download stops until the test lets it go on. */
const HELD_AT_BYTES = 192 * 1024;

interface AppImage {
  readonly reference: string;
  /** The manifest's digest: what the image is known by once pulled. */
  readonly digest: string;
  /** The layer of its own (the other, busybox's, the two versions share). */
  readonly ownLayer: string;
  /** Holds the download of its own layer part way, until `release`. */
  hold(): { release: () => void };
}

/**
 * `team/app:VERSION` on the fake registry: busybox, and a layer with a greeting and
 * random filler, whose command writes into /data (a volume) and prints what it finds.
 */
function serveApp(base: Buffer, version: string): AppImage {
  const own = gzip(
    layerTar([
      { path: 'app/', type: 'directory', mode: 0o755 },
      {
        path: 'app/hello',
        type: 'file',
        mode: 0o644,
        body: Buffer.from(`hello from app ${version}\n`),
      },
      {
        path: 'app/filler',
        type: 'file',
        mode: 0o644,
        body: execFileSync('head', ['-c', String(FILLER_BYTES), '/dev/urandom']),
      },
    ]),
  );
  const dir = join(layouts, version);
  const manifest = writeOciLayout(dir, {
    layers: [base, own],
    config: imageConfig(
      { cmd: ['sh', '-c', 'cat /app/hello; echo "kept in $(ls -d /data)"'] },
      diffIds([base, own]),
    ),
  });
  registry.serveLayout('team/app', version, dir);
  const ownLayer = digestOf(own);
  return {
    reference: `${registry.host}/team/app:${version}`,
    digest: manifest.digest,
    ownLayer,
    hold() {
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      // Cut after the bytes held: the agent resumes where it stopped (Range), as after a
      // dropped connection, once the gate opens.
      registry.serve(`/v2/team/app/blobs/${ownLayer}`, {
        headers: { 'content-type': 'application/octet-stream' },
        body: own,
        ranges: true,
        interruption: { afterBytes: HELD_AT_BYTES, times: 1, before: () => gate },
      });
      return { release };
    },
  };
}

let v1: AppImage;
let v2: AppImage;

before(async () => {
  await stack.start();
  registry = await FakeRegistry.start();
  const base = gzip(
    execFileSync('tar', ['-C', DEFAULT_IMAGE, '--numeric-owner', '-cf', '-', '.'], {
      maxBuffer: 64 << 20,
    }),
  );
  v1 = serveApp(base, '1.0');
  v2 = serveApp(base, '2.0');
  page = await stack.signedInPage();
});
afterEach(async (context) => {
  const name = context.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
  if (page && !page.isClosed()) await screenshot(page, `images-end-${name}`).catch(() => undefined);
});
after(async () => {
  await registry?.stop();
  await stack.close();
  rmSync(layouts, { recursive: true, force: true });
});

/** A pull as the page shows it. */
const pullOf = (tab: Page, reference: string) =>
  tab.getByRole('region', { name: `Pull of ${reference}` });

/** The bar of a layer: what has arrived of it, of how much. */
async function bar(tab: Page, layer: string): Promise<{ value: number; max: number }> {
  return tab
    .getByRole('progressbar', { name: `layer ${shortDigest(layer)}` })
    .evaluate((element: HTMLProgressElement) => ({ value: element.value, max: element.max }));
}

test('a malformed reference is refused at the field, and nothing is pulled', async () => {
  await page.goto(`${stack.dashboard.url}/images`);
  await page.getByRole('heading', { name: 'Images' }).waitFor();
  await page.getByLabel('Image reference').fill('UPPER/Case');
  await page.getByRole('button', { name: 'Pull', exact: true }).click();
  await page.getByText(/a repository is lowercase letters/).waitFor();
  assert.equal(await page.getByLabel('Image reference').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByTestId('pull').count(), 0);
  await screenshot(page, 'images-01-malformed-reference');
});

test('a pull shows each layer live, in this tab and another (open before, and opened during it); the image is then listed', async () => {
  const other = await stack.signedInPage();
  await other.goto(`${stack.dashboard.url}/images`);
  await other.getByRole('heading', { name: 'On the agent' }).waitFor();
  const held = v1.hold();
  try {
    await page.getByLabel('Image reference').fill(v1.reference);
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    const pull = pullOf(page, v1.reference);
    await pull.getByText('Pull complete').waitFor(); // busybox's layer
    const own = pull.getByTestId(`layer-${shortDigest(v1.ownLayer)}`);
    await own.getByText(/^Downloading [\d.]+ KiB\/[\d.]+ KiB$/).waitFor();
    const progress = await bar(page, v1.ownLayer);
    assert.ok(
      progress.value > 0 && progress.value < progress.max,
      `part way: ${JSON.stringify(progress)}`,
    );
    assert.equal(await page.getByRole('button', { name: 'Pulling…' }).count(), 1);
    await screenshot(page, 'images-02-pull-progress');
    // Another tab follows it by the agent's pushes, and one opened now from the list.
    await pullOf(other, v1.reference)
      .getByText(/^Downloading /)
      .waitFor();
    await other.reload();
    await pullOf(other, v1.reference)
      .getByText(/^Downloading /)
      .waitFor();
    await screenshot(other, 'images-03-pull-in-another-tab');
  } finally {
    held.release();
  }
  await pullOf(page, v1.reference).waitFor({ state: 'detached' });
  await page.getByRole('status').getByText(`Pulled ${v1.reference}`).waitFor();
  const row = page.getByTestId(`image-${v1.reference}`);
  await row.getByText(v1.reference).waitFor();
  assert.equal(await row.locator('td[data-label="Layers"]').textContent(), '2');
  assert.match((await row.locator('td[data-label="Size"]').textContent()) ?? '', /MiB$/);
  assert.equal(await row.locator('td[data-label="Used by"]').textContent(), 'none');
  await other.getByTestId(`image-${v1.reference}`).waitFor();
  await other.context().close();
  await screenshot(page, 'images-04-pulled');
});

test("launch from the form: the image's command as placeholder, a bad mount target refused at its row, then with a volume; its output and its image with digest on the container page", async () => {
  await page.getByRole('link', { name: 'Launch', exact: true }).click();
  const image = page.getByLabel('Image', { exact: true });
  await image.fill(v1.reference);
  const command = page.getByLabel('Command');
  await page.waitForFunction(
    (input) => input?.getAttribute('placeholder')?.startsWith('sh -c'),
    await command.elementHandle(),
  );
  await page.getByLabel('Name', { exact: true }).fill('e2e-app');
  await page.getByLabel('Terminal (tty), for a console').uncheck();
  await page.getByRole('button', { name: 'Add a mount' }).click();
  const mount = page.getByRole('group', { name: 'Mount 1' });
  await mount.getByLabel('Volume name').fill('e2e-data');
  await mount.getByLabel('Target').fill('data');
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await mount.getByText('Mount target must be an absolute path').waitFor();
  assert.equal(await mount.getByLabel('Target').getAttribute('aria-invalid'), 'true');
  assert.match(page.url(), /\/launch$/);
  await screenshot(page, 'images-05-launch-bad-mount');

  await mount.getByLabel('Target').fill('/data');
  await page.getByRole('button', { name: 'Launch', exact: true }).click();
  await page.waitForURL(/\/containers\/\d+\/[0-9a-f]{64}$/);
  await page.locator('#panel-logs pre').getByText('hello from app 1.0').waitFor();
  await page.locator('#panel-logs pre').getByText('kept in /data').waitFor();
  const root = page.getByTestId('root-source');
  assert.equal(await root.textContent(), `${v1.reference} @${shortDigest(v1.digest)}`);
  assert.equal(await root.getByTitle(v1.digest).count(), 1, 'the whole digest on hover');
  await screenshot(page, 'images-06-container-with-image');
});

test('the image and the volume name the container that uses them; removing the image is refused while it does, then forced; removing the volume is refused', async () => {
  await page.getByRole('link', { name: 'Images' }).click();
  const row = page.getByTestId(`image-${v1.reference}`);
  await row.getByRole('link', { name: 'e2e-app' }).waitFor();
  const volume = page.getByTestId('volume-e2e-data');
  await volume.getByRole('link', { name: 'e2e-app' }).waitFor();

  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.accept();
  });
  await row.getByRole('button', { name: `Remove image ${v1.reference}` }).click();
  await row.getByText(/is used by container e2e-app: remove it first/).waitFor();
  assert.match(dialogs[0] ?? '', /^Remove the image /);
  await screenshot(page, 'images-07-remove-refused');
  await row.getByRole('button', { name: `Force remove image ${v1.reference}` }).click();
  await row.waitFor({ state: 'detached' });
  assert.match(dialogs[1] ?? '', /although it is used by e2e-app\?/);

  await volume.getByRole('button', { name: 'Remove volume e2e-data' }).click();
  await volume.getByText(/^volume e2e-data is in use by container e2e-app/).waitFor();
  page.removeAllListeners('dialog');
  await screenshot(page, 'images-08-volume-in-use');
});

test('launching an image the agent does not have pulls it first, with its progress in the form', async () => {
  await page.getByRole('link', { name: 'Launch', exact: true }).click();
  await page.getByLabel('Image', { exact: true }).fill(v2.reference);
  await page.getByLabel('Name', { exact: true }).fill('e2e-app2');
  await page.getByLabel('Terminal (tty), for a console').uncheck();
  const held = v2.hold();
  try {
    await page.getByRole('button', { name: 'Launch', exact: true }).click();
    const pull = pullOf(page, v2.reference);
    await pull.getByText('Pull complete').waitFor();
    await pull
      .getByTestId(`layer-${shortDigest(v2.ownLayer)}`)
      .getByText(/^Downloading /)
      .waitFor();
    await page.getByRole('button', { name: 'Pulling…' }).waitFor();
    await screenshot(page, 'images-09-launch-pulls-first');
  } finally {
    held.release();
  }
  await page.waitForURL(/\/containers\/\d+\/[0-9a-f]{64}$/);
  await page.locator('#panel-logs pre').getByText('hello from app 2.0').waitFor();
  assert.match(
    (await page.getByTestId('root-source').textContent()) ?? '',
    /team\/app:2\.0 @[0-9a-f]{12}$/,
  );
});

test('History shows the image each run was made from, with its digest', async () => {
  await page.getByRole('link', { name: 'History' }).click();
  const run = page.getByTestId('run-e2e-app');
  assert.equal(
    await run.getByTestId('root-source').textContent(),
    `${v1.reference} @${shortDigest(v1.digest)}`,
  );
  await run.getByRole('link', { name: 'e2e-app' }).click();
  await page.waitForURL(/\/history\/\d+$/);
  const root = page.getByTestId('root-source');
  await root.getByTitle(v1.digest).waitFor();
  assert.equal(await root.textContent(), `${v1.reference} @${shortDigest(v1.digest)}`);
  await screenshot(page, 'images-10-history-run');
});

test('once the container is gone, prune removes what only it used: its layer, and its volume', async () => {
  page.on('dialog', (dialog) => void dialog.accept());
  try {
    await page.getByRole('link', { name: 'Containers', exact: true }).click();
    await page.getByRole('button', { name: 'Remove e2e-app', exact: true }).click();
    await page.getByTestId('container-e2e-app').waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Images' }).click();
    await page.getByTestId(`image-${v2.reference}`).waitFor();
    const images = page.getByRole('region', { name: 'On the agent' });
    await images.getByRole('button', { name: 'Prune' }).click();
    await images
      .getByRole('status')
      .getByText(/^Removed \d+ layers? and \d+ blobs?\.$/)
      .waitFor();
    const volumes = page.getByRole('region', { name: 'Volumes' });
    await volumes.getByRole('button', { name: 'Prune volumes' }).click();
    await volumes.getByRole('status').getByText('Removed e2e-data.').waitFor();
    await page.getByTestId('volume-e2e-data').waitFor({ state: 'detached' });
    await screenshot(page, 'images-11-pruned');
  } finally {
    page.removeAllListeners('dialog');
  }
});

test('volumes: created from the page, a bad name refused at the field', async () => {
  const form = page.getByRole('form', { name: 'Create a volume' });
  await form.getByLabel('Volume name').fill('../escape');
  await form.getByRole('button', { name: 'Create volume' }).click();
  await form.getByText(/^A name of letters, digits/).waitFor();
  await form.getByLabel('Volume name').fill('e2e-made');
  await form.getByRole('button', { name: 'Create volume' }).click();
  await page.getByTestId('volume-e2e-made').getByText('none').waitFor();
});

test('a phone (390 px): the Images page, and the launch form with a mount, do not scroll sideways', async () => {
  const phone = await stack.signedInPage(390, 844);
  await phone.goto(`${stack.dashboard.url}/images`);
  await phone.getByTestId(`image-${v2.reference}`).waitFor();
  await screenshot(phone, 'images-phone');
  assert.equal(await overflowsSideways(phone), false, '/images scrolls sideways');
  await phone.getByRole('link', { name: 'Launch', exact: true }).click();
  await phone.getByRole('button', { name: 'Add a mount' }).click();
  await phone.getByRole('group', { name: 'Mount 1' }).waitFor();
  await screenshot(phone, 'images-phone-launch-mount');
  assert.equal(await overflowsSideways(phone), false, '/launch with a mount scrolls sideways');
  await phone.context().close();
});

test('nothing any page did was refused by its Content-Security-Policy, or missing', () => {
  assert.deepEqual(stack.policyViolations, []);
  assert.deepEqual(stack.missing, []);
});
