import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CAPABILITIES } from '../src/security/capabilities.js';
import { compileSeccomp, defaultProfile, renderProfile } from '../src/security/seccomp.js';
import { resolveSyscallName } from '../src/sys/libseccomp.js';

// linux/audit.h and linux/seccomp.h
const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const X32_SYSCALL_BIT = 0x40000000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ACTION_FULL = 0xffff0000;
const SECCOMP_RET_KILL_THREAD = 0;
const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const EPERM = 1;

/**
 * Classic BPF as the kernel runs a seccomp filter, over struct seccomp_data (nr, arch,
 * instruction pointer, six arguments): what the filter returns for one call, and how many
 * instructions it ran to decide. Only the instructions libseccomp emits; any other fails
 * the test.
 */
function run(
  filter: Buffer,
  nr: number,
  arch: number,
  args: readonly bigint[] = [],
): { result: number; steps: number } {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  args.forEach((arg, index) => {
    data.writeBigUInt64LE(arg, 16 + 8 * index);
  });
  const memory = new Uint32Array(16);
  let a = 0;
  let x = 0;
  for (let pc = 0, steps = 1; pc * 8 < filter.length; pc++, steps++) {
    const code = filter.readUInt16LE(pc * 8);
    const jt = filter[pc * 8 + 2] ?? 0;
    const jf = filter[pc * 8 + 3] ?? 0;
    const k = filter.readUInt32LE(pc * 8 + 4);
    const jump = (taken: boolean) => {
      pc += taken ? jt : jf;
    };
    switch (code) {
      case 0x20: // ld [k]
        a = data.readUInt32LE(k);
        break;
      case 0x60: // ld M[k]
        a = memory[k] ?? 0;
        break;
      case 0x02: // st M[k]
        memory[k] = a;
        break;
      case 0x54: // and #k
        a = (a & k) >>> 0;
        break;
      case 0x07: // tax
        x = a;
        break;
      case 0x87: // txa
        a = x;
        break;
      case 0x05: // ja
        pc += k;
        break;
      case 0x15: // jeq #k
        jump(a === k);
        break;
      case 0x25: // jgt #k
        jump(a > k);
        break;
      case 0x35: // jge #k
        jump(a >= k);
        break;
      case 0x45: // jset #k
        jump((a & k) !== 0);
        break;
      case 0x06: // ret #k
        return { result: k >>> 0, steps };
      default:
        throw new Error(`instruction 0x${code.toString(16)} at ${pc}: not in this interpreter`);
    }
  }
  throw new Error('the filter ran off its end');
}

const evaluate = (filter: Buffer, nr: number, arch: number, args: readonly bigint[] = []) =>
  run(filter, nr, arch, args).result;

const oci = renderProfile(defaultProfile(), { capabilities: DEFAULT_CAPABILITIES });
const program = compileSeccomp(oci);
const action = (result: number) => (result & SECCOMP_RET_ACTION_FULL) >>> 0;

test("the compiled default profile (libseccomp's binary tree) decides each x86_64 system call number as the profile says: the calls it allows unconditionally are allowed, every call it never names fails with EPERM", () => {
  const unconditional = new Set<number>();
  const named = new Set<number>();
  for (const rule of oci.syscalls)
    for (const name of rule.names) {
      const nr = resolveSyscallName(name);
      if (nr === undefined) continue;
      named.add(nr);
      if (rule.action === 'SCMP_ACT_ALLOW' && rule.args.length === 0) unconditional.add(nr);
    }
  assert.ok(unconditional.size > 250, `${unconditional.size} calls allowed outright`);
  for (let nr = 0; nr < 1024; nr++) {
    const result = evaluate(program, nr, AUDIT_ARCH_X86_64);
    if (unconditional.has(nr)) assert.equal(result, SECCOMP_RET_ALLOW, `call ${nr}`);
    else if (!named.has(nr)) assert.equal(result, SECCOMP_RET_ERRNO | EPERM, `call ${nr}`);
  }
});

test("the compiled default profile is a binary tree of the call numbers: deciding any x86_64 call runs a few dozen instructions (23 here), not one comparison after another (595 in libseccomp's linear layout)", () => {
  let most = 0;
  for (let nr = 0; nr < 1024; nr++)
    most = Math.max(most, run(program, nr, AUDIT_ARCH_X86_64).steps);
  assert.ok(most < 60, `at most ${most} instructions run for one call`);
});

test('the compiled default profile checks arguments where the profile does (personality, clone), takes 32-bit and x32 calls by their own numbers, and kills a call from an architecture it does not list', () => {
  const personality = resolveSyscallName('personality') ?? -1;
  assert.equal(evaluate(program, personality, AUDIT_ARCH_X86_64, [0n]), SECCOMP_RET_ALLOW);
  assert.equal(
    action(evaluate(program, personality, AUDIT_ARCH_X86_64, [0x0040000n])),
    SECCOMP_RET_ERRNO,
    'ADDR_NO_RANDOMIZE is not among the allowed personalities',
  );
  const clone = resolveSyscallName('clone') ?? -1;
  const CLONE_NEWUSER = 0x10000000n;
  assert.equal(evaluate(program, clone, AUDIT_ARCH_X86_64, [0x11n]), SECCOMP_RET_ALLOW);
  assert.equal(
    action(evaluate(program, clone, AUDIT_ARCH_X86_64, [CLONE_NEWUSER | 0x11n])),
    SECCOMP_RET_ERRNO,
    'no new namespaces without CAP_SYS_ADMIN',
  );
  const getpid = { x86_64: 39, i386: 20 };
  assert.equal(evaluate(program, getpid.x86_64, AUDIT_ARCH_X86_64), SECCOMP_RET_ALLOW);
  assert.equal(evaluate(program, getpid.i386, AUDIT_ARCH_I386), SECCOMP_RET_ALLOW);
  assert.equal(
    evaluate(program, getpid.x86_64 | X32_SYSCALL_BIT, AUDIT_ARCH_X86_64),
    SECCOMP_RET_ALLOW,
  );
  assert.ok(
    [SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS].includes(
      evaluate(program, getpid.x86_64, AUDIT_ARCH_AARCH64),
    ),
  );
});
