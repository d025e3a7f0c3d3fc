import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CliRoot, lines } from './helpers.js';

const world = new CliRoot({ name: 'volumes' });
after(() => world.cleanup());

async function inside(flags: readonly string[], script: string, image = 'busybox') {
  return world.run(['run', '--rm', ...flags, image, 'sh', '-c', script]);
}

describe('mounts: host paths, named volumes, tmpfs and a read-only root (real containers)', () => {
  test('-v /host:/ctr binds a host directory, read-write or :ro; a host file too', async () => {
    const host = join(world.root, 'shared');
    mkdirSync(host);
    writeFileSync(join(host, 'in'), 'from the host\n');
    const written = await inside(
      ['-v', `${host}:/data`],
      'cat /data/in; echo from the container > /data/out',
    );
    assert.equal(written.stdout, 'from the host\n');
    assert.equal(readFileSync(join(host, 'out'), 'utf8'), 'from the container\n');
    const readOnly = await inside(
      ['-v', `${host}:/data:ro`],
      '{ echo x > /data/out2; } 2>&1; echo $?',
    );
    assert.match(readOnly.stdout, /Read-only file system\n1\n$/);
    const file = await inside(['-v', `${join(host, 'in')}:/etc/motd:ro`], 'cat /etc/motd');
    assert.equal(file.stdout, 'from the host\n');
  });

  test("a named volume is made on first use, filled from the image's content there, and outlives its containers", async () => {
    await world.loadImage(
      'seeded:1',
      [
        [
          { path: 'srv/seed/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 },
          {
            path: 'srv/seed/config',
            type: 'file',
            mode: 0o640,
            uid: 1000,
            gid: 1000,
            body: Buffer.from('seeded\n'),
          },
          { path: 'srv/seed/link', type: 'symlink', linkname: '/etc/passwd' },
        ],
      ],
      {},
    );

    const first = await inside(
      ['-v', 'data:/srv/seed'],
      'cat /srv/seed/config; stat -c "%u:%g %a" /srv/seed/config; readlink /srv/seed/link; echo more > /srv/seed/added',
      'seeded:1',
    );
    assert.equal(first.stderr, '');
    assert.equal(first.stdout, 'seeded\n1000:1000 640\n/etc/passwd\n');
    const second = await inside(
      ['-v', 'data:/srv/seed'],
      'ls /srv/seed | sort | tr "\\n" " "',
      'seeded:1',
    );
    assert.equal(second.stdout, 'added config link ', 'the same volume, not filled again');
    const elsewhere = await inside(['-v', 'data:/mnt'], 'cat /mnt/added');
    assert.equal(elsewhere.stdout, 'more\n', 'in another image too');
  });

  test('a mount target is never reached through a symlink of the image', async () => {
    await world.loadImage('trap:1', [[{ path: 'data', type: 'symlink', linkname: '/etc' }]], {});
    const refused = await world.run(['run', '--rm', '-v', 'trapped:/data', 'trap:1', 'true']);
    assert.equal(refused.code, 125);
    assert.equal(refused.stderr, 'tocker: /data: a symlink in the image, not a directory\n');
  });

  test('--tmpfs with a size and mode; --read-only makes the root unwritable, its mounts stay writable', async () => {
    const tmpfs = await inside(
      ['--tmpfs', '/scratch:size=1m,mode=0700'],
      'stat -c %a /scratch; dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/dev/null; wc -c < /scratch/big',
    );
    assert.equal(tmpfs.stdout, '700\n1048576\n', 'a 1 MiB tmpfs takes 1 MiB of 2');
    const readOnly = await inside(
      ['--read-only', '--tmpfs', '/tmp'],
      'touch /x 2>&1; touch /tmp/x && echo tmp-ok',
    );
    assert.match(readOnly.stdout, /Read-only file system\ntmp-ok\n$/);
  });

  test('tocker volume: create, ls, inspect; rm refused while a container has it; prune', async () => {
    assert.equal((await world.run(['volume', 'create', 'made'])).stdout, 'made\n');
    assert.deepEqual(lines((await world.run(['volume', 'ls', '-q'])).stdout).sort(), [
      'data',
      'made',
      'trapped',
    ]);
    const [made] = JSON.parse((await world.run(['volume', 'inspect', 'made'])).stdout);
    assert.equal(made.Mountpoint, join(world.root, 'volumes', 'made', '_data'));
    const id = (
      await world.run(['run', '-d', '--name', 'holder', '-v', 'made:/m', 'busybox', 'sleep', '60'])
    ).stdout.trim();
    const refused = await world.run(['volume', 'rm', 'made']);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      'tocker: volume made is in use by container holder: remove it first\n',
    );
    await world.run(['rm', '-f', id]);
    assert.deepEqual(lines((await world.run(['volume', 'prune'])).stdout).sort(), [
      'Deleted: data',
      'Deleted: made',
      'Deleted: trapped',
    ]);
    assert.deepEqual(lines((await world.run(['volume', 'ls', '-q'])).stdout), []);
    const bad = await world.run(['run', '--rm', '-v', 'nope', 'busybox', 'true']);
    assert.equal(
      bad.stderr,
      'tocker: -v nope: SOURCE:TARGET[:ro], SOURCE a host path or a volume name\n',
    );
  });
});
