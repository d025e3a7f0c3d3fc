import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { scratchDir } from '../../runtime/test/scratch.js';
import { importTarball, loadImages } from '../src/archive.js';
import { ImageStore } from '../src/store.js';
import {
  diffIds,
  digestOf,
  dockerArchive,
  gzip,
  imageConfig,
  layerTar,
  ociArchive,
  sha256Hex,
  writeOciLayout,
} from './fixtures.js';

const work = scratchDir('image-store');
after(() => rmSync(work, { recursive: true, force: true }));
let made = 0;
const fresh = (name: string) => {
  const dir = join(work, `${name}-${++made}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

const base = layerTar([
  { path: 'bin/', type: 'directory', mode: 0o755 },
  { path: 'bin/hello', type: 'file', mode: 0o755, body: Buffer.from('#!/bin/sh\necho hello\n') },
  { path: 'etc/motd', type: 'file', body: Buffer.from('welcome\n') },
  { path: 'var/cache/old', type: 'file', body: Buffer.from('stale') },
]);
const upper = layerTar([
  { path: 'etc/.wh.motd', type: 'file' },
  { path: 'var/cache/.wh..wh..opq', type: 'file' },
  { path: 'var/cache/new', type: 'file', body: Buffer.from('fresh') },
  { path: 'bin/hi', type: 'symlink', linkname: 'hello' },
  { path: 'bin/tool', type: 'file', mode: 0o755, body: Buffer.from('tool') },
  { path: 'bin/tool2', type: 'hardlink', linkname: 'bin/tool' },
  { path: 'dev/null', type: 'char-device', mode: 0o666, devmajor: 1, devminor: 3 },
]);
const layers = [gzip(base), upper];
const config = imageConfig({ cmd: ['/bin/hello'], env: ['PATH=/bin'] }, diffIds(layers));

/** What the image's layers look like merged by overlayfs, as a container will see them. */
function merged(store: ImageStore, reference: string, look: (root: string) => void): void {
  const image = store.resolve(reference);
  const mountPoint = fresh('merged');
  // overlayfs without an upper layer wants two lower ones at least: an empty one is added.
  const lower = [...image.layers.map((layer) => layer.dir).reverse(), fresh('empty')].join(':');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower}`, mountPoint]);
  try {
    look(mountPoint);
  } finally {
    execFileSync('umount', [mountPoint]);
  }
}

const leftovers = (store: ImageStore) => readdirSync(join(store.root, 'ingest'));

