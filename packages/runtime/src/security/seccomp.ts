import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { TockerError } from '../errors.js';
import { lazySchema } from '../lazy-schema.js';
import { nodeCrypto } from '../sys/builtins.js';
import { SyscallError } from '../sys/libc.js';
import {
  type ArgComparison,
  libseccompVersion,
  resolveArchName,
  resolveSyscallName,
  SCMP_ACT_ALLOW,
  SCMP_ACT_KILL_PROCESS,
  SCMP_ACT_KILL_THREAD,
  SCMP_ACT_LOG,
  SCMP_ACT_TRAP,
  SeccompFilter,
  scmpActErrno,
  scmpActTrace,
  scmpCompare,
} from '../sys/libseccomp.js';
import { capabilityMask } from './capabilities.js';

/**
 * Seccomp for containers: profiles in Docker's template format or the plain OCI
 * `linux.seccomp` format, rendered for one container (its capabilities, the architecture,
 * the kernel) and compiled to classic BPF here, in the parent. The container process only
 * installs the bytes, as its last step before execve.
 */

/** Docker's default profile; set-up (scripts/setup.mjs) fetches it from Debian. */
export const DEFAULT_SECCOMP_PROFILE = '/var/lib/tocker/seccomp/default.json';

const EPERM = 1;

const ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type SeccompAction = (typeof ACTIONS)[number];

type Operator = keyof typeof scmpCompare;
const OPERATORS = Object.keys(scmpCompare) as [Operator, ...Operator[]];

/** The flags argument of seccomp(SECCOMP_SET_MODE_FILTER) that a profile may ask for. */
const FILTER_FLAGS = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
} as const;
type FilterFlag = keyof typeof FILTER_FLAGS;
const FILTER_FLAG_NAMES = Object.keys(FILTER_FLAGS) as [FilterFlag, ...FilterFlag[]];

/** One of `values`; anything else is `unknown <what> "<value>"`. */
function oneOf<T extends string>(what: string, values: readonly [T, ...T[]]) {
  const known = z.enum(values as [T, ...T[]], {
    errorMap: (issue, context) =>
      issue.code === 'invalid_enum_value'
        ? { message: `unknown ${what} ${JSON.stringify(issue.received)}` }
        : { message: context.defaultError },
  });
  // A string first, so that a number is "expected string", not the whole list of values.
  return z.string().pipe(known);
}

/** Go writes an empty list as null, so Docker's own profiles may hold either. */
function list<T extends z.ZodTypeAny>(item: T) {
  return z
    .array(item)
    .nullish()
    .transform((items): z.output<T>[] => items ?? []);
}

/**
 * How a profile is checked (built when one first is: a start whose compiled program is
 * kept never checks its profile).
 */
