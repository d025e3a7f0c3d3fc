import { closeSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import {
  completeUtf8Length,
  OUTPUT_WINDOW_BYTES,
  SCROLLBACK_BYTES,
  type TerminalSize,
  utf8StartOffset,
} from '@tocker/protocol';
import { PtyWriter, resizeTerminal } from '@tocker/runtime';
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
  /** The start of a UTF-8 character whose other bytes have not been read yet. */
  private carry: Buffer = Buffer.alloc(0);
  /** Output read and not sent yet: gathered into frames (a pty gives ~4 KiB a read). */
  private batch: Buffer[] = [];
  private batchBytes = 0;
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
    this.writer = new PtyWriter(master);
    this.output = new ReadStream(master);
    this.output.on('data', (chunk: Buffer) => this.receive(chunk));
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
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    const complete = completeUtf8Length(data);
    this.carry = data.subarray(complete);
    if (complete === 0) return;
    this.batch.push(data.subarray(0, complete));
    this.batchBytes += complete;
    if (this.batchBytes >= FRAME_BYTES) this.sendBatch();
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
    if (this.batchBytes === 0) return;
    this.lastFrame = { at: performance.now(), bytes: this.batchBytes };
    const frame = this.batch.length === 1 ? (this.batch[0] as Buffer) : Buffer.concat(this.batch);
    this.batch = [];
    this.batchBytes = 0;
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
/** A frame at least this large means output is streaming (an echo or a prompt is smaller). */
const STREAMING_FRAME_BYTES = 1024;
