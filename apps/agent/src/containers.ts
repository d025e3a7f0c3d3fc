import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageStore } from '@tocker/images';
import {
  type ContainerLimits,
  type ContainerSpec,
  type ContainerView,
  SCROLLBACK_BYTES,
  type TerminalSessionInfo,
  type TerminalSize,
} from '@tocker/protocol';
import {
  type Container,
  type CorruptRecord,
  type CreateOptions,
  type ExecOptions,
  type ExecProcess,
  KEPT_TERMINAL_FD,
  openTerminal,
  parseLimits,
  parseSignal,
  type RootfsPolicy,
  type Runtime,
  TockerError,
  takeFd,
  viewOf,
} from '@tocker/runtime';
import { TerminalSession } from './terminal.js';

export type ExecRequest = Omit<ExecOptions, 'tty'>;

const DEFAULT_SIZE: TerminalSize = { cols: 80, rows: 24 };

/** What the reply of an exec without a terminal carries at most. */
const EXEC_OUTPUT_BYTES = 1024 * 1024;

/**
 * The containers this agent runs. They are detached (they outlive the agent) and their
 * output goes to their log file; every transition is logged by the runtime, and
 * `changed` lets the journal pick it up at once rather than at its next poll.
 */
export class ContainerHost {
  private readonly terminals = new Map<string, TerminalSession>();
  constructor(
    private readonly runtime: Runtime,
    /** The image store of the agent's root (TOCKER_ROOT/store). */
    private readonly images: ImageStore,
    private readonly changed: () => void,
    /** Which root filesystems requests may name: the images this agent knows. */
    private readonly rootfs: RootfsPolicy,
    /** What a request that does not say gets: a user namespace of its own, or the host's. */
    private readonly defaultUserns: 'auto' | 'host' = 'host',
  ) {}

  /**
   * Takes up the containers a previous agent left running, with their terminals: each
   * pty master comes back from the container's shim (which kept it), the scrollback from
   * the log. Their shims record their ends; this agent learns of them.
   */
  watchDetached(): number {
    const watched = this.runtime.watchDetached();
    for (const container of watched) {
      const master = container.state.config.process.terminal
        ? takeKeptTerminal(container.state.supervisor.pid)
        : null;
      if (master !== null) {
        const { text } = this.runtime.logs(container.id, { tail: SCROLLBACK_BYTES });
        this.openSession(container, master, DEFAULT_SIZE, Buffer.from(text));
      }
      this.supervise(container);
    }
    return watched.length;
  }

  run(spec: ContainerSpec, size: TerminalSize = DEFAULT_SIZE): Promise<ContainerView> {
    if (spec.interactive && !spec.tty) {
      // There is no stdin channel besides a terminal: refuse rather than ignore it.
      return Promise.reject(
        new TockerError('interactive without tty is not supported by the agent: add tty'),
      );
    }
    // Images come from the store of the agent's own root: pulled before (image:pull), not here.
    const image = spec.image === undefined ? null : this.images.rootOf(spec.image);
    // Decided here and kept in the request: inspect says which it got.
    const config = this.runtime.configure(
      { ...spec, userns: spec.userns ?? this.defaultUserns },
      this.rootfs,
      image,
    );
    return this.launch(spec.tty, size, (options) => this.runtime.run(config, options));
  }

  /** Stop if running, then start again: same id, name and writable layer (and a new terminal). */
  restart(reference: string, timeoutSeconds: number, size?: TerminalSize): Promise<ContainerView> {
    const record = this.runtime.inspect(reference);
    const terminalSize = size ?? this.terminals.get(record.id)?.currentSize ?? DEFAULT_SIZE;
    return this.launch(record.config.process.terminal, terminalSize, (options) =>
      this.runtime.restart(record.id, options, timeoutSeconds),
    );
  }

