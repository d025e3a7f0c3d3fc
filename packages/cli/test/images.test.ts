import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { diffIds, dockerArchive, gzip, imageConfig, layerTar } from '../../images/test/fixtures.js';
import { CliRoot, image, lines } from './helpers.js';

const world = new CliRoot({ name: 'images' });
after(() => world.cleanup());

describe('image commands through the CLI (a real store under TOCKER_ROOT)', () => {
  test('import, images, tag, image inspect, load, rmi and prune, as docker prints them', async () => {
    const tarball = join(world.root, 'rootfs.tar.gz');
    execFileSync('tar', ['-C', image, '--numeric-owner', '-czf', tarball, '.']);
    const imported = await world.run([
      'import',
      '-c',
      'CMD ["sh"]',
      '-c',
      'ENV GREETING=hi',
      tarball,
      'toolbox',
    ]);
    assert.equal(imported.stderr, '');
    assert.match(imported.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal((await world.run(['tag', 'toolbox', 'localhost:5000/team/toolbox:1.0'])).code, 0);

    const listed = lines((await world.run(['images'])).stdout);
    assert.match(listed[0] ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    const id = imported.stdout.slice(7, 19);
    assert.deepEqual(
      listed
        .slice(1)
        .filter((line) => !line.startsWith('busybox '))
        .map((line) => line.split(/\s+/).slice(0, 3))
        .sort(),
      [
        ['localhost:5000/team/toolbox', '1.0', id],
        ['toolbox', 'latest', id],
      ],
    );
    const [inspected] = JSON.parse((await world.run(['image', 'inspect', 'toolbox'])).stdout);
    assert.deepEqual(inspected.Config, { Cmd: ['sh'], Env: ['GREETING=hi'] });
    assert.deepEqual(inspected.RepoTags.sort(), [
      'localhost:5000/team/toolbox:1.0',
      'toolbox:latest',
    ]);

    const layer = layerTar([{ path: 'hello', type: 'file', body: Buffer.from('hi') }]);
    const archive = join(world.root, 'saved.tar');
    writeFileSync(
      archive,
      dockerArchive({
        layers: [gzip(layer)],
        config: imageConfig({ cmd: ['cat', '/hello'] }, diffIds([layer])),
        repoTags: ['hello:v1'],
      }),
    );
    const loaded = await world.run(['load', '-i', archive]);
    assert.equal(loaded.stdout, 'Loaded image: hello:v1\n');

    assert.equal((await world.run(['rmi', 'toolbox'])).stdout, 'Untagged: toolbox:latest\n');
    const gone = await world.run(['rmi', 'localhost:5000/team/toolbox:1.0', 'hello:v1']);
    assert.match(
      gone.stdout,
      /^Untagged: localhost:5000\/team\/toolbox:1\.0\nDeleted: sha256:[0-9a-f]{64}\nUntagged: hello:v1\nDeleted: sha256:[0-9a-f]{64}\n$/,
    );
    assert.deepEqual(
      lines((await world.run(['images'])).stdout)
        .slice(1)
        .map((line) => line.split(/\s+/)[0]),
      ['busybox'],
      "what was left: the test world's busybox",
    );
    assert.equal(
      (await world.run(['image', 'prune'])).stdout,
      'Removed 0 layers and 0 blobs\n',
      'rmi already collected',
    );
  });

  test('what cannot be done is one line and a non-zero exit', async () => {
    for (const [args, message] of [
      [['rmi', 'nothing-here'], /^tocker: no image nothing-here\n$/],
      [['tag', 'nothing-here', 'other'], /^tocker: no image nothing-here\n$/],
      [['tag', 'Upper/Case'], /needs 2 argument/],
      [['load'], /^tocker: tocker load needs -i FILE\n$/],
      [
        ['load', '-i', join(world.root, 'missing.tar')],
        /^tocker: \/.*missing\.tar: no such file or directory\n$/,
      ],
      [
        ['import', join(world.root, 'missing.tar'), 'x'],
        /^tocker: \/.*missing\.tar: no such file or directory\n$/,
      ],
      [['import', '-c', 'RUN rm -rf /', 'x.tar', 'x'], /CMD, ENTRYPOINT, ENV, WORKDIR or USER/],
      [['image', 'inspect', 'UPPER'], /image reference "UPPER": a repository is lowercase/],
      [['-H', 'http://127.0.0.1:1', 'images'], /this machine's images only/],
    ] as const) {
      const result = await world.run(args);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(lines(result.stderr).length, 1, `${args.join(' ')}: ${result.stderr}`);
    }
  });
  test('save writes an OCI archive that skopeo reads and load takes back, layers and names whole', async () => {
    const archive = join(world.root, 'saved-oci.tar');
    assert.equal((await world.run(['save', '-o', archive, 'busybox'])).code, 0);
    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci-archive:${archive}:latest`], { encoding: 'utf8' }),
    );
    const [before] = JSON.parse((await world.run(['image', 'inspect', 'busybox'])).stdout);
    assert.deepEqual(inspected.Layers.length, before.RootFS.Layers.length);
    assert.equal((await world.run(['rmi', 'busybox'])).code, 0);
    assert.equal(
      (await world.run(['load', '-i', archive])).stdout,
      'Loaded image: busybox:latest\n',
    );
    const [after] = JSON.parse((await world.run(['image', 'inspect', 'busybox'])).stdout);
    assert.deepEqual([after.Id, after.RepoDigests], [before.Id, before.RepoDigests]);
    assert.equal((await world.run(['run', '--rm', 'busybox', 'echo', 'back'])).stdout, 'back\n');
  });
});
