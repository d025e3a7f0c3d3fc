/**
 * The plan tocker-shim carries out (format and meaning: packages/runtime/shim/shim.h).
 * The runtime decides everything here, in TypeScript; the shim only performs it. The
 * numbers must match shim.h (test/shim-plan.test.ts compares them).
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

/** The bytes tocker-shim reads from its descriptor 3. */
export function encodePlan(steps: readonly PlanStep[]): Buffer {
  const parts: Buffer[] = [Buffer.from('TKS1'), u32(steps.length)];
  for (const { code, args } of steps) {
    const header = Buffer.alloc(4);
    header.writeUInt16LE(code, 0);
    header.writeUInt16LE(args.length, 2);
    parts.push(header);
    for (const arg of args) parts.push(...encodeArg(arg));
  }
  return Buffer.concat(parts);
}

function encodeArg(arg: PlanArg): Buffer[] {
  if (typeof arg === 'number' || typeof arg === 'bigint') {
    const value = Buffer.alloc(9);
    value[0] = NUMBER;
    value.writeBigInt64LE(BigInt.asIntN(64, BigInt(arg)), 1);
    return [value];
  }
  const bytes =
    arg === null ? Buffer.alloc(0) : typeof arg === 'string' ? Buffer.from(`${arg}\0`) : arg;
  if (typeof arg === 'string' && arg.includes('\0'))
    throw new Error(`a plan string must not contain NUL: ${JSON.stringify(arg)}`);
  return [Buffer.from([BYTES]), u32(bytes.length), bytes];
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value, 0);
  return bytes;
}