  /** Starts a container through `start`, with a pty when it has a terminal, and supervises it. */
  private async launch(
    tty: boolean,
    size: TerminalSize,
    start: (options: CreateOptions) => Promise<Container>,
  ): Promise<ContainerView> {
    const pty = tty ? openTerminal(size) : null;
    // The shim keeps a copy of the master: the shell outlives this agent.
    const options: CreateOptions = {
      io: pty ? { kind: 'terminal', slave: pty.slave, master: pty.master } : { kind: 'log' },
      foreground: false,
    };
    let container: Container;
    try {
      container = await start(options);
    } catch (error) {
      if (pty) closeSync(pty.master);
      throw error;
    } finally {
      if (pty) closeSync(pty.slave);
    }
    if (pty) this.openSession(container, pty.master, size);
    this.supervise(container);
    this.changed();
    // What it held at start: a short --rm container may be gone already.
    return viewOf(container.state);
  }

  /** A container's own terminal session; its output is also its log (as docker does). */
  private openSession(
    container: Container,
    master: number,
    size: TerminalSize,
    earlier?: Buffer,
  ): TerminalSession {
    const about = {
      container: container.id,
      kind: 'container' as const,
      command: container.state.config.request.command,
    };
    const log = openSync(this.runtime.store.logPath(container.id), 'a', 0o600);
    const session = new TerminalSession(
      container.id,
      about,
      master,
      size,
      () => hangUp((signal) => container.kill(signal)),
      { transcript: log, ...(earlier === undefined ? {} : { earlier }) },
    );
    this.terminals.set(container.id, session);
    return session;
  }

  /** An exec with a terminal: returns its session. */
  async execTerminal(reference: string, request: ExecRequest, size: TerminalSize): Promise<string> {
    const pty = openTerminal(size);
    let process: ExecProcess;
    try {
      process = await this.runtime.exec(
        reference,
        { ...request, tty: true },
        { kind: 'terminal', slave: pty.slave },
      );
    } catch (error) {
      closeSync(pty.master);
      throw error;
    } finally {
      closeSync(pty.slave);
    }
    const id = randomBytes(16).toString('hex');
    const about = {
      container: this.runtime.inspect(reference).id,
      kind: 'exec' as const,
      command: request.command,
    };
    const session = new TerminalSession(id, about, pty.master, size, () =>
      hangUp((signal) => process.kill(signal)),
    );
    this.terminals.set(id, session);
    void process.wait().then((exit) => this.endSession(session, exit.exitCode));
    return id;
  }

