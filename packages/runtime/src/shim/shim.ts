import { closeSync, writeSync } from 'node:fs';
import { TockerError } from '../errors.js';
import { SHIM_PATH } from '../paths.js';
import { identify, type ProcessIdentity } from '../proc.js';
import {
  close,
  errno,
  memfd,
  reapIfExited,
  SyscallError,
  socketPair,
  spawnProcess,
} from '../sys/libc.js';
import { sendDescriptors } from '../sys/sockets.js';
import { openChannel, type ShimChannel } from './channel.js';
import { encodePlan, type PlanStep } from './plan.js';

/** What the shim tells the runtime (see shim/main.c). */
export type ShimReport =
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'ready' }
  | { readonly kind: 'started' }
  | { readonly kind: 'error'; readonly exitCode: 125 | 126 | 127; readonly message: string }
  | { readonly kind: 'exit'; readonly status: number }
  | { readonly kind: 'closed' };

/** The shim finds its plan at 3, reports and is told on the socket at 4 (shim.h). */
export const CHANNEL_FD = 4;
/** The descriptors handed over for the plan to use start here. */
export const FIRST_PASSED_FD = 5;
/** A standby shim's argv[1] until its container is known (shim.h: room for the name). */
export const STANDBY_TITLE = 'standby'.padEnd(32);
const STANDBY_NAME_BYTES = STANDBY_TITLE.length;

/**
 * Shims are this process's children until they end (or it does): each is reaped when it
 * exits, so none lingers as a zombie in a long-lived agent.
 */
const running = new Set<number>();

function reapExited(): void {
  for (const pid of running) if (reapIfExited(pid) !== 0) running.delete(pid);
  if (running.size === 0) process.off('SIGCHLD', reapExited);
}

function reapWhenDone(pid: number): void {
  if (running.size === 0) process.on('SIGCHLD', reapExited);
  running.add(pid);
}

/**
 * A running tocker-shim, seen from the runtime: what it reported so far, and the commands
 * it takes ('g' start, 'c' the exit is recorded). Dropping the channel tells the shim the
 * runtime is gone. Reports are kept, so that several waiters (the start, the end) each
 * find theirs whenever they ask.
 */
export class Shim {
  private readonly reports: ShimReport[] = [];
  private readonly waiters: { kinds: readonly string[]; resolve: (report: ShimReport) => void }[] =
    [];
  private buffered = '';
  private readonly channel: ShimChannel;

  private constructor(
    /** The channel's descriptor, which commands are written to (see send()). */
    private readonly channelFd: number,
    readonly identity: ProcessIdentity,
  ) {
    this.channel = openChannel(channelFd, {
      text: (text) => {
        this.buffered += text;
        for (let newline = this.buffered.indexOf('\n'); newline >= 0; ) {
          this.push(parseReport(this.buffered.slice(0, newline)));
          this.buffered = this.buffered.slice(newline + 1);
          newline = this.buffered.indexOf('\n');
        }
      },
      closed: () => this.push({ kind: 'closed' }),
    });
  }

  /**
   * Starts a shim with `steps` as its plan; `passed[i]` becomes its descriptor
   * FIRST_PASSED_FD + i (what the plan refers to). It outlives this process. With a
   * `standby`, the shim it keeps waiting is handed the plan (a fresh one is spawned when
   * none waits). An engine's container (`inheritStdio`) gets this process's 0, 1 and 2:
   * the engine's, as it called.
   */
  static spawn(
    name: string,
    steps: readonly PlanStep[],
    passed: readonly number[],
    how: { readonly standby?: ShimStandby | null; readonly inheritStdio?: boolean } = {},
  ): Shim {
    const plan = memfd('tocker-plan');
    try {
      const bytes = encodePlan(steps);
      writeSync(plan, bytes, 0, bytes.length, 0);
      const waiting = how.standby?.take() ?? null;
      if (waiting !== null) {
        try {
          const title = Buffer.alloc(STANDBY_NAME_BYTES);
          title.write(name.slice(0, STANDBY_NAME_BYTES));
          sendDescriptors(waiting.channel, title, [plan, ...passed]);
          return new Shim(waiting.channel, waiting.identity);
        } catch {
          close(waiting.channel); // it died waiting: a fresh one takes its place
        }
      }
      // Nothing of this process's environment (a token, say) goes along: the plan has it all.
      const started = startShim(
        ['tocker-shim', name],
        (channel) => [plan, channel, ...passed],
        how.inheritStdio,
      );
      return new Shim(started.channel, started.identity);
    } finally {
      closeSync(plan);
    }
  }

