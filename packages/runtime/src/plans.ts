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

/**
 * Where a container's directory is once it is removed: a descriptor of the directory that
 * holds it, and its name there.
 */
export interface RemovedLocation {
  readonly parent: number;
  readonly name: string;
}

/** The runtime's own stand-in for when nobody is left to record a container's end. */
export interface Concluder {
  readonly argv: readonly string[];
  readonly env: readonly string[];
}

/**
 * Who looks after the container once it runs: tocker (its shim relays the output, records
 * the exit, and the container dies with it), or an OCI engine (conmon, containerd's shim),
 * whose subreaper the container is left to once it is ready, its stdio the engine's own.
 */
export type Supervision =
  | {
      readonly kind: 'tocker';
      readonly stdio: ShimStdio;
      readonly exitFile: number;
      /**
       * Where its directory is once it is removed, which the shim deletes when told so (a
       * container removed at its end); null: the runtime deletes it.
       */
      readonly removal: RemovedLocation | null;
      /** Dies when its creator does (a CLI run in the foreground). */
      readonly foreground: boolean;
      readonly concluder: Concluder;
    }
  | {
      readonly kind: 'engine';
      /** The engine's `start` opens this fifo (an O_PATH descriptor of it). */
      readonly startFifo: number;
      readonly hooks: EngineHooks;
      /** --console-socket: where the pty's master goes, and the size it starts with. */
      readonly console: {
        readonly socket: number;
        readonly rows: number;
        readonly columns: number;
      } | null;
    };

/** An OCI hook as a plan carries it: the state it gets on stdin is `before` + a pid + `after`. */
export interface PlannedHook {
  /** For errors: "createContainer hook #0". */
  readonly name: string;
  readonly stateBefore: string;
  readonly stateAfter: string;
  readonly path: string;
  readonly args: readonly string[];
  readonly env: readonly string[];
  /** Seconds; 0: none. */
  readonly timeout: number;
}

/** An engine's hooks by where they run (the spec's order). */
export interface EngineHooks {
  /** prestart then createRuntime: by the shim, in the runtime's namespaces. */
  readonly runtime: readonly PlannedHook[];
  /** In the container's namespaces, before its root changes. */
  readonly createContainer: readonly PlannedHook[];
  /** In the container, after `start`, before the user's program. */
  readonly startContainer: readonly PlannedHook[];
}

const hookArgs = (hook: PlannedHook) => [
  hook.name,
  hook.stateBefore,
  hook.stateAfter,
  hook.path,
  hook.timeout,
  hook.args.length,
  ...hook.args,
  ...hook.env,
];

/** Opened namespaces the container joins: null where it has its own, or the host's. */
export interface JoinedNamespaces {
  readonly pid: number | null;
  readonly net: number | null;
  readonly ipc: number | null;
  readonly uts: number | null;
  readonly cgroup: number | null;
}