  /** An exec without a terminal, to its end: its status and (the start of) its output. */
  async execToEnd(
    reference: string,
    request: ExecRequest,
  ): Promise<{ exitCode: number | null; output: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'tocker-exec-'));
    const file = join(dir, 'output');
    const output = openSync(file, 'w+', 0o600);
    try {
      const process = await this.runtime.exec(reference, request, {
        kind: 'relay',
        stdin: null,
        stdout: output,
        stderr: output,
      });
      const { exitCode } = await process.wait();
      const bytes = Buffer.alloc(Math.min(statSync(file).size, EXEC_OUTPUT_BYTES));
      readSync(output, bytes, 0, bytes.length, 0);
      return { exitCode, output: bytes.toString('utf8') };
    } finally {
      closeSync(output);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The terminal of a container this agent started with a tty. */
  terminal(reference: string): TerminalSession {
    const id = this.runtime.inspect(reference).id;
    const session = this.terminals.get(id);
    if (session === undefined) {
      throw new TockerError(
        `container ${reference} has no terminal here (it ran without -t, or its terminal ended with a previous agent)`,
      );
    }
    return session;
  }

  /** Live sessions, of one container or all. */
  sessions(reference?: string): TerminalSessionInfo[] {
    const container = reference === undefined ? undefined : this.runtime.inspect(reference).id;
    return [...this.terminals.values()]
      .filter(
        (session) =>
          !session.hasExited && (container === undefined || session.about.container === container),
      )
      .map((session) => ({
        session: session.id,
        ...session.about,
        viewers: session.viewerCount,
        startedAt: session.startedAt,
      }));
  }

  /** Viewers are told; the session (and its scrollback) is let go a little later. */
  private endSession(session: TerminalSession, exitCode: number | null): void {
    session.ended(exitCode);
    setTimeout(() => {
      if (this.terminals.get(session.id) === session) this.terminals.delete(session.id);
    }, 30_000).unref();
  }

  session(id: string): TerminalSession {
    const session = this.terminals.get(id);
    if (session === undefined) throw new TockerError(`no terminal session ${id}`);
    return session;
  }

  /** Containers (running ones unless `all`), and those whose record cannot be read. */
  list(all: boolean): { containers: ContainerView[]; corrupt: CorruptRecord[] } {
    const { records, corrupt } = this.runtime.scan();
    return {
      containers: records.filter((record) => all || record.status !== 'exited').map(viewOf),
      corrupt,
    };
  }

  inspect(reference: string): ContainerView {
    return viewOf(this.runtime.inspect(reference));
  }

  /** The end may be recorded by the container's shim: the journal picks it up at once. */
  async stop(reference: string, timeoutSeconds: number): Promise<ContainerView> {
    const stopped = viewOf(await this.runtime.stop(reference, timeoutSeconds));
    this.changed();
    return stopped;
  }

  kill(reference: string, signal: string): ContainerView {
    this.runtime.kill(reference, parseSignal(signal));
    return this.inspect(reference);
  }

  pause(reference: string): ContainerView {
    const paused = viewOf(this.runtime.pause(reference));
    this.changed();
    return paused;
  }

  unpause(reference: string): ContainerView {
    const unpaused = viewOf(this.runtime.unpause(reference));
    this.changed();
    return unpaused;
  }

  async remove(reference: string, force: boolean): Promise<void> {
    await this.runtime.remove(reference, { force });
    this.changed();
  }

  update(reference: string, limits: ContainerLimits): ContainerView {
    const updated = this.runtime.updateLimits(reference, parseLimits(limits));
    this.changed();
    return viewOf(updated);
  }

  /** `network connect`: at once if it runs, else at its next start. */
  connect(reference: string, network: string, aliases: readonly string[]): ContainerView {
    const connected = viewOf(this.runtime.connect(reference, network, aliases));
    this.changed();
    return connected;
  }

  disconnect(reference: string, network: string): ContainerView {
    const disconnected = viewOf(this.runtime.disconnect(reference, network));
    this.changed();
    return disconnected;
  }

  /**
   * A piece of a container's output, and whether more may come; a removed container's
   * archived output when addressed by its full id.
   */
  logs(
    reference: string,
    tailBytes: number,
    fromByte?: number,
  ): { logs: string; nextByte: number; running: boolean } {
    const { text, next, running } = this.runtime.logs(
      reference,
      fromByte === undefined ? { tail: tailBytes } : { from: fromByte },
    );
    return { logs: text, nextByte: next, running };
  }

  private supervise(container: Container): void {
    void container.wait().then((exit) => {
      const session = this.terminals.get(container.id);
      if (session) this.endSession(session, exit.exitCode);
      this.changed();
    });
  }
}

/** Closing a terminal hangs up its session, as closing a terminal window does; then SIGKILL. */
function hangUp(kill: (signal: number) => void): void {
  const signal = (name: 'SIGHUP' | 'SIGKILL') => {
    try {
      kill(constants.signals[name]);
    } catch {
      // Already gone.
    }
  };
  signal('SIGHUP');
  setTimeout(() => signal('SIGKILL'), 2000).unref();
}

/** A container's pty master, taken back from its shim; null once the shim is gone. */
function takeKeptTerminal(shim: number): number | null {
  try {
    return takeFd(shim, KEPT_TERMINAL_FD);
  } catch {
    return null;
  }
}
