/**
 * The plan tocker-shim carries out (format and meaning: packages/runtime/shim/shim.h).
 * The runtime decides everything here, in TypeScript; the shim only performs it. The
 * numbers must match shim.h (test/shim-header.test.ts compares them).
 */

export const Setting = {
  mode: 1,
  report: 2,
  control: 3,
  stdin: 4,
  stdout: 5,
  stderr: 6,
  outputIsLog: 7,
  terminal: 8,
  keep: 9,
  exitFile: 10,
  foreground: 11,
  concluder: 12,
  concluderEnv: 13,
  pidNamespace: 14,
  cgroup: 15,
  veth: 16,
  sharePid: 17,
  engine: 18,
  hook: 19,
  userNamespace: 20,
  idmappedRoot: 21,
  tree: 22,
  removal: 23,
} as const;

export const Op = {
  unshare: 32,
  setns: 33,
  mount: 34,
  umount: 35,
  pivotRoot: 36,
  mkdirTarget: 37,
  fileTarget: 38,
  mknod: 39,
  symlink: 40,
  openTree: 41,
  moveMount: 42,
  sethostname: 43,
  loopbackUp: 44,
  chdir: 45,
  stdio: 46,
  setsid: 47,
  controllingTty: 48,
  prctl: 49,
  writeClose: 50,
  newKeyring: 51,
  setrlimit: 52,
  capabilities: 53,
  seccomp: 54,
  ready: 55,
  closeFrom: 56,
  checkExecutable: 57,
  exec: 58,
  chmod: 59,
  setuser: 60,
  mountOverlay: 61,
  copyInto: 62,
  netInterface: 63,
  namespacesMade: 64,
  writePath: 65,
  awaitStart: 66,
  setdomainname: 67,
  console: 68,
  hook: 69,
  receiveRoot: 70,
  enterTree: 71,
} as const;

export const ShimMode = { create: 1, exec: 2 } as const;

/** An argument: a number (i64), a string (NUL-terminated), raw bytes, or null. */
export type PlanArg = number | bigint | string | Buffer | null;

export interface PlanStep {
  readonly code: number;
  readonly args: readonly PlanArg[];
}

export const step = (code: number, ...args: PlanArg[]): PlanStep => ({ code, args });

const NUMBER = 1;
const BYTES = 2;

/**
 * The bytes tocker-shim reads from its descriptor 3. Measured first, then written into one
 * buffer: a plan has hundreds of arguments, and a buffer (and a BigInt) for each cost a
 * CLI start about a millisecond.
 */
export function encodePlan(steps: readonly PlanStep[]): Buffer {
  let size = 8;
  for (const { args } of steps) {
    size += 4;
    for (const arg of args) size += argSize(arg);
  }
  const plan = Buffer.allocUnsafe(size);
  plan.write('TKS1', 0, 'latin1');
  let offset = plan.writeUInt32LE(steps.length, 4);
  for (const { code, args } of steps) {
    offset = plan.writeUInt16LE(code, offset);
    offset = plan.writeUInt16LE(args.length, offset);
    for (const arg of args) offset = writeArg(plan, offset, arg);
  }
  return plan;
}

function argSize(arg: PlanArg): number {
  if (typeof arg === 'number' || typeof arg === 'bigint') return 9;
  if (typeof arg === 'string') {
    if (arg.includes('\0'))
      throw new Error(`a plan string must not contain NUL: ${JSON.stringify(arg)}`);
    return 5 + Buffer.byteLength(arg) + 1;
  }
  return 5 + (arg === null ? 0 : arg.length);
}

/** `arg` at `offset` (argSize(arg) bytes); the offset after it. */
function writeArg(plan: Buffer, offset: number, arg: PlanArg): number {
  if (typeof arg === 'number' || typeof arg === 'bigint') {
    plan[offset] = NUMBER;
    if (typeof arg === 'number' && Number.isSafeInteger(arg)) {
      // Two's complement in two halves, without a BigInt.
      const high = Math.floor(arg / 2 ** 32);
      plan.writeUInt32LE(arg - high * 2 ** 32, offset + 1);
      return plan.writeInt32LE(high, offset + 5);
    }
    return plan.writeBigInt64LE(BigInt.asIntN(64, BigInt(arg)), offset + 1);
  }
  plan[offset] = BYTES;
  if (typeof arg === 'string') {
    const length = plan.write(arg, offset + 5);
    plan.writeUInt32LE(length + 1, offset + 1);
    plan[offset + 5 + length] = 0;
    return offset + 5 + length + 1;
  }
  const bytes = arg ?? Buffer.alloc(0);
  plan.writeUInt32LE(bytes.length, offset + 1);
  bytes.copy(plan, offset + 5);
  return offset + 5 + bytes.length;
}
