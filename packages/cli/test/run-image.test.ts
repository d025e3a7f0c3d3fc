import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TarWriteEntry } from '../../images/src/tar.js';
import { CliRoot, lines } from './helpers.js';

const world = new CliRoot({ name: 'run-image' });
after(() => world.cleanup());

const file = (path: string, text: string, mode = 0o644): TarWriteEntry => ({
  path,
  type: 'file',
  mode,
  body: Buffer.from(text),
});

async function output(args: readonly string[]): Promise<string> {
  const result = await world.run(['run', '--rm', ...args]);
  assert.equal(result.stderr, '', args.join(' '));
  assert.equal(result.code, 0, args.join(' '));
  return result.stdout;
}

describe('containers from images (layers stacked by overlayfs, the image configuration applied)', () => {
  before(async () => {
    await world.loadImage(
      'app:1',
      [
        [
          file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n'),
          file('etc/group', 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n'),
          file('etc/motd', 'hello from the base\n'),
          file('var/cache/old', 'stale'),
        ],
        [
          { path: 'etc/.wh.motd', type: 'file' },
          { path: 'var/cache/.wh..wh..opq', type: 'file' },
          file('var/cache/new', 'fresh'),
          { path: 'home/app/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 },
        ],
      ],
      {
        entrypoint: ['/bin/sh', '-c'],
        cmd: ['echo "$GREETING from $(pwd) as $(id -u):$(id -G) in $HOME"'],
        env: ['GREETING=hello', 'PATH=/bin:/sbin:/usr/bin'],
        workingDir: '/srv/app',
        user: 'app',
      },
    );
  });

  test("the image's entrypoint, command, environment, working directory and user, as docker applies them", async () => {
    assert.equal(await output(['app:1']), 'hello from /srv/app as 1000:1000 2000 in /home/app\n');
    assert.equal(await output(['app:1', 'echo given: $GREETING']), 'given: hello\n');
    assert.equal(
      await output(['-e', 'GREETING=hi', '-w', '/tmp', 'app:1', 'echo $GREETING $(pwd)']),
      'hi /tmp\n',
    );
    assert.equal(await output(['--entrypoint', '/bin/echo', 'app:1', 'plain']), 'plain\n');
    assert.equal(await output(['--entrypoint', '', 'app:1', 'id', '-u']), '1000\n');
    assert.equal(await output(['-u', '0', 'app:1', 'id -u; echo $HOME']), '0\n/root\n');
    assert.equal(await output(['-u', 'app:extra', 'app:1', 'id -u; id -g']), '1000\n2000\n');
    const unknown = await world.run(['run', '--rm', '-u', 'nobody', 'app:1']);
    assert.equal(unknown.code, 125);
    assert.equal(unknown.stderr, "tocker: user nobody: not in the image's /etc/passwd\n");
  });

  test("the image's user is no root inside: no capabilities, root's files stay root's", async () => {
    const status = await output([
      'app:1',
      'grep -E "^Cap(Prm|Eff)" /proc/self/status; { echo x >> /etc/passwd; } 2>&1; true',
    ]);
    assert.match(status, /^CapPrm:\s+0{16}\nCapEff:\s+0{16}\n/);
    assert.match(status, /Permission denied/);
    const root = await output(['-u', '0', 'app:1', 'grep ^CapEff /proc/self/status']);
    assert.doesNotMatch(root, /CapEff:\s+0{16}/, 'root keeps its (default) capabilities');
  });

  test('upper layers hide what whiteouts delete; writes go to the container, never to a layer', async () => {
    assert.equal(
      await output([
        '-u',
        '0',
        'app:1',
        'cat /etc/motd 2>&1; ls /var/cache; echo new > /var/cache/mine; ls /var/cache',
      ]),
      "cat: can't open '/etc/motd': No such file or directory\nnew\nmine\nnew\n",
    );
    const store = join(world.root, 'store', 'layers');
    for (const layer of readdirSync(store))
      assert.equal(
        existsSync(join(store, layer, 'root', 'var/cache/mine')),
        false,
        'no layer changed',
      );
  });

  test('an image of 70 layers runs (more than one page of mount options: one lowerdir+ per layer)', async () => {
    const many = Array.from({ length: 69 }, (_, index) => [file(`layers/${index}`, String(index))]);
    await world.loadImage('tall:1', many, { cmd: ['sh', '-c', 'ls /layers | wc -l'] });
    assert.equal((await output(['tall:1'])).trim(), '69');
  });

  test('an image used by a container is not removed without -f, and its layers stay while the container does', async () => {
    await world.loadImage('kept:1', [[file('kept', 'yes')]], { cmd: ['sleep', '60'] });
    const id = (await world.run(['run', '-d', '--name', 'user-of-kept', 'kept:1'])).stdout.trim();
    const refused = await world.run(['rmi', 'kept:1']);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'tocker: image kept:1 is used by container user-of-kept: remove it first, or use -f\n',
    );
    assert.equal((await world.run(['rmi', '-f', 'kept:1'])).code, 0);
    assert.equal((await world.run(['exec', id, 'cat', '/kept'])).stdout, 'yes');
    assert.equal((await world.run(['rm', '-f', id])).code, 0);
    assert.match((await world.run(['image', 'prune'])).stdout, /^Removed 1 layers/);
    assert.deepEqual(
      lines((await world.run(['images'])).stdout)
        .slice(1)
        .map((line) => line.split(/\s+/)[0])
        .sort(),
      ['app', 'busybox', 'tall'],
    );
  });
});
