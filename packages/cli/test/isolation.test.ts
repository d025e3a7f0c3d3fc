import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, describe, test } from 'node:test';
import { CliRoot, lines, waitFor } from './helpers.js';

const world = new CliRoot();
after(() => world.cleanup());

/** A shell script in a fresh busybox container, to its end. */
const shell = (script: string) => world.run(['run', '--rm', 'busybox', 'sh', '-c', script]);

describe('what a container gets (real containers, busybox image)', () => {
  test('the command is PID 1 and ps sees only the container', async () => {
    const result = await shell('echo $$; ps -o pid,comm; exit 0');
    assert.equal(result.code, 0, result.stderr);
    const [pid, header, ...processes] = lines(result.stdout);
    assert.equal(pid, '1');
    assert.match(header ?? '', /PID/);
    const table = processes.map((line) => line.trim().split(/\s+/));
    assert.equal(table.length, 2, `only sh and ps are visible: ${processes.join(' | ')}`);
    assert.deepEqual(table[0], ['1', 'sh']);
    assert.equal(table[1]?.[1], 'ps');
  });

  test("--pid container:NAME sees (only) that container's processes and its own, exec included; it ends with that container; one not running is refused", async () => {
    const main = await world.run(['run', '-d', '--name', 'pidmain', 'busybox', 'sleep', '60']);
    assert.equal(main.code, 0, main.stderr);
    const seen = await world.run([
      'run',
      '--rm',
      '--pid',
      'container:pidmain',
      'busybox',
      'ps',
      '-o',
      'pid,args',
    ]);
    assert.equal(seen.code, 0, seen.stderr);
    const table = lines(seen.stdout)
      .slice(1)
      .map((line) => line.trim().replace(/\s+/, ' '));
    assert.equal(table[0], '1 sleep 60', seen.stdout);
    assert.equal(table.length, 2, `only pidmain's sleep and this ps: ${seen.stdout}`);
    const sidecar = await world.run([
      'run',
      '-d',
      '--pid',
      'container:pidmain',
      'busybox',
      'sleep',
      '60',
    ]);
    assert.equal(sidecar.code, 0, sidecar.stderr);
    const fromExec = await world.run(['exec', sidecar.stdout.trim(), 'ps', '-o', 'args']);
    assert.match(fromExec.stdout, /^sleep 60\nsleep 60\nps -o args\n$/m);
    // Its PID namespace's first process ended: the kernel ends every other one in it.
    await world.run(['rm', '-f', 'pidmain']);
    const ended = await waitFor('the sidecar to end with it', async () => {
      const shown = await world.run(['inspect', sidecar.stdout.trim()]);
      const [view] = JSON.parse(shown.stdout) as { status: string; signal: number | null }[];
      return view?.status === 'exited' ? view : undefined;
    });
    assert.equal(ended.signal, 9);
    await world.run(['rm', sidecar.stdout.trim()]);
    const refused = await world.run([
      'run',
      '--rm',
      '--pid',
      'container:pidmain',
      'busybox',
      'true',
    ]);
    assert.equal(refused.code, 125);
    assert.match(refused.stderr, /^tocker: no such container: pidmain\n$/);
    const malformed = await world.run(['run', '--rm', '--pid', 'host', 'busybox', 'true']);
    assert.equal(
      malformed.stderr,
      "tocker: pid: container:NAME (another running container's processes)\n",
    );
  });

  test('hostname: the short id by default, --hostname when given, never the host', async () => {
    const byDefault = await world.run(['run', '--rm', 'busybox', 'hostname']);
    assert.match(byDefault.stdout.trim(), /^[0-9a-f]{12}$/);
    assert.notEqual(byDefault.stdout.trim(), hostname());
    const named = await world.run([
      'run',
      '--rm',
      '--hostname',
      'box-1',
      'busybox',
      'cat',
      '/proc/sys/kernel/hostname',
    ]);
    assert.equal(named.stdout.trim(), 'box-1');
  });

  test('--network none: only lo, and it is up', async () => {
    const result = await world.run([
      'run',
      '--rm',
      '--network',
      'none',
      'busybox',
      'ip',
      '-o',
      'link',
    ]);
    const links = lines(result.stdout);
    assert.equal(links.length, 1, result.stdout);
    assert.match(links[0] ?? '', /^1: lo: <LOOPBACK,UP/);
  });

  test('host paths are invisible and /proc/1/root is the container root', async () => {
    const result = await shell(
      `ls ${world.root} 2>&1; ls /work 2>&1; readlink /proc/1/root; ls /proc/1/root/`,
    );
    assert.match(result.stdout, new RegExp(`${world.root}: No such file or directory`));
    assert.match(result.stdout, /\/work: No such file or directory/);
    const output = lines(result.stdout);
    assert.ok(output.includes('/'), 'readlink /proc/1/root is /');
    assert.ok(
      output.includes('bin') && !output.includes('work'),
      'the root holds the image, not the host',
    );
  });

  test('mounts: /proc nosuid,nodev,noexec; /sys read-only; /dev a tmpfs with devices and devpts', async () => {
    const result = await shell(
      'grep -E " /(proc|sys|dev|dev/pts|dev/shm) " /proc/mounts; ls /dev; echo x > /dev/null && head -c 4 /dev/zero | wc -c',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^proc \/proc proc rw,nosuid,nodev,noexec/m);
    assert.match(result.stdout, /^sysfs \/sys sysfs ro,/m);
    assert.match(result.stdout, /^tmpfs \/dev tmpfs rw,nosuid/m);
    assert.match(result.stdout, /^devpts \/dev\/pts devpts rw,nosuid,noexec.*ptmxmode=666/m);
    assert.match(result.stdout, /^shm \/dev\/shm tmpfs rw,nosuid,nodev,noexec/m);
    for (const device of [
      'null',
      'zero',
      'full',
      'random',
      'urandom',
      'tty',
      'ptmx',
      'pts',
      'shm',
    ]) {
      assert.ok(lines(result.stdout).includes(device), `/dev/${device} exists`);
    }
    assert.equal(lines(result.stdout).at(-1)?.trim(), '4');
  });

  test('argv is passed exactly: spaces, quotes, globs and empty arguments survive', async () => {
    const args = ['a b', '"quoted"', "it's", '*', '', '$HOME', 'tab\there'];
    const result = await world.run([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'for a in "$@"; do printf "[%s]\\n" "$a"; done',
      'sh',
      ...args,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout.split('\n').slice(0, -1),
      args.map((arg) => `[${arg}]`),
    );
  });

  test('environment: PATH, HOME, HOSTNAME and -e, never the host environment', async () => {
    const result = await world.run(
      [
        'run',
        '--rm',
        '-e',
        'GREETING=hello world',
        '-e',
        'EMPTY=',
        '--hostname',
        'envbox',
        'busybox',
        'env',
      ],
      {
        env: { ...world.env, SECRET_OF_THE_HOST: 'leaked' },
      },
    );
    const env = new Map(
      lines(result.stdout).map((line) => [
        line.slice(0, line.indexOf('=')),
        line.slice(line.indexOf('=') + 1),
      ]),
    );
    assert.equal(env.get('GREETING'), 'hello world');
    assert.equal(env.get('EMPTY'), '');
    assert.equal(env.get('HOSTNAME'), 'envbox');
    assert.equal(env.get('HOME'), '/root');
    assert.match(env.get('PATH') ?? '', /\/usr\/bin/);
    assert.equal(env.get('SECRET_OF_THE_HOST'), undefined);
    assert.equal(env.get('TOCKER_ROOT'), undefined);
  });

  test('-w sets (and creates) the working directory', async () => {
    const result = await world.run(['run', '--rm', '-w', '/srv/app', 'busybox', 'pwd']);
    assert.equal(result.stdout.trim(), '/srv/app');
  });

  test("exit status: the command's exit code", async () => {
    assert.equal((await shell('exit 42')).code, 42);
    assert.equal((await world.run(['run', '--rm', 'busybox', 'true'])).code, 0);
    assert.equal((await world.run(['run', '--rm', 'busybox', 'false'])).code, 1);
  });

  test('exit status: 128+N when the command is killed by signal N', async () => {
    // As PID 1, sh ignores signals it has no handler for; under --init it is not PID 1.
    assert.equal(
      (await world.run(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -TERM $$; sleep 5']))
        .code,
      143,
    );
    assert.equal(
      (await world.run(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -USR1 $$; sleep 5']))
        .code,
      138,
    );
  });
});
