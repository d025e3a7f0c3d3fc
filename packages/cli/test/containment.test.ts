import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerRecord } from '@tocker/runtime';
import { spawn as spawnPty } from 'node-pty';
import { detectCgroupDriver } from '../../runtime/src/cgroups/index.js';
import { CliRoot, lines, tockerBin, waitFor } from './helpers.js';
import { attackImage } from './probe/image.js';

const world = new CliRoot({ name: 'containment' });
const image = attackImage(join(world.root, 'attack-image'));
after(() => world.cleanup());

/** Runs the attacker in a fresh container; its one line of verdict (or all it printed). */
async function attack(args: string[], flags: string[] = []): Promise<string> {
  const result = await world.run(['run', '--rm', '--rootfs', image, ...flags, '/attack', ...args]);
  return result.stdout.trim();
}

/** What a shell in a fresh container prints. */
async function inside(script: string, flags: string[] = []): Promise<string> {
  const result = await world.run(['run', '--rm', '--rootfs', image, ...flags, 'sh', '-c', script]);
  assert.equal(result.stderr, '', script);
  return result.stdout;
}

function statusField(status: string, field: string): string {
  return new RegExp(`^${field}:\\s+(\\S+)`, 'm').exec(status)?.[1] ?? '';
}

async function inspect(reference: string): Promise<ContainerRecord> {
  return JSON.parse((await world.run(['inspect', reference])).stdout)[0];
}

const DOCKER_DEFAULT_CAPS = '00000000a80425fb';

