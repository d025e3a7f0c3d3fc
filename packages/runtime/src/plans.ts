import { constants } from 'node:os';
import type { Rlimit, RuntimeConfig } from './config/runtime-config.js';
import type { NetworkInterface } from './network/index.js';
import { type BoundFiles, INIT_PATH, type RootfsLayout, rootfsSteps } from './rootfs.js';
import { capabilityMask } from './security/capabilities.js';
import type { SeccompProgram } from './security/seccomp.js';
import { Op, type PlanStep, Setting, ShimMode, step } from './shim/plan.js';
import { CHANNEL_FD, FIRST_PASSED_FD } from './shim/shim.js';
import {
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  PR_SET_PDEATHSIG,
} from './sys/libc.js';

const PR_SET_NO_NEW_PRIVS = 38;

/**
 * Where a container's shim holds its pty master: an agent that restarts takes it back
 * from there (pidfd_getfd), so shells outlive the agent.
 */
export const KEPT_TERMINAL_FD = FIRST_PASSED_FD + 1;
const JOIN = Buffer.from('0');

/**
 * The descriptors a shim gets, in order: passed[i] is its descriptor FIRST_PASSED_FD + i,
 * which is what the plan names.
 */
export class PassedFds {
  readonly fds: number[] = [];

  pass(fd: number): number {
    this.fds.push(fd);
    return FIRST_PASSED_FD + this.fds.length - 1;
  }
}

/** What the container's stdio is: a pty slave, or pipes the shim relays (to a log or the CLI). */
export type ShimStdio =
  | { readonly kind: 'terminal'; readonly slave: number; readonly keep: number | null }
  | {
      readonly kind: 'pipes';
      /** Relayed into the container's stdin; null: stdin is at its end. */
      readonly stdin: number | null;
      readonly stdout: number;
      readonly stderr: number;
      /** The output goes to a log: a full disk drops it, and the log says so. */
      readonly log: boolean;
    };

/** The runtime's own stand-in for when nobody is left to record a container's end. */
export interface Concluder {
  readonly argv: readonly string[];
  readonly env: readonly string[];
}

export interface ContainerPlanInputs {
  readonly config: RuntimeConfig;
  readonly hostname: string;
  readonly env: readonly string[];
  readonly layout: RootfsLayout;
  /**
   * On networks: each interface's lease and the names of its veth pair, which the shim makes
   * once the child's namespaces exist; the first one carries the default route.
   */
  readonly networkInterfaces: readonly NetworkInterface[];
  /** container:NAME: that container's network namespace, opened. */
  readonly networkNamespace: number | null;
  /** --pid container:NAME: that container's PID namespace, opened (the shim forks into it). */
  readonly pidNamespace: number | null;
  /** The files the runtime wrote for the container (/etc/hosts...), opened, by target. */
  readonly etcFiles: readonly { readonly fd: number; readonly target: string }[];
  /** Sockets holding the container's published ports: the shim keeps them while it lives. */
  readonly heldSockets: readonly number[];
  /** Each mount's source, opened by the runtime (openMountSources): null for non-binds. */
  readonly mountSources: readonly (number | null)[];
  readonly stdio: ShimStdio;
  /** cgroup.procs of each hierarchy, opened on the host. */
  readonly cgroupProcs: readonly number[];
  readonly exitFile: number;
  /** Dies when its creator does (a CLI run in the foreground). */
  readonly foreground: boolean;
  readonly concluder: Concluder;
  readonly initBinary: string;
  readonly seccomp: SeccompProgram | null;
}

/**
 * A container's creation: the shim forks PID 1 of a new PID namespace and moves it into
 * its cgroups while it builds the root; it reports ready and waits for the start (which
 * the shim lets through only once it is in its cgroups: nothing of the user's runs
 * unlimited); then it takes its own cgroup namespace, drops to its capabilities and
 * seccomp filter, and execs the command (through tini with --init).
 */
