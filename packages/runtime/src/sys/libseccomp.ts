import { closeSync, fstatSync, readSync } from 'node:fs';
import { koffi } from './koffi.js';
import { errno, memfd, SyscallError } from './libc.js';

/**
 * libseccomp 2.5 (libseccomp.so.2, a dependency of apt, so present on every Debian/Ubuntu),
 * used only to compile filters to classic BPF in the parent: loading them is the container
 * process's job. libseccomp returns -errno instead of setting errno; the wrappers turn that
 * into SyscallError like the libc ones.
 */

const libseccomp = koffi.load('libseccomp.so.2');

// Anonymous: a named koffi type is process-global, and a second copy of this module (the
// library from src and from dist in one process) would fail to register it again.
const scmpArgCmp = koffi.struct({
  arg: 'unsigned int',
  op: 'int',
  datum_a: 'uint64_t',
  datum_b: 'uint64_t',
});

const raw = {
  init: libseccomp.func('void *seccomp_init(uint32_t def_action)'),
  release: libseccomp.func('void seccomp_release(void *ctx)'),
  archAdd: libseccomp.func('int seccomp_arch_add(void *ctx, uint32_t arch_token)'),
  archResolveName: libseccomp.func('uint32_t seccomp_arch_resolve_name(const char *arch_name)'),
  syscallResolveName: libseccomp.func('int seccomp_syscall_resolve_name(const char *name)'),
  ruleAddArray: libseccomp.func('seccomp_rule_add_array', 'int', [
    'void *',
    'uint32_t',
    'int',
    'unsigned int',
    koffi.pointer(scmpArgCmp),
  ]),
  exportBpf: libseccomp.func('int seccomp_export_bpf(void *ctx, int fd)'),
  attrSet: libseccomp.func('int seccomp_attr_set(void *ctx, int attribute, uint32_t value)'),
  version: libseccomp.func('const void *seccomp_version()'),
};

const EEXIST = 17;
const SCMP_FLTATR_CTL_OPTIMIZE = 8;
const BINARY_TREE = 2;
/** __NR_SCMP_ERROR: the name is not a system call libseccomp knows. */
const UNKNOWN_SYSCALL = -1;

/** Filter actions (the SCMP_ACT_* values of seccomp.h: the kernel's SECCOMP_RET_*). */
export const SCMP_ACT_KILL_PROCESS = 0x8000_0000;
export const SCMP_ACT_KILL_THREAD = 0x0000_0000;
export const SCMP_ACT_TRAP = 0x0003_0000;
export const SCMP_ACT_LOG = 0x7ffc_0000;
export const SCMP_ACT_ALLOW = 0x7fff_0000;

/** The call fails with errno `code` (only its low 16 bits fit in the action). */
export function scmpActErrno(code: number): number {
  return (0x0005_0000 | (code & 0xffff)) >>> 0;
}

/** A tracer attached with PTRACE_O_TRACESECCOMP is told `message`. */
export function scmpActTrace(message: number): number {
  return (0x7ff0_0000 | (message & 0xffff)) >>> 0;
}

/** enum scmp_compare. */
export const scmpCompare = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
} as const;

/** struct scmp_arg_cmp: argument `arg` compared with `datumA` (MASKED_EQ: arg & datumA == datumB). */
export interface ArgComparison {
  readonly arg: number;
  readonly op: number;
  readonly datumA: bigint;
  readonly datumB: bigint;
}

/** The token of an architecture name ("x86_64", "aarch64"...), undefined when unknown. */
export function resolveArchName(name: string): number | undefined {
  const token = raw.archResolveName(name) as number;
  return token === 0 ? undefined : token;
}

/**
 * The number of a system call on the native architecture (negative for the pseudo-calls
 * that exist only on other architectures, e.g. socketcall), undefined when unknown.
 */
export function resolveSyscallName(name: string): number | undefined {
  const number = raw.syscallResolveName(name) as number;
  return number === UNKNOWN_SYSCALL ? undefined : number;
}

function check(result: number, call: string, subject?: string): void {
  if (result < 0) throw new SyscallError(call, -result, subject);
}

/** A filter being built; release() it in every case. */
export class SeccompFilter {
  private constructor(private readonly context: bigint) {}

  /** A filter for the native architecture that applies `defaultAction` to every call. */
  static create(defaultAction: number): SeccompFilter {
    const context = raw.init(defaultAction) as bigint | null;
    if (context === null || context === 0n) {
      throw new SyscallError(
        'seccomp_init',
        errno.EINVAL,
        `action 0x${defaultAction.toString(16)}`,
      );
    }
    // The calls as a binary tree, not one comparison after another: the kernel loads it
    // four times faster (Docker's profile: 0.24 against 0.95 ms here, on every start) and
    // each of the container's system calls takes O(log n) comparisons. libseccomp before
    // 2.5 lacks it and keeps the linear layout.
    raw.attrSet(context, SCMP_FLTATR_CTL_OPTIMIZE, BINARY_TREE);
    return new SeccompFilter(context);
  }

  /** Adds an architecture; the native one is already there (seccomp_init adds it). */
  addArch(token: number, name: string): void {
    const result = raw.archAdd(this.context, token) as number;
    if (result !== -EEXIST) check(result, 'seccomp_arch_add', name);
  }

  /**
   * One rule: `action` for `syscall` when every comparison holds. Not the exact variant:
   * libseccomp translates it for each architecture (on x86, socket() also covers the
   * socketcall() multiplexer) and skips architectures that lack the call.
   */
  addRule(
    action: number,
    syscall: number,
    comparisons: readonly ArgComparison[],
    name: string,
  ): void {
    const array = comparisons.map((comparison) => ({
      arg: comparison.arg,
      op: comparison.op,
      datum_a: comparison.datumA,
      datum_b: comparison.datumB,
    }));
    check(
      raw.ruleAddArray(
        this.context,
        action,
        syscall,
        array.length,
        array.length === 0 ? null : array,
      ) as number,
      'seccomp_rule_add_array',
      name,
    );
  }

  /** The program as the kernel takes it: the bytes of a struct sock_filter[]. */
  exportBpf(): Buffer {
    const fd = memfd('tocker-seccomp');
    try {
      check(raw.exportBpf(this.context, fd) as number, 'seccomp_export_bpf');
      const program = Buffer.alloc(fstatSync(fd).size);
      const read = readSync(fd, program, 0, program.length, 0);
      if (read !== program.length) {
        throw new Error(`seccomp_export_bpf: read ${read} of ${program.length} bytes back`);
      }
      return program;
    } finally {
      closeSync(fd);
    }
  }

  release(): void {
    raw.release(this.context);
  }
}

/** The library's version ("2.5.4"): a compiled program depends on it. */
export function libseccompVersion(): string {
  const version = koffi.decode(raw.version(), koffi.array('uint32_t', 3)) as number[];
  return version.join('.');
}