describe('containment: a container attacks its host, and is refused (real containers, a static C probe)', () => {
  test("1. capabilities: exactly docker's 14, none inheritable or ambient, a seccomp filter; --cap-add/--cap-drop read back", async () => {
    const status = await inside('cat /proc/self/status');
    for (const field of ['CapEff', 'CapPrm', 'CapBnd'])
      assert.equal(statusField(status, field), DOCKER_DEFAULT_CAPS, field);
    assert.equal(statusField(status, 'CapInh'), '0000000000000000');
    assert.equal(statusField(status, 'CapAmb'), '0000000000000000');
    assert.equal(statusField(status, 'Seccomp'), '2');
    assert.equal(statusField(status, 'NoNewPrivs'), '0');
    const netAdmin = await inside('cat /proc/self/status', ['--cap-add', 'NET_ADMIN']);
    assert.equal(BigInt(`0x${statusField(netAdmin, 'CapEff')}`) & (1n << 12n), 1n << 12n);
    const none = await inside('cat /proc/self/status', ['--cap-drop', 'ALL']);
    assert.equal(statusField(none, 'CapBnd'), '0000000000000000');
    const nnp = await inside('cat /proc/self/status', ['--security-opt', 'no-new-privileges']);
    assert.equal(statusField(nnp, 'NoNewPrivs'), '1');
  });

  test('1. bpf, host-wide perf_event_open, keyctl, syslog and unshare are refused; --privileged with seccomp=unconfined allows them', async () => {
    assert.equal(await attack(['bpf']), 'EPERM');
    assert.match(await attack(['perf']), /^E(PERM|ACCES)$/);
    assert.equal(await attack(['keyctl']), 'EPERM');
    assert.equal(await attack(['syslog']), 'EPERM');
    for (const namespace of ['user', 'mount', 'net', 'time'])
      assert.equal(await attack(['unshare', namespace]), 'EPERM', `unshare ${namespace}`);
    const unconfined = ['--privileged', '--security-opt', 'seccomp=unconfined'];
    assert.equal(await attack(['bpf'], unconfined), 'ok');
    assert.equal(await attack(['keyctl'], unconfined), 'ok');
    assert.equal(await attack(['unshare', 'mount'], unconfined), 'ok');
    const privileged = await inside('cat /proc/self/status', ['--privileged']);
    assert.equal(statusField(privileged, 'Seccomp'), '0');
    assert.notEqual(statusField(privileged, 'CapBnd'), DOCKER_DEFAULT_CAPS);
    assert.match((await world.run(['ps', '-a'])).stdout, /^CONTAINER ID/);
  });

  test("2. no device beyond the allow-list: the host's disk can be made (mknod) but never opened", async () => {
    const root = statSync('/').dev;
    const disk = `${Math.floor(root / 256) & 0xfff}:${(root & 0xff) | ((root >> 12) & 0xfff00)}`;
    assert.equal(await attack(['mknod-open', 'b', disk]), 'mknod ok, open EPERM');
    assert.equal(await attack(['mknod-open', 'c', '1:11']), 'mknod ok, open EPERM', '/dev/kmsg');
    assert.equal(await attack(['write', '/dev/null']), 'ok');
  });

  test('3. "Shocker": output is a pipe, never a host file, and open_by_handle_at is refused', async () => {
    const id = (
      await world.run(['run', '-d', '--rootfs', image, 'sh', '-c', 'readlink /proc/self/fd/1'])
    ).stdout.trim();
    await waitFor('it to end', async () =>
      (await inspect(id)).status === 'exited' ? true : undefined,
    );
    assert.match((await world.run(['logs', id])).stdout, /^pipe:\[\d+\]$/m);
    await world.run(['rm', id]);
    assert.match(await inside('readlink /proc/self/fd/1'), /^pipe:/);
    assert.equal(await attack(['open-by-handle']), 'EPERM');
  });

  test('4. /proc masks and read-only paths hold, and cannot be unmounted', async () => {
    assert.equal(await attack(['read', '/proc/keys']), 'read 0 bytes');
    assert.equal(await attack(['read', '/proc/timer_list']), 'read 0 bytes');
    assert.equal(await attack(['write', '/proc/sys/kernel/core_pattern']), 'EROFS');
    assert.equal(await attack(['write', '/proc/sys/vm/drop_caches']), 'EROFS');
    assert.equal(await attack(['write', '/proc/irq/default_smp_affinity']), 'EROFS');
    assert.equal(await attack(['umount', '/sys/firmware']), 'EPERM');
    assert.equal(await attack(['umount', '/proc/keys']), 'EPERM');
    assert.equal(await attack(['umount', '/proc/sys']), 'EPERM');
  });

  test('5. exec never shows the host: a process watching for it gains nothing (ptrace, /proc reads, fds, setns)', async () => {
    const secret = randomBytes(12).toString('hex');
    const id = (
      await world.run(['run', '-d', '--rootfs', image, '/attack', 'watch', '120', secret])
    ).stdout.trim();
    const env = { ...world.env, TOCKER_TEST_SECRET: secret };
    for (let round = 0; round < 20; round++) {
      await world.run(['exec', id, '/bin/true'], { env });
      await world.run(['exec', '-t', id, 'sleep', '0.01'], { env });
    }
    await world.run(['exec', id, 'touch', '/tmp/stop-watching']);
    await waitFor('the watcher to finish', async () =>
      (await inspect(id)).status === 'exited' ? true : undefined,
    );
    const report = (await world.run(['logs', id])).stdout;
    assert.doesNotMatch(report, /GAINED/, report);
    assert.match(report, /^watched \d+, gained 0$/m);
    // Caught between fork and execve (still the shim's child), where the hole used to be.
    assert.match(
      report,
      /^saw \d+ tocker-shim$/m,
      `it saw exec'd processes before their exec: ${report}`,
    );
    assert.equal((await inspect(id)).exitCode, 0);
    await world.run(['rm', id]);
  });

  test("6. --init: PID 1 is tini, not a copy of the caller: its exe, command line and environment are the container's", async () => {
    const secret = randomBytes(12).toString('hex');
    const result = await world.run(
      [
        'run',
        '--rm',
        '--init',
        '--rootfs',
        image,
        'sh',
        '-c',
        'readlink /proc/1/exe; tr "\\0" " " < /proc/1/cmdline; echo; tr "\\0" "\\n" < /proc/1/environ',
      ],
      { env: { ...world.env, TOCKER_TEST_SECRET: secret } },
    );
    const [exe, cmdline, ...environ] = lines(result.stdout);
    assert.equal(exe, '/dev/init');
    assert.match(cmdline ?? '', /^\/dev\/init -- sh -c /);
    assert.ok(environ.includes('HOME=/root'), environ.join(' '));
    assert.ok(!environ.some((entry) => entry.includes(secret) || entry.startsWith('TOCKER_')));
    // Busy (tini runs from it) and mounted read-only: the host's tini cannot be replaced.
    assert.match(await attack(['write', '/dev/init'], ['--init']), /^E(TXTBSY|ROFS)$/);
    assert.match(await inside('grep " /dev/init " /proc/self/mountinfo', ['--init']), / ro,/);
  });

  test('7. TIOCSTI: a container without -t cannot type into the terminal of the shell that ran it', async () => {
    const marker = join(world.root, `typed-${randomBytes(4).toString('hex')}`);
    const shell = spawnPty('/bin/sh', [], {
      cols: 120,
      rows: 30,
      env: world.env as Record<string, string>,
      name: 'xterm',
    });
    let output = '';
    shell.onData((data) => {
      output += data;
    });
    try {
      for (const flags of ['', '-i']) {
        // The shell's answer, not the terminal's echo of the line typed, says it finished.
        shell.write(
          `${tockerBin} run --rm ${flags} --rootfs ${image} /attack tiocsti 'touch ${marker}\\n'; echo finished-$((40+2))${flags}x\r`,
        );
        await waitFor('the container to finish', () =>
          output.includes(`finished-42${flags}x`) ? true : undefined,
        );
      }
      await sleep(300); // anything typed would have run by now
      assert.match(output, /ENOTTY/);
      assert.equal(
        existsSync(marker),
        false,
        `the host shell ran what the container typed: ${output}`,
      );
    } finally {
      shell.kill();
      rmSync(marker, { force: true });
    }
  });

  test('8. limits cannot be lifted from inside: no cgroupfs, /sys stays read-only, no new mounts', async () => {
    const id = (
      await world.run([
        'run',
        '-d',
        '--rootfs',
        image,
        '--memory',
        '64m',
        '--pids-limit',
        '20',
        'sh',
        '-c',
        [
          '/attack mount cgroup /mnt/cg cgroup memory',
          '/attack mount cgroup2 /mnt/cg2 cgroup2',
          '/attack remount-rw /sys',
          '/attack write /sys/kernel/mm/transparent_hugepage/enabled',
          '/attack write /sys/power/state',
          '/attack mount proc /mnt/proc proc',
          '/attack mount tmpfs /mnt/tmp tmpfs',
          'sleep 30',
        ].join('; '),
      ])
    ).stdout.trim();
    await waitFor('the attempts', async () =>
      lines((await world.run(['logs', id])).stdout).length >= 7 ? true : undefined,
    );
    const verdicts = lines((await world.run(['logs', id])).stdout);
    assert.deepEqual(verdicts, ['EPERM', 'EPERM', 'EPERM', 'EROFS', 'EROFS', 'EPERM', 'EPERM']);
    const stats = detectCgroupDriver({ parent: world.cgroupParent }).open(id).stats();
    assert.equal(stats.memoryLimitBytes, 64 * 1024 * 1024);
    assert.equal(stats.pidsLimit, 20);
    await world.run(['rm', '-f', id]);
  });

  test("9. the host's information stays the host's: keyring, kernel log, kernel addresses", async () => {
    assert.equal(await attack(['syslog']), 'EPERM');
    const ours = Number(
      (await attack(['session-keyring'], ['--security-opt', 'seccomp=unconfined'])).trim(),
    );
    const host = Number(await probeOnHost(['session-keyring']));
    assert.ok(Number.isInteger(ours) && ours > 0, `a session keyring of its own: ${ours}`);
    assert.notEqual(ours, host, 'not the host session keyring');
    const kallsyms = await inside('head -3 /proc/kallsyms');
    for (const line of lines(kallsyms)) assert.match(line, /^0{16} /, 'no kernel address');
  });

  test("10. the host's root cannot be a container's root", async () => {
    const result = await world.run(['run', '--rm', '--rootfs', '/', 'true']);
    assert.equal(result.code, 125);
    assert.match(result.stderr, /the host's own root cannot be a container's/);
    assert.equal((await world.run(['run', '--rm', '--rootfs', '/.', 'true'])).code, 125);
  });

  test('11. a default pids limit (2048), and --pids-limit -1 for none', async () => {
    const cgroupOf = async (flags: string[]) => {
      const id = (
        await world.run(['run', '-d', '--rootfs', image, ...flags, 'sleep', '30'])
      ).stdout.trim();
      const { pidsLimit } = detectCgroupDriver({ parent: world.cgroupParent }).open(id).stats();
      await world.run(['rm', '-f', id]);
      return pidsLimit;
    };
    assert.equal(await cgroupOf([]), 2048);
    assert.equal(await cgroupOf(['--pids-limit', '-1']), null);
    assert.match(
      await inside(
        // Every fork of this shell may be the one refused: all its errors go to stdout.
        'exec 2>&1; i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done; kill $(jobs -p); true',
        ['--pids-limit', '10'],
      ),
      /can't fork|Resource temporarily unavailable/,
    );
  });

  test('a custom seccomp profile (docker format) that blocks mkdir makes mkdir fail with EPERM', async () => {
    const profile = join(world.root, 'no-mkdir.json');
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      }),
    );
    const blocked = await world.run([
      'run',
      '--rm',
      '--security-opt',
      `seccomp=${profile}`,
      'busybox',
      'mkdir',
      '/made',
    ]);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr + blocked.stdout, /Operation not permitted/);
    assert.equal((await world.run(['run', '--rm', 'busybox', 'mkdir', '/made'])).code, 0);
    const bad = await world.run([
      'run',
      '--rm',
      '--security-opt',
      'seccomp=/nonexistent',
      'busybox',
      'true',
    ]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /cannot read the file/);
  });

  test('the exec of a container shares its isolation: capabilities and seccomp as its PID 1', async () => {
    const id = (await world.run(['run', '-d', '--rootfs', image, 'sleep', '30'])).stdout.trim();
    const result = await world.run(['exec', id, 'cat', '/proc/self/status']);
    assert.equal(statusField(result.stdout, 'CapEff'), DOCKER_DEFAULT_CAPS);
    assert.equal(statusField(result.stdout, 'Seccomp'), '2');
    assert.equal(
      (await world.run(['exec', id, '/attack', 'unshare', 'mount'])).stdout.trim(),
      'EPERM',
    );
    await world.run(['rm', '-f', id]);
  });
});

/** The probe run on the host itself, for comparison. */
async function probeOnHost(args: string[]): Promise<string> {
  return execFileSync(join(image, 'attack'), args).toString().trim();
}