const profileSchema = lazySchema(() => {
  const errnoSchema = z
    .number()
    .int('must be a whole number')
    .min(0, 'must be from 0 to 65535')
    .max(0xffff, 'must be from 0 to 65535');

  // JSON numbers above 2^53 reach JavaScript rounded: refuse them rather than filter on a
  // value the profile does not say.
  const datumSchema = z
    .number()
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .max(Number.MAX_SAFE_INTEGER, 'above 2^53-1, which JSON numbers cannot carry exactly');

  const architectureSchema = z
    .string()
    .regex(/^SCMP_ARCH_[A-Z0-9_]+$/, 'expected an SCMP_ARCH_* name');

  const kernelVersionSchema = z
    .string()
    .regex(/^\d+\.\d+$/, 'expected "<kernel>.<major>", e.g. "4.8"')
    .refine((version) => !/^0+\.0+$/.test(version), 'version cannot be 0.0');

  const conditionSchema = z
    .object({
      caps: list(z.string()),
      arches: list(z.string()),
      minKernel: kernelVersionSchema.nullish(),
    })
    .nullish()
    .transform((condition) => ({
      caps: condition?.caps ?? [],
      arches: condition?.arches ?? [],
      minKernel: condition?.minKernel ?? undefined,
    }));

  const argumentSchema = z.object({
    index: z
      .number()
      .int('must be a whole number')
      .min(0, 'system calls have arguments 0 to 5')
      .max(5, 'system calls have arguments 0 to 5'),
    value: datumSchema,
    valueTwo: datumSchema.default(0),
    op: oneOf('operator', OPERATORS),
  });

  const ruleSchema = z
    .object({
      name: z.string().optional(),
      names: list(z.string()),
      action: oneOf('action', ACTIONS),
      errnoRet: errnoSchema.nullish(),
      args: list(argumentSchema),
      includes: conditionSchema,
      excludes: conditionSchema,
    })
    .refine((rule) => rule.name === undefined || rule.names.length === 0, {
      message: 'use either name or names, not both',
    })
    .transform(({ name, names, ...rule }) => ({
      ...rule,
      names: name === undefined ? names : [name],
      errnoRet: rule.errnoRet ?? undefined,
    }));

  return z
    .object({
      defaultAction: oneOf('action', ACTIONS),
      defaultErrnoRet: errnoSchema.nullish(),
      architectures: list(architectureSchema),
      archMap: list(
        z.object({ architecture: architectureSchema, subArchitectures: list(architectureSchema) }),
      ),
      flags: list(oneOf('flag', FILTER_FLAG_NAMES)),
      syscalls: list(ruleSchema),
    })
    .refine((profile) => profile.architectures.length === 0 || profile.archMap.length === 0, {
      message: 'use either architectures or archMap, not both',
    })
    .transform((profile) => ({
      ...profile,
      defaultErrnoRet: profile.defaultErrnoRet ?? undefined,
    }));
});

/** A profile in Docker's template format (the OCI format is the same without conditions). */
export type SeccompProfile = z.output<typeof profileSchema>;
export type SeccompRule = SeccompProfile['syscalls'][number];
export type SeccompArgument = SeccompRule['args'][number];

/** The OCI runtime-spec `linux.seccomp` of one container: the template, rendered. */
export interface OciSeccomp {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet?: number;
  readonly architectures: readonly string[];
  readonly flags: readonly FilterFlag[];
  readonly syscalls: readonly OciSyscall[];
}

export interface OciSyscall {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args: readonly SeccompArgument[];
}

const profileErrors: z.ZodErrorMap = (issue, context) => {
  if (issue.code !== 'invalid_type') return { message: context.defaultError };
  return {
    message:
      issue.received === 'undefined'
        ? 'required'
        : `expected ${issue.expected}, got ${issue.received}`,
  };
};

/** Parses a profile's JSON text; a problem is a TockerError naming the field. */
export function parseProfile(text: string): SeccompProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TockerError(`seccomp profile: not valid JSON (${(error as Error).message})`);
  }
  return validateProfile(json);
}

/** Checks an already parsed profile (e.g. one held in a runtime configuration). */
export function validateProfile(json: unknown): SeccompProfile {
  const parsed = profileSchema.safeParse(json, { errorMap: profileErrors });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  throw new TockerError(
    `seccomp profile: ${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid'}`,
  );
}

/** The text of a profile file; the default one's absence says how to get it. */
export function readProfileText(path: string = DEFAULT_SECCOMP_PROFILE): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new TockerError(
      path === DEFAULT_SECCOMP_PROFILE
        ? `seccomp: the default profile ${path} is missing: set-up (npm start, npm test) installs it; --security-opt seccomp=unconfined runs without seccomp`
        : `seccomp profile ${path} does not exist`,
    );
  }
}

/** Docker's default profile, parsed once per process (the agent renders it per container). */
let dockerDefault: SeccompProfile | undefined;

export function defaultProfile(): SeccompProfile {
  dockerDefault ??= parseProfile(readProfileText(DEFAULT_SECCOMP_PROFILE));
  return dockerDefault;
}

/** Node's process.arch as Docker names architectures in profiles. */
const DOCKER_ARCHES: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: 'x86',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

