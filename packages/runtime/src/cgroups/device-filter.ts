import { closeSync, constants, openSync } from 'node:fs';
import {
  attachProgram,
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_INSTRUCTION_BYTES,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  loadProgram,
} from '../sys/bpf.js';
import { checkDeviceRules, type DeviceRule } from './devices.js';

/**
 * cgroup v2 has no devices controller: a BPF program of type CGROUP_DEVICE attached to the
 * cgroup decides every mknod and every open of a device node (1 allows, 0 refuses with
 * EPERM). This file compiles a rule list (see DeviceRule) into such a program.
 *
 * The program tests the rules from the last to the first and returns the verdict of the
 * first one that matches: "the last matching rule wins", as in v1. The first rule is the
 * catch-all, so the last test always matches and nothing is left undecided.
 */

/** struct bpf_cgroup_dev_ctx, the program's input (linux/bpf.h). */
const CTX = { accessType: 0, major: 4, minor: 8 };
/** access_type is (access << 16) | device type. */
const DEVICE_TYPE_MASK = 0xffff;
const ACCESS_SHIFT = 16;
const DEVICE_TYPES = { b: 1, c: 2 } as const;
const ACCESS_BITS: Readonly<Record<string, number>> = { m: 1, r: 2, w: 4 };
const ALL_ACCESS = 7;

/** Registers: r0 is the result and r1 the context on entry; r2-r6 are free to use. */
const R0 = 0;
const R1 = 1;
const TYPE = 2;
const ACCESS = 3;
const MAJOR = 4;
const MINOR = 5;
const SCRATCH = 6;

/** Opcodes (linux/bpf_common.h, linux/bpf.h): 32-bit ALU, 64-bit jumps against constants. */
const OP = {
  loadWord: 0x61, // BPF_LDX | BPF_MEM | BPF_W
  move: 0xbc, // BPF_ALU | BPF_MOV | BPF_X
  moveConstant: 0xb4, // BPF_ALU | BPF_MOV | BPF_K
  andConstant: 0x54, // BPF_ALU | BPF_AND | BPF_K
  shiftRightConstant: 0x74, // BPF_ALU | BPF_RSH | BPF_K
  jumpIfEqual: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  jumpIfNotEqual: 0x55, // BPF_JMP | BPF_JNE | BPF_K
  jumpIfAnyBitSet: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  exit: 0x95, // BPF_JMP | BPF_EXIT
};

interface Instruction {
  readonly code: number;
  readonly dst: number;
  readonly src?: number;
  /** Jumps: how many instructions to skip; loads: the byte offset. */
  readonly offset?: number;
  readonly constant?: number;
}

function accessBits(access: string): number {
  return [...access].reduce((bits, letter) => bits | (ACCESS_BITS[letter] ?? 0), 0);
}

/** The context, unpacked into registers once for all the rules. */
const PROLOGUE: readonly Instruction[] = [
  { code: OP.loadWord, dst: TYPE, src: R1, offset: CTX.accessType },
  { code: OP.move, dst: ACCESS, src: TYPE },
  { code: OP.shiftRightConstant, dst: ACCESS, constant: ACCESS_SHIFT },
  { code: OP.andConstant, dst: TYPE, constant: DEVICE_TYPE_MASK },
  { code: OP.loadWord, dst: MAJOR, src: R1, offset: CTX.major },
  { code: OP.loadWord, dst: MINOR, src: R1, offset: CTX.minor },
];

/** A jump to the next rule's block, its distance known once the block is complete. */
type Test = Instruction & { readonly toNextRule?: true };

const toNextRuleIf = (code: number, dst: number, constant: number): Test => ({
  code,
  dst,
  constant,
  toNextRule: true,
});

/**
 * One rule: tests that jump to the next rule when the request is not the rule's, then the
 * rule's verdict. A test is left out when the rule accepts anything there.
 */
function ruleBlock(rule: DeviceRule): Instruction[] {
  const tests: Test[] = [];
  if (rule.type !== 'a') {
    tests.push(toNextRuleIf(OP.jumpIfNotEqual, TYPE, DEVICE_TYPES[rule.type]));
  }
  if (rule.major !== null) tests.push(toNextRuleIf(OP.jumpIfNotEqual, MAJOR, rule.major));
  if (rule.minor !== null) tests.push(toNextRuleIf(OP.jumpIfNotEqual, MINOR, rule.minor));
  const bits = accessBits(rule.access);
  if (bits !== ALL_ACCESS && rule.allow) {
    // An allow rule misses when anything it does not grant is asked for.
    tests.push(toNextRuleIf(OP.jumpIfAnyBitSet, ACCESS, ALL_ACCESS & ~bits));
  } else if (bits !== ALL_ACCESS) {
    // A deny rule misses when none of what it refuses is asked for.
    tests.push(
      { code: OP.move, dst: SCRATCH, src: ACCESS },
      { code: OP.andConstant, dst: SCRATCH, constant: bits },
      toNextRuleIf(OP.jumpIfEqual, SCRATCH, 0),
    );
  }
  const verdict: Instruction[] = [
    { code: OP.moveConstant, dst: R0, constant: rule.allow ? 1 : 0 },
    { code: OP.exit, dst: 0 },
  ];
  const length = tests.length + verdict.length;
  return [
    ...tests.map(({ toNextRule, ...test }, index) =>
      toNextRule ? { ...test, offset: length - index - 1 } : test,
    ),
    ...verdict,
  ];
}

function encode(instructions: readonly Instruction[]): Buffer {
  const buffer = Buffer.alloc(instructions.length * BPF_INSTRUCTION_BYTES);
  instructions.forEach((instruction, index) => {
    const at = index * BPF_INSTRUCTION_BYTES;
    buffer.writeUInt8(instruction.code, at);
    buffer.writeUInt8(instruction.dst | ((instruction.src ?? 0) << 4), at + 1);
    buffer.writeInt16LE(instruction.offset ?? 0, at + 2);
    buffer.writeInt32LE(instruction.constant ?? 0, at + 4);
  });
  return buffer;
}

/** The encoded program for a rule list; throws a TockerError for a list of the wrong shape. */
export function deviceFilterProgram(rules: readonly DeviceRule[]): Buffer {
  checkDeviceRules(rules);
  return encode([...PROLOGUE, ...[...rules].reverse().flatMap(ruleBlock)]);
}

/**
 * Loads the program and attaches it to the cgroup directory. BPF_F_ALLOW_MULTI keeps the
 * programs attached to ancestors (systemd's, say) in force as well: all must allow. The
 * attachment holds the program, so its descriptor is closed here; the program goes away
 * with the cgroup.
 */
export function attachDeviceFilter(cgroupDir: string, program: Buffer): void {
  const cgroupFd = openSync(cgroupDir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const programFd = loadProgram(BPF_PROG_TYPE_CGROUP_DEVICE, program, 'tocker_devices');
    try {
      attachProgram(cgroupFd, programFd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
    } finally {
      closeSync(programFd);
    }
  } finally {
    closeSync(cgroupFd);
  }
}