  /** The first report of one of `kinds` (past or to come), or 'closed' if none comes. */
  until<K extends ShimReport['kind']>(
    ...kinds: K[]
  ): Promise<Extract<ShimReport, { kind: K | 'closed' }>> {
    const wanted = [...kinds, 'closed'] as readonly string[];
    const found = this.reports.find((report) => wanted.includes(report.kind));
    if (found !== undefined) return Promise.resolve(found as never);
    return new Promise((resolve) => {
      this.waiters.push({ kinds: wanted, resolve: resolve as (report: ShimReport) => void });
    });
  }

  /**
   * Written straight to the descriptor, not through the socket stream: a shim that has
   * already ended (a creation that failed while this process was not scheduled) makes the
   * write fail with EPIPE, and a stream destroys itself on a write error, dropping the
   * reports it had not read yet, which say why the shim ended. false: the shim is gone.
   */
  send(command: 'g' | 'c' | 'r'): boolean {
    if (!this.channel.open) return false;
    try {
      writeSync(this.channelFd, command);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EPIPE' && code !== 'ECONNRESET') throw error;
      return false;
    }
  }

  /** Lets go of the shim: it goes on alone (and knows the runtime is gone). */
  release(): void {
    this.channel.release();
  }

  private push(report: ShimReport): void {
    if (this.reports.at(-1)?.kind === 'closed') return;
    this.reports.push(report);
    for (const waiter of [...this.waiters]) {
      if (!waiter.kinds.includes(report.kind)) continue;
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(report);
    }
  }
}

/**
 * Spawns a shim with `fds(its end of a new channel)` as its descriptors; the runtime's end
 * of the channel and the process. One that failed at once is gone already: never alive,
 * its reports say why.
 */
function startShim(
  argv: readonly string[],
  fds: (channel: number) => readonly number[],
  inheritStdio = false,
): WaitingShim {
  const [ours, theirs] = socketPair();
  try {
    const pid = spawnProcess(SHIM_PATH, argv, [], fds(theirs), inheritStdio);
    reapWhenDone(pid);
    return { channel: ours, identity: identify(pid) ?? { pid, startTime: 0 } };
  } catch (error) {
    close(ours);
    if (error instanceof SyscallError && error.errno === errno.ENOENT)
      throw new TockerError(`${SHIM_PATH} is missing: run the set-up (npm run setup)`);
    throw error;
  } finally {
    close(theirs);
  }
}

/** A standby shim: the runtime's end of its channel, and the process. */
interface WaitingShim {
  readonly channel: number;
  readonly identity: ProcessIdentity;
}

/**
 * One shim started ahead of its container, for a runtime that starts containers one after
 * another (the agent): a start hands it the plan (shim/standby.c) instead of spawning a
 * process, which takes the spawn (and, on a busy machine, the wait for a core to exec it)
 * off the start's path. The next one is spawned once the caller's turn is over, while the
 * container it took sets itself up. It ends when its channel closes: close(), or this
 * process's end.
 */
export class ShimStandby {
  private waiting: WaitingShim | null = null;
  private refill: NodeJS.Immediate | null = null;
  private closed = false;

  constructor() {
    this.fill();
  }

  /** The waiting shim (its channel and identity, now the caller's), if one is ready. */
  take(): WaitingShim | null {
    const taken = this.waiting;
    this.waiting = null;
    if (!this.closed) this.refill ??= setImmediate(() => this.fill());
    return taken;
  }

  close(): void {
    this.closed = true;
    if (this.refill !== null) clearImmediate(this.refill);
    this.refill = null;
    if (this.waiting !== null) close(this.waiting.channel);
    this.waiting = null;
  }

  private fill(): void {
    this.refill = null;
    if (this.closed || this.waiting !== null) return;
    try {
      this.waiting = startShim(['tocker-shim', STANDBY_TITLE], (channel) => [channel]);
    } catch {
      // Starts go on spawning their shims, which report what is wrong.
    }
  }
}

export function parseReport(line: string): ShimReport {
  const [kind, ...rest] = line.split(' ');
  switch (kind) {
    case 'pid':
      return { kind, pid: Number(rest[0]) };
    case 'ready':
    case 'started':
      return { kind };
    case 'exit':
      return { kind, status: Number(rest[0]) };
    case 'error': {
      const code = Number(rest[0]);
      return {
        kind,
        exitCode: code === 126 || code === 127 ? code : 125,
        message: rest.slice(1).join(' '),
      };
    }
    default:
      return { kind: 'error', exitCode: 125, message: `tocker-shim said: ${line}` };
  }
}
