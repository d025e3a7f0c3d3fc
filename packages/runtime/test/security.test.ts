import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TockerError } from '../src/errors.js';
import {
  CAPABILITY_NAMES,
  capabilityMask,
  DEFAULT_CAPABILITIES,
  kernelLastCap,
  resolveCapabilities,
} from '../src/security/capabilities.js';
import {
  compileSeccomp,
  DEFAULT_SECCOMP_PROFILE,
  defaultProfile,
  type OciSeccomp,
  parseProfile,
  readProfileText,
  renderProfile,
  type SeccompProfile,
  SeccompProfiles,
} from '../src/security/seccomp.js';
import { scratchDir } from './scratch.js';

const scratch = scratchDir('security-test');
after(() => rmSync(scratch, { recursive: true, force: true }));

const EPERM = 1;
const ENOSYS = 38;
const DOCKER_DEFAULT_CAPABILITIES = resolveCapabilities({});

/** `run` must throw a TockerError whose message is exactly `message`, on one line. */
function refuses(run: () => unknown, message: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof TockerError, `a TockerError, not ${String(error)}`);
    assert.equal(error.message, message);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

/** Writes a profile into a file of the test, then parses it as set-up's file would be. */
function profileFile(name: string, profile: unknown): SeccompProfile {
  const path = join(scratch, `${name}.json`);
  writeFileSync(path, JSON.stringify(profile, null, 2));
  return parseProfile(readProfileText(path));
}

/** The system calls that some rule of a rendered profile gives `action` (and `errnoRet`). */
function callsWith(oci: OciSeccomp, action: string, errnoRet?: number): Set<string> {
  return new Set(
    oci.syscalls
      .filter((rule) => rule.action === action && rule.errnoRet === errnoRet)
      .flatMap((rule) => rule.names),
  );
}

describe('capabilities: docker semantics', () => {
  test("the defaults are exactly docker's 14, sorted by name", () => {
    assert.deepEqual(resolveCapabilities({}), [
      'CAP_AUDIT_WRITE',
      'CAP_CHOWN',
      'CAP_DAC_OVERRIDE',
      'CAP_FOWNER',
      'CAP_FSETID',
      'CAP_KILL',
      'CAP_MKNOD',
      'CAP_NET_BIND_SERVICE',
      'CAP_NET_RAW',
      'CAP_SETFCAP',
      'CAP_SETGID',
      'CAP_SETPCAP',
      'CAP_SETUID',
      'CAP_SYS_CHROOT',
    ]);
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
  });

  test('capability numbers follow linux/capability.h', () => {
    assert.equal(CAPABILITY_NAMES.length, 41);
    assert.equal(CAPABILITY_NAMES.indexOf('CAP_CHOWN'), 0);
    assert.equal(CAPABILITY_NAMES.indexOf('CAP_SYS_ADMIN'), 21);
    assert.equal(CAPABILITY_NAMES.indexOf('CAP_CHECKPOINT_RESTORE'), 40);
  });

  test("the default set as a mask is docker's CapEff (a80425fb)", () => {
    assert.equal(capabilityMask(resolveCapabilities({})), 0xa80425fbn);
    assert.equal(capabilityMask(['CAP_CHECKPOINT_RESTORE']), 1n << 40n);
  });

  test('add and drop with or without CAP_, in any case', () => {
    const caps = resolveCapabilities({
      capAdd: ['sys_admin', 'CAP_NET_ADMIN', 'Sys_Ptrace'],
      capDrop: ['CAP_MKNOD', 'net_raw', 'cap_chown'],
    });
    for (const added of ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE']) {
      assert.ok(caps.includes(added as never), `${added} added`);
    }
    for (const dropped of ['CAP_MKNOD', 'CAP_NET_RAW', 'CAP_CHOWN']) {
      assert.ok(!caps.includes(dropped as never), `${dropped} dropped`);
    }
    assert.equal(caps.length, 14);
    assert.deepEqual(caps, [...caps].sort(), 'sorted');
  });

  test('an add wins over a drop of the same capability', () => {
    assert.ok(resolveCapabilities({ capAdd: ['KILL'], capDrop: ['KILL'] }).includes('CAP_KILL'));
  });

  test('drop ALL empties the set before the adds', () => {
    assert.deepEqual(resolveCapabilities({ capDrop: ['all'] }), []);
    assert.deepEqual(resolveCapabilities({ capDrop: ['ALL'], capAdd: ['chown', 'CAP_KILL'] }), [
      'CAP_CHOWN',
      'CAP_KILL',
    ]);
  });

  test('add ALL gives every capability of this kernel but the named drops', () => {
    const every = CAPABILITY_NAMES.slice(0, kernelLastCap() + 1);
    assert.deepEqual(resolveCapabilities({ capAdd: ['ALL'] }), [...every].sort());
    const withoutAdmin = resolveCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] });
    assert.equal(withoutAdmin.length, every.length - 1);
    assert.ok(!withoutAdmin.includes('CAP_SYS_ADMIN'));
    assert.deepEqual(resolveCapabilities({ capAdd: ['ALL'], lastCap: 37 }).length, 38);
  });

  test('privileged gives every capability of this kernel, whatever the drops', () => {
    const every = CAPABILITY_NAMES.slice(0, kernelLastCap() + 1);
    assert.deepEqual(
      resolveCapabilities({ privileged: true, capDrop: ['ALL'] }),
      [...every].sort(),
    );
    assert.equal(resolveCapabilities({ privileged: true, lastCap: 39 }).length, 40);
  });

  test('an unknown capability is refused with one line naming it', () => {
    refuses(
      () => resolveCapabilities({ capAdd: ['SYS_MAGIC'] }),
      'unknown capability: "SYS_MAGIC"',
    );
    refuses(() => resolveCapabilities({ capDrop: ['CAP_'] }), 'unknown capability: "CAP_"');
    refuses(
      () => resolveCapabilities({ capAdd: ['checkpoint_restore'], lastCap: 39 }),
      'capability CAP_CHECKPOINT_RESTORE is not supported by this kernel',
    );
  });
});