/** Docker's architecture name → the native seccomp architecture that archMap lists. */
const NATIVE_SECCOMP_ARCHES: Readonly<Record<string, string>> = {
  amd64: 'SCMP_ARCH_X86_64',
  x86: 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  loong64: 'SCMP_ARCH_LOONGARCH64',
};

/** This host's architecture under Docker's name (amd64, arm64...). */
function hostDockerArch(): string {
  const arch = DOCKER_ARCHES[process.arch];
  if (arch === undefined) {
    throw new TockerError(`seccomp: unsupported architecture ${process.arch}`);
  }
  return arch;
}

export interface RenderTarget {
  /** The CAP_* names the container gets (what resolveCapabilities returns). */
  readonly capabilities: readonly string[];
  /** Docker's name of the architecture (amd64, arm64...); default: this host's. */
  readonly arch?: string;
  /** A kernel release such as "6.1.0-18-amd64"; default: the running kernel's. */
  readonly kernel?: string;
}

/** [kernel, major] of "6.1.0-18-amd64" or "4.8": the only parts minKernel compares. */
function kernelVersion(version: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (match === null) throw new TockerError(`seccomp: cannot read kernel version "${version}"`);
  return [Number(match[1]), Number(match[2])];
}

function kernelAtLeast(kernel: [number, number], minimum: string): boolean {
  const [major, minor] = kernelVersion(minimum);
  return kernel[0] > major || (kernel[0] === major && kernel[1] >= minor);
}

/**
 * The OCI form for one container, as Docker renders its template: a rule stays when every
 * `includes` condition holds (all its caps granted, the arch listed, the kernel at least
 * minKernel) and no `excludes` condition does (any of its caps granted, the arch listed,
 * the kernel at least minKernel). The architectures are the profile's own, plus the
 * archMap entry of the native one with its sub-architectures.
 */
export function renderProfile(profile: SeccompProfile, target: RenderTarget): OciSeccomp {
  const arch = target.arch ?? hostDockerArch();
  const kernel = kernelVersion(target.kernel ?? release());
  const granted = new Set(target.capabilities);
  const native = NATIVE_SECCOMP_ARCHES[arch];
  const mapped = profile.archMap.find((entry) => entry.architecture === native);

  const atLeast = (minimum: string | undefined) =>
    minimum !== undefined && kernelAtLeast(kernel, minimum);
  const applies = ({ includes, excludes }: SeccompRule): boolean =>
    !excludes.arches.includes(arch) &&
    !excludes.caps.some((cap) => granted.has(cap)) &&
    !atLeast(excludes.minKernel) &&
    (includes.arches.length === 0 || includes.arches.includes(arch)) &&
    includes.caps.every((cap) => granted.has(cap)) &&
    (includes.minKernel === undefined || atLeast(includes.minKernel));

  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet === undefined ? {} : { defaultErrnoRet: profile.defaultErrnoRet }),
    architectures: [
      ...profile.architectures,
      ...(mapped === undefined ? [] : [mapped.architecture, ...mapped.subArchitectures]),
    ],
    flags: profile.flags,
    syscalls: profile.syscalls.filter(applies).map((rule) => {
      const errnoRet =
        rule.errnoRet ?? (rule.action === 'SCMP_ACT_ERRNO' ? profile.defaultErrnoRet : undefined);
      return {
        names: rule.names,
        action: rule.action,
        ...(errnoRet === undefined ? {} : { errnoRet }),
        args: rule.args,
      };
    }),
  };
}

/** The libseccomp action; `errno` is what ERRNO returns and TRACE tells the tracer. */
function actionToken(action: SeccompAction, errno: number): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return SCMP_ACT_ALLOW;
    case 'SCMP_ACT_ERRNO':
      return scmpActErrno(errno);
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SCMP_ACT_KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SCMP_ACT_KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SCMP_ACT_TRAP;
    case 'SCMP_ACT_LOG':
      return SCMP_ACT_LOG;
    case 'SCMP_ACT_TRACE':
      return scmpActTrace(errno);
    case 'SCMP_ACT_NOTIFY':
      throw new TockerError(
        'seccomp profile: SCMP_ACT_NOTIFY is not supported (tocker runs no seccomp agent)',
      );
  }
}

