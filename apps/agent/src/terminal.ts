import { closeSync, readSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import {
  completeUtf8Length,
  OUTPUT_WINDOW_BYTES,
  SCROLLBACK_BYTES,
  type TerminalSize,
  utf8StartOffset,
} from '@tocker/protocol';
import { PtyWriter, resizeTerminal, setNonBlocking } from '@tocker/runtime';
import { Transcript } from './transcript.js';

/** Where a session's output goes: one per socket that attached it. */
export interface Viewer {
  readonly id: string;
  output(data: Buffer): void;
  exited(exitCode: number | null): void;
}

/**
 * A terminal that outlives its viewers: a pty master held by the agent, its recent output
 * kept for whoever attaches next, its output fanned out to every viewer. It ends when its
 * process does, or when a client closes it, never because a tab closed.
 *
 * Flow control: each viewer acknowledges the bytes it has processed; while any viewer is
 * more than OUTPUT_WINDOW_BYTES behind, the pty is not read, so a flood (`yes`, `cat` of a
 * large file) blocks the program in the container instead of growing the agent's memory
 * or the browser's queue. A viewer that stops acknowledging for 30 s is let go, so it
 * cannot hold the others back.
 */
export class TerminalSession {
  private readonly viewers = new Map<string, { viewer: Viewer; unacked: number; since: number }>();
  private readonly scrollback: Buffer[] = [];
  private scrollbackBytes = 0;
  private readonly writer: PtyWriter;
  private readonly output: ReadStream;
  private paused = false;
  /** The process ended: what it left in the pty is read whoever lags (it is bounded). */
  private draining = false;
  private exitCode: number | null | undefined;
  /**
   * Output read and not sent yet, gathered into one frame (a pty gives at most 4 KiB a
   * read); it may end inside a UTF-8 character, whose start waits here for the rest.
   */
  private pending = Buffer.allocUnsafe(FRAME_BYTES);
  private pendingBytes = 0;
  /** Cancels the pending send of the batch, if one is scheduled. */
  private cancelFlush: (() => void) | null = null;
  private lastFrame = { at: 0, bytes: 0 };

  readonly startedAt = new Date().toISOString();
  private readonly transcript: Transcript | null;

  constructor(
    readonly id: string,
    /** What it is, for listings: container, kind and command. */
    readonly about: { container: string; kind: 'container' | 'exec'; command: readonly string[] },
    private readonly master: number,
    private size: TerminalSize,
    private readonly terminate: () => void,
    options: {
      /** Where everything it shows is also appended (a container's log), if anywhere. */
      transcript?: number;
      /** What it showed before this agent took it over (the tail of the log). */
      earlier?: Buffer;
    } = {},
  ) {
    this.transcript = options.transcript === undefined ? null : new Transcript(options.transcript);
    if (options.earlier !== undefined && options.earlier.length > 0) {
      const earlier = options.earlier.subarray(-SCROLLBACK_BYTES);
      this.scrollback.push(earlier.subarray(utf8StartOffset(earlier)));
      this.scrollbackBytes = this.scrollback[0]?.length ?? 0;
    }
    // libuv leaves a pty master blocking (it reopens only slaves), as does the shim that
    // made it: a read or a write that found the pty empty or full would stop the agent.
    // The shim only holds its copy of the master, so the flag they share is the agent's.
    setNonBlocking(master);
    this.writer = new PtyWriter(master);
    this.output = new ReadStream(master);
    this.output.on('data', (chunk: Buffer) => {
      this.receive(chunk);
      // Only once the stream has handed over all it read (it keeps a read while paused):
      // what the pty gives now comes after it.
      if (this.output.readableLength === 0) this.drain();
    });
    // EIO once the last slave is closed: the process is gone, nothing more will come.
    this.output.on('error', () => this.output.destroy());
  }

  /** Adds a viewer; returns the recent output to show first, and the current size. */
  attach(viewer: Viewer): { scrollback: Buffer; size: TerminalSize } {
    this.viewers.set(viewer.id, { viewer, unacked: 0, since: Date.now() });
    if (this.exitCode !== undefined) viewer.exited(this.exitCode);
    const bytes = Buffer.concat(this.scrollback);
    return { scrollback: bytes.subarray(utf8StartOffset(bytes)), size: this.size };
  }

  detach(viewerId: string): void {
    this.viewers.delete(viewerId);
    this.updateFlow();
  }

  input(data: string): void {
    if (this.exitCode === undefined) this.writer.write(Buffer.from(data, 'utf8'));
  }

  resize(size: TerminalSize): void {
    this.size = size;
    if (this.exitCode === undefined) resizeTerminal(this.master, size);
  }

  acknowledge(viewerId: string, bytes: number): void {
    const entry = this.viewers.get(viewerId);
    if (entry === undefined) return;
    entry.unacked = Math.max(0, entry.unacked - bytes);
    entry.since = Date.now();
    this.updateFlow();
  }

  close(): void {
    this.terminate();
  }

  /** The process ended: viewers are told once the output it left has been read. */
  ended(exitCode: number | null): void {
    const finish = () => {
      this.sendBatch();
      this.exitCode = exitCode;
      this.writer.discard();
      for (const { viewer } of this.viewers.values()) viewer.exited(exitCode);
      try {
        closeSync(this.master);
      } catch {
        // Already closed by the stream.
      }
      this.transcript?.close();
    };
    if (this.output.destroyed) finish();
    else this.output.once('close', finish);
    this.draining = true;
    if (this.paused) {
      this.paused = false;
      this.output.resume();
    }
    setTimeout(() => this.output.destroy(), 2000).unref();
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  get currentSize(): TerminalSize {
    return this.size;
  }

  /**
   * Every chunk sent ends on a character boundary, so each decodes on its own. Output that
   * streams (the last frame was sent less than FRAME_INTERVAL_MS ago and was more than a
   * trickle) is gathered until FRAME_INTERVAL_MS after it, so a flood costs every hop
   * (socket.io, the dashboard's relay, the browser) a few hundred frames a second instead of
   * one per read; anything else (a keystroke's echo, even typed fast) leaves in this turn of
   * the event loop.
   */
  private receive(bytes: Buffer): void {
    let from = 0;
    while (from < bytes.length) {
      if (this.pendingBytes === FRAME_BYTES) this.sendBatch();
      const copied = bytes.copy(this.pending, this.pendingBytes, from);
      this.pendingBytes += copied;
      from += copied;
    }
    this.gathered();
  }

  /**
   * Reads what else the pty holds straight into the frame, until it has nothing more for
   * now. A read costs a syscall here, against a trip through libuv and a stream's events
   * per read for the stream's own: in a flood, the pty is read again while the program is
   * still writing, so it waits less for room and this process spends less per byte. At
   * most a frame's worth each time, so that a flood cannot keep the event loop to itself.
   */
  private drain(): void {
    for (let budget = FRAME_BYTES; budget > 0 && (!this.paused || this.draining); ) {
      if (this.pendingBytes === FRAME_BYTES) this.sendBatch();
      let read: number;
      try {
        read = readSync(
          this.master,
          this.pending,
          this.pendingBytes,
          FRAME_BYTES - this.pendingBytes,
          null,
        );
      } catch {
        // EAGAIN: nothing for now. EIO: the process is gone. Either way the stream's own
        // read comes next and hears the same (the end, for EIO).
        return;
      }
      if (read === 0) return;
      budget -= read;
      this.pendingBytes += read;
      this.gathered();
    }
  }

  private gathered(): void {
    if (this.pendingBytes >= FRAME_BYTES) this.sendBatch();
    else if (this.cancelFlush === null) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    const wait = this.lastFrame.at + FRAME_INTERVAL_MS - performance.now();
    if (wait <= 0 || this.lastFrame.bytes < STREAMING_FRAME_BYTES) {
      const immediate = setImmediate(() => this.sendBatch());
      this.cancelFlush = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(() => this.sendBatch(), wait);
      this.cancelFlush = () => clearTimeout(timer);
    }
  }

  private sendBatch(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
    const complete = completeUtf8Length(this.pending.subarray(0, this.pendingBytes));
    if (complete === 0) return;
    this.lastFrame = { at: performance.now(), bytes: complete };
    // A large frame takes the buffer along; a small one is copied out, so that the
    // scrollback and the viewers' queues never hold a mostly empty 256 KiB buffer.
    let frame: Buffer;
    const rest = this.pending.subarray(complete, this.pendingBytes);
    if (complete >= HANDED_OVER_FRAME_BYTES) {
      frame = this.pending.subarray(0, complete);
      this.pending = Buffer.allocUnsafe(FRAME_BYTES);
      rest.copy(this.pending);
    } else {
      frame = Buffer.from(this.pending.subarray(0, complete));
      this.pending.copyWithin(0, complete, this.pendingBytes);
    }
    this.pendingBytes = rest.length;
    this.broadcast(frame);
  }

  private broadcast(chunk: Buffer): void {
    this.transcript?.write(chunk);
    this.scrollback.push(chunk);
    this.scrollbackBytes += chunk.length;
    while (this.scrollbackBytes - (this.scrollback[0]?.length ?? 0) >= SCROLLBACK_BYTES) {
      this.scrollbackBytes -= this.scrollback.shift()?.length ?? 0;
    }
    for (const entry of this.viewers.values()) {
      entry.viewer.output(chunk);
      entry.unacked += chunk.length;
    }
    this.updateFlow();
  }

  private updateFlow(): void {
    const now = Date.now();
    for (const [id, entry] of this.viewers) {
      if (entry.unacked > OUTPUT_WINDOW_BYTES && now - entry.since > 30_000)
        this.viewers.delete(id);
    }
    const behind = Math.max(0, ...[...this.viewers.values()].map((entry) => entry.unacked));
    if (!this.paused && !this.draining && behind > OUTPUT_WINDOW_BYTES) {
      this.paused = true;
      this.output.pause();
      setTimeout(() => this.updateFlow(), 30_000).unref();
    } else if (this.paused && behind <= OUTPUT_WINDOW_BYTES / 2) {
      this.paused = false;
      this.output.resume();
    }
  }
}

/** How long streaming output is gathered into one frame, and how large a frame may grow. */
const FRAME_INTERVAL_MS = 5;
const FRAME_BYTES = 256 * 1024;
/** A frame this large is sent in the buffer it was read into, not copied out of it. */
const HANDED_OVER_FRAME_BYTES = FRAME_BYTES / 4;
/** A frame at least this large means output is streaming (an echo or a prompt is smaller). */
const STREAMING_FRAME_BYTES = 1024;
