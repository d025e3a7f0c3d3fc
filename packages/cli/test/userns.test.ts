import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ContainerView } from '@tocker/protocol';
import { CliRoot, tockerBin, waitFor } from './helpers.js';
import { attackImage } from './probe/image.js';

const world = new CliRoot({ name: 'userns' });
const image = attackImage(join(world.root, 'attack-image'));
after(() => world.cleanup());

const USERNS = ['--userns=auto'];

/** What a shell in a fresh container with a user namespace of its own prints. */
async function inside(script: string, flags: string[] = USERNS): Promise<string> {
  const result = await world.run(['run', '--rm', '--rootfs', image, ...flags, 'sh', '-c', script]);
  assert.equal(result.stderr, '', script);
  assert.equal(result.code, 0, script);
  return result.stdout;
}

/** The attacker's verdicts, one line each, in one fresh container. */
async function attacks(probes: string[][], flags: string[]): Promise<string[]> {
  const script = probes.map((probe) => `/attack ${probe.join(' ')}`).join('; ');
  const result = await world.run([
    'run',
    '--rm',
    '--rootfs',
    image,
    ...USERNS,
    ...flags,
    'sh',
    '-c',
    script,
  ]);
  return result.stdout.trim().split('\n');
}

async function inspect(reference: string): Promise<ContainerView> {
  const result = await world.run(['inspect', reference]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout)[0];
}

async function detached(name: string): Promise<string> {
  const result = await world.run([
    'run',
    '-d',
    '--name',
    name,
    '--rootfs',
    image,
    ...USERNS,
    'sleep',
    '60',
  ]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

/** The first host uid of a container's range. */
async function rangeOf(reference: string): Promise<number> {
  const view = await inspect(reference);
  const uid = view.userNamespace?.uidMappings[0];
  const gid = view.userNamespace?.gidMappings[0];
  assert.ok(uid !== undefined && gid !== undefined, `${reference} has no user namespace`);
  assert.deepEqual({ ...uid }, { ...gid, hostID: gid.hostID }, 'the same range for uids and gids');
  assert.equal(uid.containerID, 0);
  assert.equal(uid.size, 65536);
  return uid.hostID;
}

function leases(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(world.root, 'userns', 'leases.json'), 'utf8'));
  } catch {
    return {};
  }
}