function architectureToken(architecture: string): number {
  const token = resolveArchName(architecture.replace(/^SCMP_ARCH_/, '').toLowerCase());
  if (token === undefined) {
    throw new TockerError(`seccomp profile: architecture ${architecture} is unknown to libseccomp`);
  }
  return token;
}

function comparison(argument: SeccompArgument): ArgComparison {
  return {
    arg: argument.index,
    op: scmpCompare[argument.op],
    datumA: BigInt(argument.value),
    datumB: BigInt(argument.valueTwo),
  };
}

/**
 * The comparisons of one rule, as libseccomp takes them. libseccomp refuses two
 * comparisons of the same argument in one rule; runc then adds one rule per comparison
 * (any of them matching is enough), and so do we, to run the same profiles the same way.
 */
function ruleConditions(args: readonly SeccompArgument[]): ArgComparison[][] {
  const comparisons = args.map(comparison);
  const indexes = new Set(comparisons.map((each) => each.arg));
  return indexes.size === comparisons.length ? [comparisons] : comparisons.map((each) => [each]);
}

/**
 * Compiles a rendered profile to classic BPF: the bytes of a struct sock_filter[], for
 * seccomp(SECCOMP_SET_MODE_FILTER). Names this libseccomp does not know are skipped, as
 * Docker does (a profile may list calls newer than the library); they get the default
 * action. No no_new_privs attribute is set: it only affects seccomp_load(), which we
 * never call; the process that installs the program decides about no_new_privs.
 */
export function compileSeccomp(oci: OciSeccomp): Buffer {
  const fallbackErrno = oci.defaultErrnoRet ?? EPERM;
  const defaultAction = actionToken(oci.defaultAction, fallbackErrno);
  const filter = SeccompFilter.create(defaultAction);
  try {
    for (const architecture of oci.architectures) {
      filter.addArch(architectureToken(architecture), architecture);
    }
    for (const rule of oci.syscalls) {
      const action = actionToken(rule.action, rule.errnoRet ?? fallbackErrno);
      // libseccomp refuses a rule that only repeats the default action.
      if (action === defaultAction) continue;
      const conditions = ruleConditions(rule.args);
      for (const name of rule.names) {
        const syscall = resolveSyscallName(name);
        if (syscall === undefined) continue;
        for (const comparisons of conditions) filter.addRule(action, syscall, comparisons, name);
      }
    }
    return filter.exportBpf();
  } catch (error) {
    if (error instanceof SyscallError) throw new TockerError(`seccomp profile: ${error.message}`);
    throw error;
  } finally {
    filter.release();
  }
}

/** A compiled filter and the flags to install it with. */
export interface SeccompProgram {
  /** The bytes of a struct sock_filter[] (8 bytes an instruction). */
  readonly filter: Buffer;
  /** The flags argument of seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). */
  readonly flags: number;
}

/** Filter flags by name, as the shim passes them to seccomp(2). */
export function filterFlags(oci: OciSeccomp): number {
  return oci.flags.reduce((flags, flag) => flags | FILTER_FLAGS[flag], 0);
}

/**
 * The rendered profiles of this state root's containers, by digest: `<digest>.json` (the
 * OCI profile, kept from the container's creation on, so that a restart or an exec from
 * any process uses the very same filter) and `<digest>-<libseccomp version>-tree.program` (its
 * program, compiled once: its filter flags, then its instructions).
 * Containers with the same capabilities share one; a container's record names it by
 * digest instead of carrying ~20 KB of JSON through every state change.
 */
export class SeccompProfiles {
  private readonly programs = new Map<string, SeccompProgram>();

  constructor(readonly dir: string) {}