export function containerPlan(inputs: ContainerPlanInputs): { steps: PlanStep[]; fds: number[] } {
  const { config } = inputs;
  const passed = new PassedFds();
  const stdio = stdioSettings(inputs.stdio, passed);
  const settings = [
    step(Setting.mode, ShimMode.create),
    ...(inputs.pidNamespace === null
      ? []
      : [step(Setting.pidNamespace, passed.pass(inputs.pidNamespace))]),
    ...stdio.steps,
    step(Setting.exitFile, passed.pass(inputs.exitFile)),
    // The shim moves its child into these while the child builds its root.
    ...inputs.cgroupProcs.map((fd) => step(Setting.cgroup, passed.pass(fd))),
    ...inputs.networkInterfaces.map(({ host, peer, lease }) =>
      step(Setting.veth, host, peer, lease.mac, lease.bridge),
    ),
    step(Setting.concluder, ...inputs.concluder.argv),
    step(Setting.concluderEnv, ...inputs.concluder.env),
    ...(inputs.foreground ? [step(Setting.foreground)] : []),
  ];
  const terminal = inputs.stdio.kind === 'terminal';
  const bound: BoundFiles = {
    console: stdio.terminal,
    init: config.request.init ? inputs.initBinary : null,
    mountSources: inputs.mountSources.map((fd) => (fd === null ? null : passed.pass(fd))),
    etcFiles: inputs.etcFiles.map(({ fd, target }) => ({ fd: passed.pass(fd), target })),
    networkNamespace:
      inputs.networkNamespace === null ? null : passed.pass(inputs.networkNamespace),
  };
  for (const socket of inputs.heldSockets) passed.pass(socket);
  const command = config.process.args;
  const path = inputs.env.find((entry) => entry.startsWith('PATH='))?.slice(5) ?? null;
  const steps = [
    ...settings,
    // The shim going away (killed) takes the container with it: nothing then supervises it.
    step(Op.prctl, PR_SET_PDEATHSIG, constants.signals.SIGKILL),
    ...rootfsSteps(config, inputs.layout, inputs.hostname, bound),
    step(Op.mkdirTarget, config.process.cwd, 0o755, 1),
    step(Op.chdir, config.process.cwd),
    // "Not found" fails the creation, before anyone hears of the container.
    step(Op.checkExecutable, command[0] ?? '', path),
    ...sessionSteps(terminal),
    step(Op.newKeyring),
    step(Op.ready),
    // Its interfaces came in while it built its root: named, addressed, the first routed.
    ...inputs.networkInterfaces.map(({ peer, lease }, index) =>
      step(
        Op.netInterface,
        peer,
        `eth${index}`,
        lease.address,
        lease.prefix,
        index === 0 ? lease.gateway : '',
      ),
    ),
    step(Op.unshare, CLONE_NEWCGROUP),
    ...finalSteps(
      config,
      inputs.seccomp,
      config.request.init ? [INIT_PATH, '--', ...command] : command,
      inputs.env,
    ),
  ];
  return { steps, fds: passed.fds };
}

export interface ExecPlanInputs {
  readonly config: RuntimeConfig;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  /** A pidfd of the container's PID 1: its namespaces are joined through it. */
  readonly pidfd: number;
  readonly stdio: ShimStdio;
  readonly cgroupProcs: readonly number[];
  readonly seccomp: SeccompProgram | null;
}

/**
 * A new process in a running container: born in its PID namespace, it joins its cgroups,
 * then its other namespaces (the mount namespace brings its root), and from there it is
 * made exactly like the container's own process: same capabilities, filter, keyring rules.
 */
export function execPlan(inputs: ExecPlanInputs): { steps: PlanStep[]; fds: number[] } {
  const passed = new PassedFds();
  const pidfd = passed.pass(inputs.pidfd);
  const steps = [
    step(Setting.mode, ShimMode.exec),
    ...stdioSettings(inputs.stdio, passed).steps,
    step(Setting.pidNamespace, pidfd),
    step(Setting.foreground), // an exec'd process ends with its client, as docker exec's
    step(Op.prctl, PR_SET_PDEATHSIG, constants.signals.SIGKILL),
    ...inputs.cgroupProcs.map((fd) => step(Op.writeClose, passed.pass(fd), JOIN, 'cgroup.procs')),
    step(
      Op.setns,
      pidfd,
      CLONE_NEWNS |
        CLONE_NEWUTS |
        CLONE_NEWIPC |
        CLONE_NEWNET |
        CLONE_NEWCGROUP |
        // Its user namespace first (the kernel orders them): the others belong to it.
        (inputs.config.linux.namespaces.user === 'own' ? CLONE_NEWUSER : 0),
    ),
    step(Op.chdir, inputs.cwd),
    ...sessionSteps(inputs.stdio.kind === 'terminal'),
    step(Op.newKeyring),
    ...finalSteps(inputs.config, inputs.seccomp, inputs.args, inputs.env),
  ];
  return { steps, fds: passed.fds };
}

