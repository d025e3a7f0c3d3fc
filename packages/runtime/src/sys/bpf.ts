import { koffi } from './koffi.js';
import { SyscallError } from './libc.js';

/**
 * bpf(2): loading a program and attaching it to a cgroup. The argument is union bpf_attr
 * (linux/bpf.h), laid out here in a Buffer; its offsets are the same on every 64-bit
 * architecture. Fields the kernel knows but we do not pass count as zero.
 */

const libc = koffi.load('libc.so.6');

const raw = {
  // syscall() reads every argument as a long.
  syscall: libc.func('long syscall(long number, long command, void *attr, unsigned long size)'),
};

const SYS_bpf = process.arch === 'arm64' ? 280 : 321;
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;

export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
/** Programs attached above keep running below too, and all of them must agree. */
export const BPF_F_ALLOW_MULTI = 1 << 1;

const PROG_LOAD = {
  progType: 0,
  insnCount: 4,
  insns: 8,
  license: 16,
  progName: 48,
  /** Through expected_attach_type: everything up to there is ours or zero. */
  size: 72,
};
/** 16 bytes with the NUL; the kernel takes letters, digits, "_" and "." (EINVAL otherwise). */
const PROG_NAME_MAX = 15;

const PROG_ATTACH = { targetFd: 0, attachBpfFd: 4, attachType: 8, attachFlags: 12, size: 16 };

/** struct bpf_insn */
export const BPF_INSTRUCTION_BYTES = 8;

/** `size`: the attribute bytes at the start of `attr` (what follows them is pointed at). */
function bpf(command: number, attr: Buffer, size: number, call: string, subject?: string): number {
  const result = Number(raw.syscall(SYS_bpf, command, attr, size));
  if (result < 0) throw new SyscallError(call, koffi.errno(), subject);
  return result;
}

/**
 * Loads a program (encoded struct bpf_insn) and returns its file descriptor; the name is
 * what bpftool and /proc/<pid>/fdinfo show. The
 * instructions and the license travel in the same Buffer as the attributes that point at
 * them: that Buffer is an argument of the call, so it stays alive while the kernel reads.
 * The license (empty) only matters to GPL-only helper functions, which these programs do
 * not call.
 */
export function loadProgram(type: number, instructions: Buffer, name: string): number {
  const attr = Buffer.alloc(PROG_LOAD.size + instructions.length + 1); // + the license's NUL
  instructions.copy(attr, PROG_LOAD.size);
  const base = koffi.address(attr);
  attr.writeUInt32LE(type, PROG_LOAD.progType);
  attr.writeUInt32LE(instructions.length / BPF_INSTRUCTION_BYTES, PROG_LOAD.insnCount);
  attr.writeBigUInt64LE(base + BigInt(PROG_LOAD.size), PROG_LOAD.insns);
  attr.writeBigUInt64LE(base + BigInt(PROG_LOAD.size + instructions.length), PROG_LOAD.license);
  attr.write(name, PROG_LOAD.progName, PROG_NAME_MAX, 'latin1');
  return bpf(BPF_PROG_LOAD, attr, PROG_LOAD.size, 'bpf(BPF_PROG_LOAD)', name);
}

export function attachProgram(
  targetFd: number,
  programFd: number,
  attachType: number,
  flags: number,
): void {
  const attr = Buffer.alloc(PROG_ATTACH.size);
  attr.writeUInt32LE(targetFd, PROG_ATTACH.targetFd);
  attr.writeUInt32LE(programFd, PROG_ATTACH.attachBpfFd);
  attr.writeUInt32LE(attachType, PROG_ATTACH.attachType);
  attr.writeUInt32LE(flags, PROG_ATTACH.attachFlags);
  bpf(BPF_PROG_ATTACH, attr, PROG_ATTACH.size, 'bpf(BPF_PROG_ATTACH)');
}