describe('user namespaces: --userns=auto (real containers, a static C probe inside)', () => {
  test("the container's root is root inside and a high range outside; the image's files are root's inside (idmapped layers)", async () => {
    const output = await inside(
      'cat /proc/self/uid_map /proc/self/gid_map; id; ls -ln /bin/busybox /etc/passwd /bin /etc /root',
    );
    const [uidMap, gidMap] = output.split('\n').map((line) => line.trim().split(/\s+/).map(Number));
    assert.equal(uidMap?.[0], 0);
    assert.ok((uidMap?.[1] ?? 0) >= 100000, `0 maps to a high host uid: ${output}`);
    assert.equal(uidMap?.[2], 65536);
    assert.deepEqual(gidMap, uidMap);
    assert.match(output, /^uid=0\(root\) gid=0\(root\)/m);
    // The layer's files are the host root's on disk: inside, they are root's, not nobody's.
    assert.match(output, /^-\S+\s+\d+\s+0\s+0\s+\d+ .* \/bin\/busybox$/m);
    assert.match(output, /^-\S+\s+\d+\s+0\s+0\s+\d+ .* \/etc\/passwd$/m);
    // (/proc and /sys, the kernel's, are nobody's: the host root's.)
    assert.doesNotMatch(output, /65534/, `nothing of the image is nobody's: ${output}`);
    assert.equal(statSync(join(image, 'bin', 'busybox')).uid, 0, 'the image itself is unchanged');
  });

  test("an image of several layers: whiteouts and opaque directories hold, a layer's other owners map into the range", async () => {
    const file = (path: string, text: string) =>
      ({ path, type: 'file', body: Buffer.from(text) }) as const;
    await world.loadImage(
      'layered:1',
      [
        [file('etc/motd', 'from the base\n'), file('var/cache/old', 'stale')],
        [
          { path: 'etc/.wh.motd', type: 'file' },
          { path: 'var/cache/.wh..wh..opq', type: 'file' },
          file('var/cache/new', 'fresh'),
          { path: 'home/app/', type: 'directory', mode: 0o755, uid: 1000, gid: 1000 },
        ],
      ],
      {},
    );
    const result = await world.run([
      'run',
      '--rm',
      ...USERNS,
      'layered:1',
      'sh',
      '-c',
      'ls /etc/motd 2>&1; ls /var/cache; stat -c "%u:%g" /home/app /bin/busybox; cat /proc/self/uid_map',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const [motd, cache, app, busybox, map] = result.stdout.trim().split('\n');
    assert.match(motd ?? '', /No such file/);
    assert.equal(cache, 'new', 'the opaque directory hides the lower one');
    assert.equal(app, '1000:1000');
    assert.equal(busybox, '0:0');
    assert.match(map ?? '', /^\s*0\s+\d{6,}\s+65536$/);
  });

  test("what it creates is its range's on the host: in its writable layer and in a host directory it is given", async () => {
    const shared = join(world.root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const id = (
      await world.run([
        'run',
        '-d',
        '--rootfs',
        image,
        ...USERNS,
        '-v',
        `${shared}:/shared`,
        '-v',
        'fresh:/fresh',
        'sh',
        '-c',
        'echo layer > /made-here && echo bind > /shared/made-there && echo volume > /fresh/made && ls -ln /made-here /shared/made-there /fresh/made',
      ])
    ).stdout.trim();
    await waitFor('it to end', async () =>
      (await inspect(id)).status === 'exited' ? true : undefined,
    );
    assert.equal((await inspect(id)).exitCode, 0, (await world.run(['logs', id])).stdout);
    const first = await rangeOf(id);
    const inLayer = statSync(join(world.root, 'containers', id, 'upper', 'made-here'));
    const inBind = statSync(join(shared, 'made-there'));
    // A named volume nobody used before is given to its first user's root (as podman's).
    const inVolume = statSync(join(world.root, 'volumes', 'fresh', '_data', 'made'));
    for (const made of [inLayer, inBind, inVolume]) {
      assert.equal(made.uid, first);
      assert.equal(made.gid, first);
    }
    // Inside, they are root's.
    const listed = (await world.run(['logs', id])).stdout;
    for (const name of ['made-here', 'made-there', 'made'])
      assert.match(listed, new RegExp(`^-\\S+\\s+\\d+\\s+0\\s+0\\s+\\d+ .*/${name}$`, 'm'));
    // A later container of another range (the first one still holds its own) finds it as
    // its owner left it: not its own.
    const other = await world.run([
      'run',
      '--rm',
      '--rootfs',
      image,
      ...USERNS,
      '-v',
      'fresh:/fresh',
      'touch',
      '/fresh/again',
    ]);
    assert.match(other.stderr, /Permission denied/);
    assert.equal((await world.run(['rm', id])).code, 0);
    assert.equal((await world.run(['volume', 'rm', 'fresh'])).code, 0);
  });

  test('a --rm container gives its range back as it ends, not at the next command', async () => {
    const before = leases();
    const map = await inside('cat /proc/self/uid_map');
    assert.notEqual(map.trim().split(/\s+/)[1], '0', `it had a range of its own: ${map}`);
    // No tocker command ran since (each one's collection gives back what is left).
    assert.deepEqual(leases(), before);
  });

  test("two containers get distinct ranges; a removed one's is handed out again only once it is given back, also after a SIGKILLed CLI", async () => {
    const a = await detached('range-a');
    const b = await detached('range-b');
    const [rangeA, rangeB] = [await rangeOf(a), await rangeOf(b)];
    assert.notEqual(rangeA, rangeB);
    assert.ok(Math.abs(rangeA - rangeB) >= 65536, 'the ranges do not overlap');
    assert.match((await world.run(['ps'])).stdout, new RegExp(`\\(userns ${rangeA}\\)`));
    // exec joins its user namespace: the same map.
    const exec = await world.run(['exec', a, 'cat', '/proc/self/uid_map']);
    assert.equal(exec.stdout.trim().split(/\s+/)[1], String(rangeA));
    assert.equal((await world.run(['rm', '-f', a])).code, 0);
    assert.ok(!Object.values(leases()).includes(a), 'rm gives its range back');
    const c = await detached('range-c');
    assert.equal(await rangeOf(c), rangeA, 'the range given back is the first free one again');

    // A foreground run whose CLI is SIGKILLed: its shim ends the container and removes it
    // (--rm) without the CLI; the next command gives its range back.
    const cli = spawn(
      tockerBin,
      ['run', '--rm', '--name', 'range-k', '--rootfs', image, ...USERNS, 'sleep', '60'],
      { env: world.env, stdio: 'ignore' },
    );
    const k = await waitFor('the foreground container to run', async () => {
      const found = await world.run(['inspect', 'range-k']);
      const view = found.code === 0 ? (JSON.parse(found.stdout)[0] as ContainerView) : null;
      return view?.status === 'running' ? view : undefined;
    });
    const rangeK = k.userNamespace?.uidMappings[0]?.hostID;
    assert.ok(rangeK !== undefined && ![rangeB, rangeA].includes(rangeK));
    cli.kill('SIGKILL');
    await waitFor('its removal', async () =>
      (await world.run(['inspect', 'range-k'])).code === 1 ? true : undefined,
    );
    // Its shim's concluder removes it; a command whose collection ran before that removal
    // (even one that then finds it gone) cannot have given its range back: the next does.
    assert.equal((await world.run(['ps'])).code, 0);
    assert.ok(!Object.values(leases()).includes(k.id), 'the next command gave its range back');
    const d = await detached('range-d');
    assert.equal(await rangeOf(d), rangeK);
    for (const id of [b, c, d]) assert.equal((await world.run(['rm', '-f', id])).code, 0);
    assert.deepEqual(leases(), {}, 'every range given back');
  });

  test('with CAP_SYS_ADMIN in its own user namespace, the host stays out of reach', async () => {
    const hostDir = join(world.root, 'host-owned');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'file'), "the host root's\n", { mode: 0o644 });
    const root = statSync('/').dev;
    const disk = `${Math.floor(root / 256) & 0xfff}:${(root & 0xff) | ((root >> 12) & 0xfff00)}`;
    const [
      mknodBlock,
      mknodNull,
      mountDisk,
      procView,
      writeHost,
      remount,
      writeAfterRemount,
      shadow,
      shadowRo,
      byHandle,
      unmask,
      timerList,
      corePattern,
      dropCaches,
    ] = await attacks(
      [
        ['mknod-open', 'b', disk],
        ['mknod-open', 'c', '1:3'],
        ['mount', '/hostdev/vda', '/tmp/disk', 'ext4'],
        ['proc-pids', '/tmp/proc'],
        ['write', '/host/file'],
        ['remount-rw', '/host-ro'],
        ['write', '/host-ro/file'],
        ['read', '/hostetc/shadow'],
        ['read', '/proc/1/root/../../../etc/shadow'],
        ['open-by-handle'],
        // Its own mounts are its to undo, masks included; the files behind are the host's.
        ['umount', '/proc/timer_list'],
        ['read', '/proc/timer_list'],
        // The fresh, unmasked proc: the host's kernel settings are still the host root's.
        ['write', '/tmp/proc/sys/kernel/core_pattern'],
        ['write', '/tmp/proc/sys/vm/drop_caches'],
      ],
      [
        '--cap-add',
        'SYS_ADMIN',
        '-v',
        '/dev:/hostdev:ro',
        '-v',
        `${hostDir}:/host`,
        '-v',
        `${hostDir}:/host-ro:ro`,
        '-v',
        '/etc:/hostetc:ro',
      ],
    );
    assert.equal(mknodBlock, 'mknod EPERM', "the host's disk cannot be made");
    assert.equal(mknodNull, 'mknod EPERM', 'no device node at all');
    // ext4 is no user-namespace filesystem, and the node is the host root's.
    assert.match(mountDisk ?? '', /^E(PERM|ACCES|NOENT)$/);
    // A new proc, if the kernel allows one, is its own PID namespace's, never the host's.
    assert.match(procView ?? '', /^(EPERM|pids [1-3])$/, `proc: ${procView}`);
    assert.equal(writeHost, 'EACCES', "the host root's file through a writable bind");
    // The read-only flag of a bind it was given is its own mount's (it may clear it), but the
    // file behind is still the host root's.
    assert.match(remount ?? '', /^(ok|EPERM)$/);
    assert.match(writeAfterRemount ?? '', /^E(ACCES|ROFS)$/);
    assert.equal(shadow, 'EACCES', "the host's /etc/shadow through a bind of /etc");
    assert.match(shadowRo ?? '', /^(ENOENT|EACCES)$/, 'nor through its own root');
    assert.equal(byHandle, 'EPERM');
    assert.match(unmask ?? '', /^(ok|EPERM)$/);
    assert.equal(timerList, 'EACCES');
    assert.equal(corePattern, 'EACCES');
    assert.equal(dropCaches, 'EACCES');
    assert.equal(readFileSync(join(hostDir, 'file'), 'utf8'), "the host root's\n");
  });

  test('combinations that cannot work are refused in one line; --userns=host and no flag are as before', async () => {
    await world.run(['run', '-d', '--name', 'plain', '--rootfs', image, 'sleep', '60']);
    for (const [flags, message] of [
      [['--privileged'], /--userns=auto cannot be combined with --privileged/],
      [['--network', 'host'], /--network host/],
      [['--network', 'container:plain'], /--network container:NAME/],
      [['--pid', 'container:plain'], /--pid container:NAME/],
      [['--device', '/dev/null'], /--device/],
    ] as const) {
      const result = await world.run([
        'run',
        '--rm',
        '--rootfs',
        image,
        ...USERNS,
        ...flags,
        'true',
      ]);
      assert.equal(result.code, 125, flags.join(' '));
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
    const bad = await world.run(['run', '--rm', '--rootfs', image, '--userns=private', 'true']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr.trim(), 'tocker: userns: auto or host');
    for (const flags of [[], ['--userns=host']]) {
      const output = await inside('cat /proc/self/uid_map; ls -ln /bin/busybox', flags);
      assert.match(output, /^\s*0\s+0\s+4294967295$/m, flags.join(' '));
    }
    assert.equal((await inspect('plain')).userNamespace, null);
    assert.doesNotMatch((await world.run(['ps'])).stdout, /userns/);
    assert.equal((await world.run(['rm', '-f', 'plain'])).code, 0);
    await world.check();
  });
});
