import { type StdioOptions, spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { TockerError } from '../errors.js';
import { SHIM_PATH } from '../paths.js';
import { identify, type ProcessIdentity } from '../proc.js';
import { memfd } from '../sys/libc.js';
import { encodePlan, type PlanStep } from './plan.js';

/** What the shim tells the runtime (see shim/main.c). */
export type ShimReport =
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'ready' }
  | { readonly kind: 'started' }
  | { readonly kind: 'error'; readonly exitCode: 125 | 126 | 127; readonly message: string }
  | { readonly kind: 'exit'; readonly status: number }
  | { readonly kind: 'closed' };

/** Where the shim finds its plan, and the socket it reports on and is told on. */
const PLAN_FD = 3;
export const CHANNEL_FD = 4;
/** The descriptors handed over for the plan to use start here. */
export const FIRST_PASSED_FD = 5;

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

  private constructor(
    private readonly channel: Duplex,
    readonly identity: ProcessIdentity,
  ) {
    channel.setEncoding('utf8');
    channel.on('data', (text: string) => {
      this.buffered += text;
      for (let newline = this.buffered.indexOf('\n'); newline >= 0; ) {
        this.push(parseReport(this.buffered.slice(0, newline)));
        this.buffered = this.buffered.slice(newline + 1);
        newline = this.buffered.indexOf('\n');
      }
    });
    channel.on('error', () => {}); // the shim went away: 'close' says so
    channel.on('close', () => this.push({ kind: 'closed' }));
  }

  /**
   * Starts a shim with `steps` as its plan; `passed[i]` becomes its descriptor
   * FIRST_PASSED_FD + i (what the plan refers to). It outlives this process.
   */
  static spawn(name: string, steps: readonly PlanStep[], passed: readonly number[]): Shim {
    const plan = memfd('tocker-plan');
    try {
      const bytes = encodePlan(steps);
      writeSync(plan, bytes, 0, bytes.length, 0);
      const stdio: StdioOptions = ['ignore', 'ignore', 'ignore'];
      stdio[PLAN_FD] = plan;
      stdio[CHANNEL_FD] = 'pipe';
      passed.forEach((fd, index) => {
        stdio[FIRST_PASSED_FD + index] = fd;
      });
      // Nothing of this process's environment (a token, say) goes along: the plan has it all.
      const child = spawn(SHIM_PATH, [name], { stdio, detached: true, env: {} });
      child.on('error', () => {}); // a missing binary: pid is undefined, reported below
      child.unref();
      const channel = child.stdio[CHANNEL_FD] as Duplex | null;
      if (channel === null || child.pid === undefined) {
        throw new TockerError(`cannot start ${SHIM_PATH}: run the set-up (npm run setup)`);
      }
      // One that failed at once is gone already: never alive, its reports say why.
      return new Shim(channel, identify(child.pid) ?? { pid: child.pid, startTime: 0 });
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

  send(command: 'g' | 'c'): void {
    if (!this.channel.destroyed) this.channel.write(command);
  }

  /** Lets go of the shim: it goes on alone (and knows the runtime is gone). */
  release(): void {
    this.channel.destroy();
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

function parseReport(line: string): ShimReport {
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
