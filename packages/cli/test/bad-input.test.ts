import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CliRoot, image, lines } from './helpers.js';

const world = new CliRoot();
after(() => world.cleanup());

/** One clear line on stderr, the given status, nothing on stdout, nothing left behind. */
async function rejects(
  args: string[],
  status: number,
  message: RegExp,
  options: { uid?: number } = {},
): Promise<void> {
  const result = await world.run(
    args,
    options.uid === undefined ? {} : { uid: options.uid, gid: options.uid },
  );
  assert.equal(result.code, status, `exit status of tocker ${args.join(' ')}: ${result.stderr}`);
  assert.equal(lines(result.stderr).length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, /^tocker: /);
  assert.match(result.stderr, message);
  assert.equal(result.stdout, '');
  await world.check();
  assert.deepEqual(
    lines((await world.run(['ps', '-a'])).stdout).slice(1),
    [],
    'no container was recorded',
  );
}

describe('bad input: one clear line, a non-zero exit, nothing left behind', () => {
  test('rootfs missing', () =>
    rejects(
      ['run', '--rootfs', '/nonexistent/rootfs', 'true'],
      125,
      /rootfs \/nonexistent\/rootfs does not exist/,
    ));

  test('rootfs not a directory', () => {
    const file = join(world.root, 'not-a-dir');
    writeFileSync(file, '');
    return rejects(['run', '--rootfs', file, 'true'], 125, /is not a directory/);
  });

  test('rootfs not absolute', () =>
    rejects(['run', '--rootfs', 'relative/dir', 'true'], 125, /rootfs must be an absolute path/));

  test('command not found in the rootfs: 127, naming the command', () =>
    rejects(
      ['run', 'busybox', 'no-such-program', 'arg'],
      127,
      /no-such-program: executable file not found/,
    ));

  test('command not executable: 126', () =>
    rejects(['run', 'busybox', '/etc/passwd'], 126, /\/etc\/passwd: permission denied/));

  test('no image', () => rejects(['run', '--rm'], 125, /needs an image \(or --rootfs DIR\)/));
  test('no command for a directory', () =>
    rejects(['run', '--rm', '--rootfs', image], 125, /command is required/));
  test('an image neither in the store nor at its registry (one on loopback that is not there)', async () => {
    const result = await world.run(['run', '--rm', '127.0.0.1:2/nothing-here', 'true']);
    assert.equal(result.code, 125);
    assert.equal(result.stdout, '');
    // As docker: what it tried, then one line of why it could not.
    assert.deepEqual(lines(result.stderr), [
      "Unable to find image '127.0.0.1:2/nothing-here' locally",
      'Pulling 127.0.0.1:2/nothing-here',
      'tocker: registry 127.0.0.1:2: connect ECONNREFUSED 127.0.0.1:2',
    ]);
  });

  test('not running as root', () => rejects(['ps'], 125, /must run as root/, { uid: 65534 }));

  for (const [flag, value, message] of [
    ['--cpus', '-1', /cpus: must be at least 0\.01/],
    ['--cpus', '0', /cpus: must be at least 0\.01/],
    ['--cpus', 'lots', /cpus: "lots" is not a number/],
    ['--cpus', String(availableParallelism() + 1), /more than the \d+ CPUs of this host/],
    ['--memory', '-5m', /memory: "-5m" is not a size/],
    ['--memory', '0', /memory: must be at least 6 MiB/],
    ['--memory', 'abc', /memory: "abc" is not a size/],
    ['--memory', '5m', /memory: must be at least 6 MiB \(got 5m\)/],
    ['--memory', '1000b', /memory: must be at least 6 MiB/],
    ['--pids-limit', '0', /pids-limit: must be a whole number of at least 1/],
    ['--pids-limit', '-3', /pids-limit: must be a whole number/],
    ['--pids-limit', '2.5', /pids-limit: must be a whole number/],
  ] as const) {
    test(`${flag} ${value}`, () => rejects(['run', flag, value, 'busybox', 'true'], 125, message));
  }

  test('unknown flag', () =>
    rejects(['run', '--frobnicate', 'busybox', 'true'], 125, /unknown flag: --frobnicate/));
  test('unknown short flag in a group', () =>
    rejects(['run', '-itx', 'busybox', 'sh'], 125, /unknown flag: -x in -itx/));
  test('flag without its value', () =>
    rejects(['run', '--memory'], 125, /flag needs an argument: --memory/));
  test('unknown command', () => rejects(['launch', 'true'], 125, /unknown command: launch/));
  test('invalid name', () =>
    rejects(['run', '--name', '../etc', 'busybox', 'true'], 125, /name: use 1-63 letters/));
  test('invalid hostname', () =>
    rejects(
      ['run', '--hostname', 'bad host', 'busybox', 'true'],
      125,
      /hostname: not a valid host name/,
    ));
  test('-d with -t', () => rejects(['run', '-d', '-t', 'busybox', 'sh'], 125, /-d with -t/));
  test('invalid signal', () =>
    rejects(['kill', '-s', 'SIGNOPE', 'x'], 125, /invalid signal: SIGNOPE/));
  test('unknown container', () => rejects(['stop', 'ghost'], 1, /no such container: ghost/));
  test('container reference with path tricks', () =>
    rejects(['inspect', '../../etc'], 1, /no such container: \.\.\/\.\.\/etc/));
});
