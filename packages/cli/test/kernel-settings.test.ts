import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { CliRoot, lines } from './helpers.js';

const world = new CliRoot({ name: 'kernel' });
after(() => world.cleanup());

/** A refusal: one line, exit 125, and no container left of it. */
async function refused(args: readonly string[], message: string): Promise<void> {
  const result = await world.run(['run', '--rm', ...args, 'busybox', 'true']);
  assert.equal(result.code, 125, result.stdout);
  assert.equal(result.stderr, `tocker: ${message}\n`);
  assert.deepEqual(lines((await world.run(['ps', '-a', '-q'])).stdout), []);
}

describe('process limits, kernel parameters and the OOM score (real containers)', () => {
  test("--ulimit sets the container's soft and hard limits, exec'd processes' too; the container cannot raise its hard limit; a bad one is one line", async () => {
    const shown = await world.run([
      'run',
      '--rm',
      '--ulimit',
      'nofile=512:1024',
      '--ulimit',
      'nproc=100',
      'busybox',
      'sh',
      '-c',
      'ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hn 2048 2>/dev/null && echo raised || echo refused',
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, '512\n1024\n100\nrefused\n');
    const id = (
      await world.run(['run', '-d', '--ulimit', 'core=0', 'busybox', 'sleep', '30'])
    ).stdout.trim();
    const limits = await world.run(['exec', id, 'cat', '/proc/self/limits']);
    assert.match(limits.stdout, /^Max core file size\s+0\s+0\s+bytes/m);
    await world.run(['rm', '-f', id]);
    // Above tocker's own hard limit needs CAP_SYS_RESOURCE, which this VM gives even root
    // no longer: then the refusal names it; where root has it, the limit is raised.
    const hard = Number(
      /^Max open files\s+\d+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1],
    );
    const bounding = /^CapBnd:\s+([0-9a-f]+)$/m.exec(
      readFileSync('/proc/self/status', 'utf8'),
    )?.[1];
    const canRaise = (BigInt(`0x${bounding}`) >> 24n) & 1n;
    if (canRaise === 1n) {
      const raised = await world.run([
        'run',
        '--rm',
        '--ulimit',
        `nofile=${hard + 1}`,
        'busybox',
        'sh',
        '-c',
        'ulimit -Hn',
      ]);
      assert.equal(raised.stdout, `${hard + 1}\n`, raised.stderr);
    } else {
      await refused(
        ['--ulimit', `nofile=${hard + 1}`],
        `ulimit nofile: above the hard limit tocker itself has (${hard}): raising it needs CAP_SYS_RESOURCE`,
      );
    }
    await refused(
      ['--ulimit', 'nofile=2:1'],
      '--ulimit nofile=2:1: ulimit nofile: the soft limit is above the hard one',
    );
    await refused(
      ['--ulimit', 'files=2'],
      '--ulimit files=2: ulimit: one of as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack',
    );
    await refused(
      ['--ulimit', 'nofile'],
      '--ulimit nofile: not NAME=SOFT[:HARD], e.g. nofile=1024:4096 (as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)',
    );
  });

  test("--sysctl sets parameters of the container's own namespaces, the host's untouched; a host parameter, a shared network's, or a name that is a path is refused", async () => {
    const hostPorts = readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8');
    const hostShm = readFileSync('/proc/sys/kernel/shmmni', 'utf8');
    const shown = await world.run([
      'run',
      '--rm',
      '--sysctl',
      'net.ipv4.ip_unprivileged_port_start=80',
      '--sysctl',
      'kernel.shmmni=1000',
      'busybox',
      'sh',
      '-c',
      'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni; echo 1 > /proc/sys/kernel/shmmni 2>/dev/null && echo changed || echo read-only',
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, '80\n1000\nread-only\n');
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'), hostPorts);
    assert.equal(readFileSync('/proc/sys/kernel/shmmni', 'utf8'), hostShm);
    await refused(
      ['--sysctl', 'kernel.core_pattern=|/tmp/x'],
      "sysctl kernel.core_pattern: not a parameter of the container's own namespaces (net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)",
    );
    await refused(
      ['--network', 'host', '--sysctl', 'net.ipv4.ip_forward=0'],
      'sysctl net.ipv4.ip_forward: the container is on network host, whose parameters are not its own',
    );
    await refused(
      ['--sysctl', 'net/../../kernel/x=1'],
      'sysctl: a dotted name like net.ipv4.ip_forward',
    );
    await refused(
      ['--sysctl', 'net.ipv4'],
      '--sysctl net.ipv4: not NAME=VALUE, e.g. net.ipv4.ip_forward=1',
    );
    await refused(
      ['--sysctl', 'net.ipv4.no_such_parameter=1'],
      'open sysctl net.ipv4.no_such_parameter: No such file or directory',
    );
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'), hostPorts);
  });

  test('--oom-score-adj is the score of its processes (0 unless given); out of range is one line', async () => {
    const given = await world.run([
      'run',
      '--rm',
      '--oom-score-adj',
      '500',
      'busybox',
      'cat',
      '/proc/self/oom_score_adj',
    ]);
    assert.equal(given.stdout, '500\n', given.stderr);
    const plain = await world.run(['run', '--rm', 'busybox', 'cat', '/proc/self/oom_score_adj']);
    assert.equal(plain.stdout, '0\n', plain.stderr);
    await refused(['--oom-score-adj', '1001'], 'oom-score-adj: from -1000 to 1000');
    await refused(
      ['--oom-score-adj', 'high'],
      '--oom-score-adj high: a whole number from -1000 to 1000',
    );
  });
});