describe("seccomp rendering: Docker's template conditions", () => {
  const template = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [], comment: 'always' },
      {
        names: ['mount'],
        action: 'SCMP_ACT_ALLOW',
        includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] },
      },
      {
        names: ['personality'],
        action: 'SCMP_ACT_ALLOW',
        excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] },
      },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['modify_ldt'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['arm64'] } },
      { names: ['pidfd_open'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.3' } },
      {
        names: ['pidfd_open'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 38,
        excludes: { minKernel: '5.3' },
      },
      { names: ['ptrace'], action: 'SCMP_ACT_ERRNO' },
      { name: 'kcmp', action: 'SCMP_ACT_KILL_PROCESS', args: null },
    ],
  };
  const profile = () => profileFile('template', template);
  const defaults = DOCKER_DEFAULT_CAPABILITIES;

  test('a rule without conditions is always kept, a legacy "name" is a one-name list', () => {
    const oci = renderProfile(profile(), { capabilities: [], arch: 'amd64', kernel: '6.1.0' });
    assert.ok(callsWith(oci, 'SCMP_ACT_ALLOW').has('read'));
    assert.ok(callsWith(oci, 'SCMP_ACT_KILL_PROCESS').has('kcmp'));
  });

  test('includes.caps: every listed capability must be granted', () => {
    const render = (capabilities: string[]) =>
      callsWith(
        renderProfile(profile(), { capabilities, arch: 'amd64', kernel: '6.1' }),
        'SCMP_ACT_ALLOW',
      );
    assert.ok(!render([...defaults]).has('mount'));
    assert.ok(!render([...defaults, 'CAP_SYS_ADMIN']).has('mount'), 'one of two is not enough');
    assert.ok(render([...defaults, 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN']).has('mount'));
  });

  test('excludes.caps: any listed capability granted drops the rule', () => {
    const render = (capabilities: string[]) =>
      callsWith(
        renderProfile(profile(), { capabilities, arch: 'amd64', kernel: '6.1' }),
        'SCMP_ACT_ALLOW',
      );
    assert.ok(render([...defaults]).has('personality'));
    assert.ok(!render([...defaults, 'CAP_SYS_PTRACE']).has('personality'));
    assert.ok(!render([...defaults, 'CAP_SYS_ADMIN']).has('personality'));
  });

  test('arches: includes keeps a rule only on listed arches, excludes drops it there', () => {
    const render = (arch: string) =>
      callsWith(
        renderProfile(profile(), { capabilities: [], arch, kernel: '6.1' }),
        'SCMP_ACT_ALLOW',
      );
    assert.ok(render('amd64').has('arch_prctl'));
    assert.ok(!render('arm64').has('arch_prctl'));
    assert.ok(render('amd64').has('modify_ldt'));
    assert.ok(!render('arm64').has('modify_ldt'));
  });

  test('minKernel compares kernel and major revision only', () => {
    const render = (kernel: string) =>
      renderProfile(profile(), { capabilities: [], arch: 'amd64', kernel });
    for (const kernel of ['5.3.0-1-amd64', '5.3', '5.10.0', '6.0.0-rc1']) {
      assert.ok(callsWith(render(kernel), 'SCMP_ACT_ALLOW').has('pidfd_open'), kernel);
      assert.ok(!callsWith(render(kernel), 'SCMP_ACT_ERRNO', 38).has('pidfd_open'), kernel);
    }
    for (const kernel of ['5.2.21-generic', '4.19.0', '4.20']) {
      assert.ok(!callsWith(render(kernel), 'SCMP_ACT_ALLOW').has('pidfd_open'), kernel);
      assert.ok(callsWith(render(kernel), 'SCMP_ACT_ERRNO', 38).has('pidfd_open'), kernel);
    }
  });

  test('architectures: the native one and its archMap sub-architectures', () => {
    const on = (arch: string) =>
      renderProfile(profile(), { capabilities: [], arch, kernel: '6.1' }).architectures;
    assert.deepEqual(on('amd64'), ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(on('arm64'), ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.deepEqual(on('s390x'), [], "no archMap entry: libseccomp's native arch only");
  });

  test('an ERRNO rule without errnoRet takes defaultErrnoRet', () => {
    const oci = renderProfile(profile(), { capabilities: [], arch: 'amd64', kernel: '6.1' });
    assert.deepEqual(
      oci.syscalls.find((rule) => rule.names.includes('ptrace')),
      { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [] },
    );
  });

  test('a plain OCI linux.seccomp profile renders to itself', () => {
    const oci = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [
        {
          names: ['personality'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 22,
          args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_NE' }],
        },
      ],
    };
    assert.deepEqual(
      renderProfile(profileFile('oci', oci), { capabilities: [], arch: 'amd64', kernel: '6.1' }),
      oci,
    );
  });
});

describe("Docker's default profile, as set-up installs it", () => {
  test('set-up installed it', () => {
    assert.ok(
      existsSync(DEFAULT_SECCOMP_PROFILE),
      `${DEFAULT_SECCOMP_PROFILE} is missing: run scripts/setup.mjs`,
    );
  });

  test("docker's 14 capabilities: no mount, namespace, bpf or keyring call; clone3 ENOSYS", () => {
    const oci = renderProfile(defaultProfile(), { capabilities: DOCKER_DEFAULT_CAPABILITIES });
    const allowed = callsWith(oci, 'SCMP_ACT_ALLOW');
    assert.ok(allowed.has('read') && allowed.has('mkdir') && allowed.has('execve'));
    for (const call of [
      'mount',
      'unshare',
      'setns',
      'bpf',
      'keyctl',
      'perf_event_open',
      'open_by_handle_at',
      'clone3',
    ]) {
      assert.ok(!allowed.has(call), `${call} is not allowed`);
    }
    assert.ok(callsWith(oci, 'SCMP_ACT_ERRNO', ENOSYS).has('clone3'));
    assert.equal(oci.defaultAction, 'SCMP_ACT_ERRNO');
  });

  test('with CAP_SYS_ADMIN added: mount, unshare and setns are allowed', () => {
    const capabilities = resolveCapabilities({ capAdd: ['SYS_ADMIN'] });
    const oci = renderProfile(defaultProfile(), { capabilities });
    const allowed = callsWith(oci, 'SCMP_ACT_ALLOW');
    for (const call of ['mount', 'umount2', 'unshare', 'setns', 'clone3']) {
      assert.ok(allowed.has(call), `${call} is allowed`);
    }
    assert.ok(!callsWith(oci, 'SCMP_ACT_ERRNO', ENOSYS).has('clone3'));
  });

  test('kept profiles: one file per rendered profile, its program compiled once and kept beside it', () => {
    const dir = scratchDir('seccomp-profiles');
    try {
      const profiles = new SeccompProfiles(dir);
      const oci = renderProfile(defaultProfile(), { capabilities: DOCKER_DEFAULT_CAPABILITIES });
      const digest = profiles.keep(oci);
      assert.match(digest, /^[0-9a-f]{64}$/);
      assert.equal(profiles.keep(oci), digest, 'the same profile, the same digest');
      assert.deepEqual(JSON.parse(readFileSync(join(dir, `${digest}.json`), 'utf8')), oci);
      assert.deepEqual(profiles.program(digest), { filter: compileSeccomp(oci), flags: 0 });
      const programs = readdirSync(dir).filter((file) => file.endsWith('.program'));
      assert.equal(programs.length, 1);
      // Another process (a fresh store on the same directory) takes the compiled program
      // as it is: it does not even read the profile again (a CLI start's shortcut).
      const logged = { ...oci, flags: ['SECCOMP_FILTER_FLAG_LOG' as const] };
      const loggedDigest = profiles.keep(logged);
      const compiled = profiles.program(loggedDigest);
      assert.equal(compiled.flags, 2);
      rmSync(join(dir, `${loggedDigest}.json`));
      assert.deepEqual(new SeccompProfiles(dir).program(loggedDigest), compiled);
      // A damaged program file is compiled again from the profile.
      const program = join(dir, programs[0] ?? '');
      writeFileSync(program, readFileSync(program).subarray(0, 13));
      assert.deepEqual(new SeccompProfiles(dir).program(digest), {
        filter: compileSeccomp(oci),
        flags: 0,
      });
      const admin = renderProfile(defaultProfile(), {
        capabilities: resolveCapabilities({ capAdd: ['ALL'] }),
      });
      assert.notEqual(profiles.keep(admin), digest);
      assert.throws(() => profiles.program('f'.repeat(64)), /is missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the default profile through notes: the digest of its rendering, one note per capability set; a stale or damaged note is rendered anew', () => {
    const dir = scratchDir('seccomp-profiles');
    try {
      const rendered = (capabilities: readonly string[]) =>
        new SeccompProfiles(mkdtempSync(join(dir, 'fresh-'))).keep(
          renderProfile(defaultProfile(), { capabilities }),
        );
      const profiles = new SeccompProfiles(dir);
      const digest = profiles.keepDefault(DOCKER_DEFAULT_CAPABILITIES);
      assert.equal(digest, rendered(DOCKER_DEFAULT_CAPABILITIES));
      const notes = () => readdirSync(dir).filter((file) => file.endsWith('.digest'));
      assert.equal(notes().length, 1);
      assert.equal(new SeccompProfiles(dir).keepDefault(DOCKER_DEFAULT_CAPABILITIES), digest);
      const admin = resolveCapabilities({ capAdd: ['SYS_ADMIN'] });
      assert.equal(profiles.keepDefault(admin), rendered(admin));
      assert.equal(notes().length, 2, 'one note per capability set');
      // A note whose profile is gone (or that is damaged) is rendered anew.
      rmSync(join(dir, `${digest}.json`));
      writeFileSync(join(dir, notes()[0] ?? ''), 'garbage');
      assert.equal(new SeccompProfiles(dir).keepDefault(DOCKER_DEFAULT_CAPABILITIES), digest);
      assert.equal(new SeccompProfiles(dir).keepDefault(admin), rendered(admin));
      assert.ok(existsSync(join(dir, `${digest}.json`)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the flags a profile asks for come with its program', () => {
    const text = JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    });
    const profiles = new SeccompProfiles(scratch);
    const digest = profiles.keep(renderProfile(parseProfile(text), { capabilities: [] }));
    assert.equal(profiles.program(digest).flags, 2 | 4);
  });
});

// A static program that installs a BPF file as its seccomp filter (no_new_privs first, as an
// unprivileged installer must), then makes one system call and prints the errno it got.
const HARNESS_SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct sock_filter program[BPF_MAXINSNS];

static int install(const char *path) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return -1;
  size_t count = fread(program, sizeof program[0], BPF_MAXINSNS, file);
  fclose(file);
  struct sock_fprog fprog = { .len = (unsigned short)count, .filter = program };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  if (strcmp(argv[1], "none") != 0 && install(argv[1]) != 0) {
    perror("installing the filter");
    return 3;
  }
  const char *call = argv[2];
  long result;
  if (strcmp(call, "mkdir") == 0) result = mkdir(argv[3], 0755);
  else if (strcmp(call, "unshare") == 0) result = unshare(CLONE_NEWNS);
  else if (strcmp(call, "keyctl") == 0) result = syscall(SYS_keyctl, 0, -3, 0);
  else if (strcmp(call, "bpf") == 0) result = syscall(SYS_bpf, 0, NULL, 0);
  else if (strcmp(call, "clone3") == 0) result = syscall(SYS_clone3, NULL, 0);
  else return 2;
  printf("%d\n", result < 0 ? errno : 0);
  return 0;
}
`;

describe('seccomp enforcement: a real filter, installed by a static C harness', () => {
  const harness = join(scratch, 'harness');
  let made = 0;

  before(() => {
    writeFileSync(`${harness}.c`, HARNESS_SOURCE);
    execFileSync('gcc', ['-O2', '-static', '-Wall', '-Werror', '-o', harness, `${harness}.c`]);
  });

  /** The errno that `call` gets under the program in `bpf` (or no filter: "none"). */
  function errnoOf(bpf: string, call: string, path = join(scratch, `made-${made++}`)): number {
    const result = spawnSync(harness, [bpf, call, path], { encoding: 'utf8' });
    assert.equal(result.status, 0, `harness ${call}: ${result.stderr}`);
    return Number.parseInt(result.stdout, 10);
  }

  function programFile(name: string, program: Buffer): string {
    const path = join(scratch, `${name}.bpf`);
    writeFileSync(path, program);
    return path;
  }

  test('without a filter none of the calls fails with EPERM or ENOSYS', () => {
    for (const call of ['mkdir', 'unshare', 'keyctl', 'bpf', 'clone3']) {
      const errno = errnoOf('none', call);
      assert.ok(errno !== EPERM && errno !== ENOSYS, `${call} got errno ${errno}`);
    }
  });

  test("the default profile with docker's 14 capabilities", () => {
    const program = compileSeccomp(
      renderProfile(defaultProfile(), { capabilities: DOCKER_DEFAULT_CAPABILITIES }),
    );
    assert.equal(program.length % 8, 0, 'whole struct sock_filter entries');
    const bpf = programFile('default', program);
    const allowed = join(scratch, 'allowed-directory');
    assert.equal(errnoOf(bpf, 'mkdir', allowed), 0, 'mkdir is allowed');
    assert.ok(existsSync(allowed));
    assert.equal(errnoOf(bpf, 'unshare'), EPERM);
    assert.equal(errnoOf(bpf, 'keyctl'), EPERM);
    assert.equal(errnoOf(bpf, 'bpf'), EPERM);
    assert.equal(errnoOf(bpf, 'clone3'), ENOSYS);
  });

  test('a custom OCI profile that refuses mkdir and allows the rest', () => {
    const profile = profileFile('no-mkdir', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['mkdir', 'mkdirat', 'no_such_system_call'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: EPERM,
        },
      ],
    });
    const bpf = programFile(
      'no-mkdir',
      compileSeccomp(renderProfile(profile, { capabilities: DOCKER_DEFAULT_CAPABILITIES })),
    );
    const refused = join(scratch, 'refused-directory');
    assert.equal(errnoOf(bpf, 'mkdir', refused), EPERM);
    assert.ok(!existsSync(refused), 'no directory was made');
    assert.equal(errnoOf(bpf, 'unshare'), 0, 'everything else is allowed');
  });

  test('two comparisons of one argument match when either holds (as runc)', () => {
    const profile = profileFile('either', {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        {
          names: ['unshare'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 13,
          args: [
            { index: 0, value: 0x20000, op: 'SCMP_CMP_EQ' },
            { index: 0, value: 0x40000000, op: 'SCMP_CMP_EQ' },
          ],
        },
      ],
    });
    const bpf = programFile('either', compileSeccomp(renderProfile(profile, { capabilities: [] })));
    assert.equal(errnoOf(bpf, 'unshare'), 13, 'unshare(CLONE_NEWNS) matches the first');
  });
});

describe('seccomp profiles that are refused, with one line naming the problem', () => {
  const rule = { names: ['mkdir'], action: 'SCMP_ACT_ALLOW' };
  const cases: [string, unknown, string][] = [
    [
      'an unknown action',
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [rule, { ...rule, action: 'SCMP_ACT_FOO' }] },
      'seccomp profile: syscalls.1.action: unknown action "SCMP_ACT_FOO"',
    ],
    [
      'an unknown default action',
      { defaultAction: 'ALLOW', syscalls: [] },
      'seccomp profile: defaultAction: unknown action "ALLOW"',
    ],
    [
      'an unknown operator',
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ ...rule, args: [{ index: 0, value: 1, op: 'SCMP_CMP_LIKE' }] }],
      },
      'seccomp profile: syscalls.0.args.0.op: unknown operator "SCMP_CMP_LIKE"',
    ],
    [
      'names that are not a list',
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ ...rule, names: 'mkdir' }] },
      'seccomp profile: syscalls.0.names: expected array, got string',
    ],
    [
      'an action that is not a string',
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ ...rule, action: 7 }] },
      'seccomp profile: syscalls.0.action: expected string, got number',
    ],
    [
      'an argument index given as a string',
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ ...rule, args: [{ index: '0', value: 1, op: 'SCMP_CMP_EQ' }] }],
      },
      'seccomp profile: syscalls.0.args.0.index: expected number, got string',
    ],
    [
      'an argument that system calls do not have',
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ ...rule, args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }],
      },
      'seccomp profile: syscalls.0.args.0.index: system calls have arguments 0 to 5',
    ],
    [
      'a negative value',
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ ...rule, args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }],
      },
      'seccomp profile: syscalls.0.args.0.value: must not be negative',
    ],
    [
      'a fractional errnoRet',
      { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1.5 },
      'seccomp profile: defaultErrnoRet: must be a whole number',
    ],
    [
      'a malformed minKernel',
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ ...rule, includes: { minKernel: '5' } }] },
      'seccomp profile: syscalls.0.includes.minKernel: expected "<kernel>.<major>", e.g. "4.8"',
    ],
    ['no default action', { syscalls: [rule] }, 'seccomp profile: defaultAction: required'],
    [
      'name and names together',
      { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ ...rule, name: 'rmdir' }] },
      'seccomp profile: syscalls.0: use either name or names, not both',
    ],
    [
      'architectures and archMap together',
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86_64'],
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: [] }],
      },
      'seccomp profile: use either architectures or archMap, not both',
    ],
    ['not an object', [], 'seccomp profile: expected object, got array'],
  ];
  for (const [what, profile, message] of cases) {
    test(what, () => refuses(() => parseProfile(JSON.stringify(profile)), message));
  }

  test('text that is not JSON', () => {
    assert.throws(
      () => parseProfile('{"defaultAction": '),
      /^TockerError: seccomp profile: not valid JSON \(.+\)$/,
    );
  });

  test('SCMP_ACT_NOTIFY is refused when compiling', () => {
    const profile = parseProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
      }),
    );
    refuses(
      () => compileSeccomp(renderProfile(profile, { capabilities: [] })),
      'seccomp profile: SCMP_ACT_NOTIFY is not supported (tocker runs no seccomp agent)',
    );
  });

  test('an architecture libseccomp does not know is refused when compiling', () => {
    const profile = parseProfile(
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }),
    );
    refuses(
      () => compileSeccomp(renderProfile(profile, { capabilities: [] })),
      'seccomp profile: architecture SCMP_ARCH_VAX is unknown to libseccomp',
    );
  });

  test('a missing profile file is named', () => {
    const missing = join(scratch, 'missing.json');
    refuses(() => readProfileText(missing), `seccomp profile ${missing} does not exist`);
  });
});