/** The shim's stdio settings; `terminal`: the shim's (and its child's) descriptor of the slave. */
function stdioSettings(
  stdio: ShimStdio,
  passed: PassedFds,
): { steps: PlanStep[]; terminal: number | null } {
  const channel = [step(Setting.report, CHANNEL_FD), step(Setting.control, CHANNEL_FD)];
  if (stdio.kind === 'terminal') {
    const terminal = passed.pass(stdio.slave);
    return {
      steps: [
        ...channel,
        step(Setting.terminal, terminal),
        ...(stdio.keep === null ? [] : [step(Setting.keep, keepAt(passed, stdio.keep))]),
      ],
      terminal,
    };
  }
  return {
    steps: [
      ...channel,
      ...(stdio.stdin === null ? [] : [step(Setting.stdin, passed.pass(stdio.stdin))]),
      step(Setting.stdout, passed.pass(stdio.stdout)),
      step(Setting.stderr, passed.pass(stdio.stderr)),
      ...(stdio.log ? [step(Setting.outputIsLog)] : []),
    ],
    terminal: null,
  };
}

function keepAt(passed: PassedFds, fd: number): number {
  const kept = passed.pass(fd);
  if (kept !== KEPT_TERMINAL_FD)
    throw new Error('the kept terminal must come right after its slave');
  return kept;
}

function sessionSteps(terminal: boolean): PlanStep[] {
  return [
    step(Op.stdio),
    // A session of its own: the signals a terminal sends the CLI's group never reach it.
    step(Op.setsid),
    ...(terminal ? [step(Op.controllingTty)] : []),
  ];
}

/**
 * The last steps before execve. Without no_new_privs, installing a seccomp filter needs
 * CAP_SYS_ADMIN, so the filter goes first and the capabilities are dropped after it (the
 * filter must then allow capset and prctl, as docker's does); with it, capabilities first.
 */
/** The kernel's resource numbers (asm-generic/resource.h). */
const RLIMIT_NUMBERS: Record<Rlimit['type'], number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

function finalSteps(
  config: RuntimeConfig,
  seccomp: SeccompProgram | null,
  args: readonly string[],
  env: readonly string[],
): PlanStep[] {
  const caps = config.process.capabilities;
  const capabilities = step(
    Op.capabilities,
    capabilityMask(caps.bounding),
    capabilityMask(caps.effective),
    capabilityMask(caps.permitted),
    capabilityMask(caps.inheritable),
    capabilityMask(caps.ambient),
  );
  const filter = seccomp === null ? [] : [step(Op.seccomp, seccomp.filter, seccomp.flags)];
  const security = config.process.noNewPrivileges
    ? [capabilities, step(Op.prctl, PR_SET_NO_NEW_PRIVS, 1), ...filter]
    : [...filter, capabilities];
  const { uid, gid, additionalGids } = config.process.user;
  return [
    step(Op.closeFrom, 3),
    // While it still has every capability: a hard limit raised, a score lowered.
    ...config.process.rlimits.map(({ type, soft, hard }) =>
      step(
        Op.setrlimit,
        RLIMIT_NUMBERS[type],
        soft,
        hard,
        `ulimit ${type.slice('RLIMIT_'.length).toLowerCase()}`,
      ),
    ),
    step(
      Op.writePath,
      '/proc/self/oom_score_adj',
      String(config.process.oomScoreAdj),
      'oom-score-adj',
    ),
    step(Op.setuser, uid, gid, additionalGids.length, ...additionalGids),
    ...security,
    step(Op.exec, args.length, ...args, ...env),
  ];
}
