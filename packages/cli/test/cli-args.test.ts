import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMemorySize } from '@tocker/protocol';
import { parseSignal, TockerError } from '@tocker/runtime';
import { parseRunArgs } from '../src/run.js';

function specOf(args: string[]) {
  const parsed = parseRunArgs(args);
  assert.notEqual(parsed, 'help');
  if (parsed === 'help') throw new Error('unreachable');
  return parsed;
}

describe('tocker run flags (parsed into the one validated spec)', () => {
  test("gocker's own invocation: -it -cpus=1 -m=100 -rootfs=/tmp/busybox /bin/sh", () => {
    const { spec, detach } = specOf([
      '-it',
      '-cpus=1',
      '-m=100',
      '-rootfs=/tmp/busybox',
      '/bin/sh',
    ]);
    assert.equal(detach, false);
    assert.equal(spec.tty, true);
    assert.equal(spec.interactive, true);
    assert.equal(spec.limits.cpus, 1);
    assert.equal(spec.limits.memory, 100 * 1024 * 1024, 'a bare -m number is MiB');
    assert.equal(spec.rootfs, '/tmp/busybox');
    assert.deepEqual(spec.command, ['/bin/sh']);
  });

  test('docker spellings: --memory=64m, -m 1g, --cpus 0.25, -e K=V (repeatable), --rm, -dit style groups', () => {
    const { spec } = specOf([
      '--memory=64m',
      '--cpus',
      '0.25',
      '-e',
      'A=1',
      '--env=B=two=2',
      '--rm',
      '--name',
      'web',
      '-w',
      '/srv',
      '--pids-limit=50',
      '--init',
      '-u',
      'nobody:nogroup',
      '--entrypoint',
      '/bin/echo',
      'alpine:3.20',
      'hi',
    ]);
    assert.equal(spec.limits.memory, 64 * 1024 * 1024);
    assert.equal(spec.limits.cpus, 0.25);
    assert.equal(spec.limits.pidsLimit, 50);
    assert.deepEqual(spec.env, { A: '1', B: 'two=2' });
    assert.equal(spec.autoRemove, true);
    assert.equal(spec.init, true);
    assert.equal(spec.name, 'web');
    assert.equal(spec.workdir, '/srv');
    assert.deepEqual([spec.image, spec.rootfs], ['alpine:3.20', undefined]);
    assert.deepEqual(
      [spec.user, spec.entrypoint, spec.command],
      ['nobody:nogroup', ['/bin/echo'], ['hi']],
    );
    assert.deepEqual(
      specOf(['--entrypoint=', 'busybox']).spec.entrypoint,
      [],
      '"" is no entrypoint',
    );
    assert.deepEqual(specOf(['busybox']).spec.command, [], "the image's own command");
    assert.equal(specOf(['-m', '1g', 'busybox', 'sh']).spec.limits.memory, 1024 ** 3);
    assert.equal(specOf(['-m512m', 'busybox', 'sh']).spec.limits.memory, 512 * 1024 * 1024);
  });

  test("parsing stops at the command: the command's own flags are its own", () => {
    const { spec } = specOf(['--rm', 'busybox', 'sh', '-c', 'ls -l --color', '-m', '5']);
    assert.deepEqual(spec.command, ['sh', '-c', 'ls -l --color', '-m', '5']);
    assert.deepEqual(specOf(['--rootfs', '/srv/tree', '--', '-weird-program', 'x']).spec.command, [
      '-weird-program',
      'x',
    ]);
  });

  test('-e NAME passes the variable through from the caller, as docker does', () => {
    process.env.TOCKER_TEST_PASSED = 'yes';
    assert.deepEqual(
      specOf(['-e', 'TOCKER_TEST_PASSED', '-e', 'TOCKER_TEST_UNSET_VARIABLE', 'busybox', 'env'])
        .spec.env,
      {
        TOCKER_TEST_PASSED: 'yes',
      },
    );
  });

  test('boolean flags take =true/=false, and reject other values', () => {
    assert.equal(specOf(['--rm=false', 'busybox', 'sh']).spec.autoRemove, false);
    assert.throws(() => parseRunArgs(['--rm=maybe', 'sh']), TockerError);
  });

  test('--help', () => {
    assert.equal(parseRunArgs(['--help']), 'help');
  });
});

describe('units and signals', () => {
  test('memory sizes: docker units, bare numbers in MiB, b for bytes', () => {
    assert.equal(parseMemorySize('64m'), 64 * 1024 ** 2);
    assert.equal(parseMemorySize('64MiB'), 64 * 1024 ** 2);
    assert.equal(parseMemorySize('64mb'), 64 * 1024 ** 2);
    assert.equal(parseMemorySize('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseMemorySize('512k'), 512 * 1024);
    assert.equal(parseMemorySize('104857600b'), 104857600);
    assert.equal(parseMemorySize('100'), 100 * 1024 ** 2);
    for (const bad of ['', 'abc', '-1m', '1x', '1 m b c', '0x10'])
      assert.equal(parseMemorySize(bad), undefined, bad);
  });

  test('signals by name, SIG-prefixed name or number', () => {
    assert.equal(parseSignal('TERM'), 15);
    assert.equal(parseSignal('sigusr1'), 10);
    assert.equal(parseSignal('9'), 9);
    assert.throws(() => parseSignal('0'), TockerError);
    assert.throws(() => parseSignal('NOPE'), TockerError);
  });
});