  /** Keeps a rendered profile; returns its digest. */
  keep(oci: OciSeccomp): string {
    const text = JSON.stringify(oci);
    // keepDefault() spares most runs the hash (and loading node:crypto).
    const digest = nodeCrypto().createHash('sha256').update(text).digest('hex');
    const file = this.file(digest, 'json');
    if (!existsSync(file)) writeAtomically(file, text);
    return digest;
  }

  /**
   * keep() of Docker's default profile rendered for `capabilities` on this host. Checking
   * the ~100 KB template and rendering it is most of a CLI run's configuration (~4 ms), and
   * its result depends only on the template file, the capabilities, the architecture and
   * the kernel: a small note per combination names the digest it rendered to.
   */
  keepDefault(capabilities: readonly string[]): string {
    const template = statSync(DEFAULT_SECCOMP_PROFILE, { bigint: true, throwIfNoEntry: false });
    if (template === undefined) return this.keep(renderProfile(defaultProfile(), { capabilities }));
    const inputs = [
      template.ino,
      template.size,
      template.mtimeNs,
      capabilityMask(capabilities).toString(16),
      hostDockerArch(),
      release(),
    ].join('-');
    const note = this.file(`default-${inputs}`, 'digest');
    try {
      const digest = readFileSync(note, 'utf8');
      if (/^[0-9a-f]{64}$/.test(digest) && existsSync(this.file(digest, 'json'))) return digest;
    } catch {}
    const digest = this.keep(renderProfile(defaultProfile(), { capabilities }));
    writeAtomically(note, digest);
    return digest;
  }

  /** The compiled program of a kept profile: from memory, from its file, or compiled. */
  program(digest: string): SeccompProgram {
    let program = this.programs.get(digest);
    if (program !== undefined) return program;
    // A compiled program spares a CLI start the profile's parsing, checking and rendering.
    // Named by what compiled it: programs of earlier builds had the linear layout.
    const binary = this.file(`${digest}-${libseccompVersion()}-tree`, 'program');
    program = readCachedProgram(binary);
    if (program === undefined) {
      program = this.compile(digest);
      writeAtomically(binary, encodeProgram(program));
    }
    this.programs.set(digest, program);
    return program;
  }

  private compile(digest: string): SeccompProgram {
    let text: string;
    try {
      text = readFileSync(this.file(digest, 'json'), 'utf8');
    } catch {
      throw new TockerError(
        `seccomp: the profile ${digest.slice(0, 12)} of this container is missing from ${this.dir}`,
      );
    }
    // A kept profile is already rendered: rendering it again only checks and types it.
    const oci = renderProfile(validateProfile(JSON.parse(text)), { capabilities: [] });
    return { filter: compileSeccomp(oci), flags: filterFlags(oci) };
  }

  private file(name: string, extension: string): string {
    return join(this.dir, `${name}.${extension}`);
  }
}

/** A program file: its flags (8 bytes, little-endian), then its instructions. */
const PROGRAM_HEADER = 8;

function encodeProgram(program: SeccompProgram): Buffer {
  const header = Buffer.alloc(PROGRAM_HEADER);
  header.writeBigUInt64LE(BigInt(program.flags));
  return Buffer.concat([header, program.filter]);
}

/** A program file as written by encodeProgram; undefined if missing or not whole. */
function readCachedProgram(file: string): SeccompProgram | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const instructions = bytes.length - PROGRAM_HEADER;
  if (instructions <= 0 || instructions % 8 !== 0) return undefined;
  return {
    flags: Number(bytes.readBigUInt64LE(0)),
    filter: bytes.subarray(PROGRAM_HEADER),
  };
}

/** Written whole or not at all; concurrent writers write the same bytes. */
function writeAtomically(file: string, content: string | Buffer): void {
  const staging = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(staging, content, { mode: 0o600 });
    renameSync(staging, file);
  } catch (error) {
    rmSync(staging, { force: true });
    throw error;
  }
}