describe('the image store (real files, overlayfs as containers will mount it)', () => {
  test('an OCI layout: each layer checked and unpacked once, whiteouts and opaque directories hide what is below', async () => {
    const store = ImageStore.open(fresh('store'));
    const layout = fresh('layout');
    writeOciLayout(layout, { layers, config }, { tags: ['example.com/team/app:1.0'] });
    const [loaded] = await loadImages(store, layout);
    assert.deepEqual(loaded?.names, ['example.com/team/app:1.0']);
    const image = store.resolve('example.com/team/app:1.0');
    assert.deepEqual(
      image.layers.map((layer) => layer.diffId),
      diffIds(layers),
    );
    assert.deepEqual(image.config.config?.Cmd, ['/bin/hello']);
    assert.equal(
      store.resolve(image.id.slice(7, 19)).digest,
      image.digest,
      'found by its short id',
    );
    merged(store, 'example.com/team/app:1.0', (root) => {
      assert.equal(existsSync(join(root, 'etc/motd')), false, 'the whiteout hides motd');
      assert.deepEqual(
        readdirSync(join(root, 'var/cache')),
        ['new'],
        'the opaque directory hides old',
      );
      assert.equal(readFileSync(join(root, 'bin/hi'), 'utf8'), '#!/bin/sh\necho hello\n');
    });
    assert.deepEqual(leftovers(store), []);
  });

  test('a multi-platform index (docker manifest list with attestations): the image of this host', async () => {
    const store = ImageStore.open(fresh('store'));
    const platformLayer = (arch: string) =>
      layerTar([{ path: 'arch', type: 'file', body: Buffer.from(arch) }]);
    const images = ['arm64', 'amd64'].map((architecture) => {
      const tar = platformLayer(architecture);
      return { layers: [tar], config: { ...imageConfig({}, diffIds([tar])), architecture } };
    });
    const layout = fresh('layout');
    writeOciLayout(layout, images, { tags: ['localhost:5000/multi:latest'], mediaTypes: 'docker' });
    await loadImages(store, layout);
    merged(store, 'localhost:5000/multi', (root) => {
      assert.equal(readFileSync(join(root, 'arch'), 'utf8'), 'amd64');
    });
  });

  test('docker save and OCI archives; one layer of two images is stored once', async () => {
    const store = ImageStore.open(fresh('store'));
    const archive = join(work, `docker-${++made}.tar`);
    writeFileSync(archive, dockerArchive({ layers, config, repoTags: ['app:docker'] }));
    const layout = fresh('layout');
    const other = layerTar([{ path: 'other', type: 'file', body: Buffer.from('o') }]);
    writeOciLayout(
      layout,
      { layers: [gzip(base), other], config: imageConfig({}, diffIds([base, other])) },
      { tags: ['app:oci'] },
    );
    const ociFile = join(work, `oci-${++made}.tar.gz`);
    writeFileSync(ociFile, gzip(ociArchive(layout)));
    await loadImages(store, archive);
    await loadImages(store, ociFile);
    assert.deepEqual(
      store
        .list()
        .flatMap((image) => image.names)
        .sort(),
      ['docker.io/library/app:docker', 'docker.io/library/app:oci'],
    );
    assert.equal(readdirSync(join(store.root, 'layers')).length, 3, 'base, upper, other');
    assert.deepEqual(leftovers(store), []);
  });

  test('a layer whose content is not the diff id its image says, or a blob whose bytes are not its digest: refused, nothing stored', async () => {
    const store = ImageStore.open(fresh('store'));
    const lying = fresh('layout');
    writeOciLayout(
      lying,
      {
        layers,
        config: imageConfig({}, [diffIds(layers)[0] as string, `sha256:${'0'.repeat(64)}`]),
      },
      { tags: ['bad:diff'] },
    );
    await assert.rejects(
      loadImages(store, lying),
      /its content is sha256:[0-9a-f]{64}, the image says sha256:0{64}/,
    );

    const tampered = fresh('layout');
    writeOciLayout(tampered, { layers, config }, { tags: ['bad:blob'] });
    const blob = join(tampered, 'blobs', 'sha256', sha256Hex(upper));
    // The same length, inside a file's body: still a valid tar, only the digest can tell.
    writeFileSync(blob, Buffer.from(upper.toString('latin1').replace('fresh', 'FRESH'), 'latin1'));
    await assert.rejects(loadImages(store, tampered), /the bytes received are sha256:/);
    assert.deepEqual(store.list(), [], 'no image');
    assert.deepEqual(store.references(), {});
    assert.deepEqual(leftovers(store), [], 'no half-made layer or blob');
    assert.equal(
      readdirSync(join(store.root, 'layers')).filter(
        (hex) => `sha256:${hex}` !== diffIds(layers)[0],
      ).length,
      0,
      'only the base layer, which was whole and checked, is kept (for the next try)',
    );
  });

  test("an archive's names are only names: a manifest.json that links to the host is not read", async () => {
    const store = ImageStore.open(fresh('store'));
    const tree = fresh('hostile-archive');
    symlinkSync('/etc/shadow', join(tree, 'manifest.json'));
    await assert.rejects(loadImages(store, tree), (error: Error) => {
      assert.match(error.message, /manifest\.json/);
      assert.doesNotMatch(error.message, /root:/, 'nothing of the host file in the message');
      return true;
    });
  });

  test('import: a root filesystem tarball (gzip, zstd or plain) is a one-layer image; the same content is one layer', async () => {
    const store = ImageStore.open(fresh('store'));
    const zstd = execFileSync('zstd', ['-q', '-c'], { input: base });
    async function* from(bytes: Buffer) {
      yield bytes;
    }
    const plain = await importTarball(store, from(base), 'rootfs:plain', { Cmd: ['sh'] });
    const zipped = await importTarball(store, from(gzip(base)), 'rootfs:gzip', {});
    const zstded = await importTarball(store, from(zstd), 'rootfs:zstd', {});
    assert.deepEqual(
      [plain.layers[0]?.diffId, zipped.layers[0]?.diffId, zstded.layers[0]?.diffId],
      [digestOf(base), digestOf(base), digestOf(base)],
    );
    assert.equal(readdirSync(join(store.root, 'layers')).length, 1);
    assert.deepEqual(plain.config.config?.Cmd, ['sh']);
    assert.deepEqual(
      [zipped, zstded].map((image) => image.manifest.layers[0]?.mediaType),
      [
        'application/vnd.oci.image.layer.v1.tar+gzip',
        'application/vnd.oci.image.layer.v1.tar+zstd',
      ],
    );
  });

  test('removing names: an image goes with its last name, and a layer with the last image that has it', async () => {
    const store = ImageStore.open(fresh('store'));
    const layout = fresh('layout');
    writeOciLayout(layout, { layers, config }, { tags: ['one:1', 'one:2'] });
    await loadImages(store, layout);
    async function* from(bytes: Buffer) {
      yield bytes;
    }
    await importTarball(store, from(base), 'two', {});
    assert.deepEqual(store.untag(['docker.io/library/one:1']), [], 'one:2 still names it');
    const [orphan] = store.untag(['docker.io/library/one:2']);
    assert.match(orphan ?? '', /^sha256:/);
    const removed = store.collect();
    assert.equal(removed.layers, 1, "upper goes; base stays, two's");
    assert.deepEqual(readdirSync(join(store.root, 'layers')), [digestOf(base).slice(7)]);
    assert.equal(store.hasBlob(orphan as string), false);
    store.untag(['docker.io/library/two:latest']);
    store.collect();
    assert.deepEqual(readdirSync(join(store.root, 'layers')), []);
    assert.deepEqual(readdirSync(join(store.root, 'blobs', 'sha256')), []);
  });
});