export interface ContainerPlanInputs {
  readonly config: RuntimeConfig;
  /** null: the one its UTS namespace has (the host's, when it shares it). */
  readonly hostname: string | null;
  readonly env: readonly string[];
  readonly layout: RootfsLayout;
  /**
   * On networks: each interface's lease and the names of its veth pair, which the shim makes
   * once the child's namespaces exist; the first one carries the default route.
   */
  readonly networkInterfaces: readonly NetworkInterface[];
  readonly joined: JoinedNamespaces;
  /** The files the runtime wrote for the container (/etc/hosts...), opened, by target. */
  readonly etcFiles: readonly { readonly fd: number; readonly target: string }[];
  /** Sockets holding the container's published ports: the shim keeps them while it lives. */
  readonly heldSockets: readonly number[];
  /** Each mount's source, opened by the runtime (openMountSources): null for non-binds. */
  readonly mountSources: readonly (number | null)[];
  /** cgroup.procs of each hierarchy, opened on the host. */
  readonly cgroupProcs: readonly number[];
  /** The container's cgroup directories, by hierarchy (for a "cgroup" mount). */
  readonly cgroupDirs: readonly { readonly name: string; readonly path: string }[];
  readonly supervision: Supervision;
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
  const { config, supervision, joined } = inputs;
  const passed = new PassedFds();
  const tocker = supervision.kind === 'tocker' ? supervision : null;
  const engine = supervision.kind === 'engine' ? supervision : null;
  const stdio =
    tocker === null
      ? {
          steps: [step(Setting.report, CHANNEL_FD), step(Setting.control, CHANNEL_FD)],
          terminal: null,
        }
      : stdioSettings(tocker.stdio, passed);
  const settings = [
    step(Setting.mode, ShimMode.create),
    ...(joined.pid !== null
      ? [step(Setting.pidNamespace, passed.pass(joined.pid))]
      : config.linux.namespaces.pid === 'host'
        ? [step(Setting.sharePid)]
        : []),
    ...stdio.steps,
    // The shim moves its child into these while the child builds its root.
    ...inputs.cgroupProcs.map((fd) => step(Setting.cgroup, passed.pass(fd))),
    ...inputs.networkInterfaces.map(({ host, peer, lease }) =>
      step(Setting.veth, host, peer, lease.mac, lease.bridge),
    ),
    ...(engine === null
      ? []
      : engine.hooks.runtime.map((hook) => step(Setting.hook, ...hookArgs(hook)))),
    ...(tocker === null
      ? [step(Setting.engine, 1)]
      : [
          step(Setting.exitFile, passed.pass(tocker.exitFile)),
          ...(tocker.removal === null
            ? []
            : [step(Setting.removal, passed.pass(tocker.removal.parent), tocker.removal.name)]),
          step(Setting.concluder, ...tocker.concluder.argv),
          step(Setting.concluderEnv, ...tocker.concluder.env),
          ...(tocker.foreground ? [step(Setting.foreground)] : []),
        ]),
  ];
  const terminal = stdio.terminal !== null || (engine?.console ?? null) !== null;
  const bound: BoundFiles = {
    console: stdio.terminal,
    init: config.request.init ? inputs.initBinary : null,
    mountSources: inputs.mountSources.map((fd) => (fd === null ? null : passed.pass(fd))),
    etcFiles: inputs.etcFiles.map(({ fd, target }) => ({ fd: passed.pass(fd), target })),
    cgroupDirs: inputs.cgroupDirs,
  };
  const joinedInChild = {
    net: joined.net === null ? null : passed.pass(joined.net),
    ipc: joined.ipc === null ? null : passed.pass(joined.ipc),
    uts: joined.uts === null ? null : passed.pass(joined.uts),
  };
  const cgroupNamespace = joined.cgroup === null ? null : passed.pass(joined.cgroup);
  const startFifo = engine === null ? null : passed.pass(engine.startFifo);
  const consoleSocket = engine?.console == null ? null : passed.pass(engine.console.socket);
  for (const socket of inputs.heldSockets) passed.pass(socket);
  const command = config.process.args;
  const path = inputs.env.find((entry) => entry.startsWith('PATH='))?.slice(5) ?? null;
  const steps = [
    ...settings,
    // The shim going away (killed) takes the container with it: nothing then supervises
    // it. An engine's container outlives the shim by design: the engine supervises it.
    ...(tocker === null ? [] : [step(Op.prctl, PR_SET_PDEATHSIG, constants.signals.SIGKILL)]),
    ...rootfsSteps(
      config,
      inputs.layout,
      inputs.hostname,
      bound,
      joinedInChild,
      engine !== null,
      (engine?.hooks.createContainer ?? []).map((hook) => step(Op.hook, ...hookArgs(hook))),
    ),
    ...(engine?.console == null
      ? []
      : [step(Op.console, consoleSocket, engine.console.rows, engine.console.columns, 1)]),
    step(Op.mkdirTarget, config.process.cwd, 0o755, 1),
    step(Op.chdir, config.process.cwd),
    // "Not found" fails the creation, before anyone hears of the container.
    step(Op.checkExecutable, command[0] ?? '', path),
    ...sessionSteps(terminal),
    step(Op.newKeyring),
    ...(startFifo === null
      ? [step(Op.ready)]
      : [
          step(Op.ready, 0),
          step(Op.awaitStart, startFifo),
          ...(engine?.hooks.startContainer ?? []).map((hook) => step(Op.hook, ...hookArgs(hook))),
        ]),
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
    ...cgroupNamespaceSteps(config, cgroupNamespace),
    ...finalSteps(
      config,
      inputs.seccomp,
      config.request.init ? [INIT_PATH, '--', ...command] : command,
      inputs.env,
    ),
  ];
  return { steps, fds: passed.fds };
}

/** Its own cgroup namespace once it is in its cgroups (so its own are its root), or a joined one. */
function cgroupNamespaceSteps(config: RuntimeConfig, joined: number | null): PlanStep[] {
  if (joined !== null) return [step(Op.setns, joined, CLONE_NEWCGROUP)];
  return config.linux.namespaces.cgroup === 'own' ? [step(Op.unshare, CLONE_NEWCGROUP)] : [];
}

/**
 * An OCI engine's exec: the engine's stdio (or a pty sent over its console socket); a
 * detached one is left to the engine's subreaper once it runs, another ends with its caller.
 */
export interface EngineExecIo {
  readonly kind: 'engine';
  readonly console: {
    readonly socket: number;
    readonly rows: number;
    readonly columns: number;
  } | null;
  readonly detach: boolean;
}

export interface ExecPlanInputs {
  readonly config: RuntimeConfig;
  readonly args: readonly string[];
  readonly env: readonly string[];
  readonly cwd: string;
  /** A pidfd of the container's PID 1: its namespaces are joined through it. */
  readonly pidfd: number;
  readonly stdio: ShimStdio | EngineExecIo;
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
  const { stdio } = inputs;
  const engine = stdio.kind === 'engine' ? stdio : null;
  const consoleSocket = engine?.console == null ? null : passed.pass(engine.console.socket);
  const steps = [
    step(Setting.mode, ShimMode.exec),
    ...(stdio.kind === 'engine'
      ? [
          step(Setting.report, CHANNEL_FD),
          step(Setting.control, CHANNEL_FD),
          step(Setting.engine, stdio.detach ? 1 : 0),
        ]
      : stdioSettings(stdio, passed).steps),
    step(Setting.pidNamespace, pidfd),
    // An exec'd process ends with its client, as docker exec's (an engine's detached one
    // is the engine's to end).
    ...(engine?.detach
      ? []
      : [step(Setting.foreground), step(Op.prctl, PR_SET_PDEATHSIG, constants.signals.SIGKILL)]),
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
    ...(engine?.console == null
      ? []
      : [step(Op.console, consoleSocket, engine.console.rows, engine.console.columns, 0)]),
    step(Op.chdir, inputs.cwd),
    ...sessionSteps(stdio.kind === 'terminal' || engine?.console != null),
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
