import { closeSync, read } from 'node:fs';
import { nodeNet } from '../sys/builtins.js';
import { errno, shutdownSocket } from '../sys/libc.js';

/** What a channel hands on: the text the shim wrote, then its end (once). */
export interface ChannelListener {
  text(chunk: string): void;
  closed(): void;
}

/** The runtime's end of a shim's channel, being read. */
export interface ShimChannel {
  /** False once released or ended: its descriptor may be closed, and is not written to. */
  readonly open: boolean;
  /** Lets go of it: the shim sees its end; the listener hears closed() soon after. */
  release(): void;
}

/**
 * How channels are read: 'event-loop' (a net.Socket) serves any number of shims at once,
 * as the agent needs. 'threadpool' reads each channel with a blocking read on one of
 * libuv's threads, so that a process that never loads node:net spares node:net and
 * node:stream (~10 ms of the CLI's start); each open channel holds one of libuv's 4
 * threads, so it is for a process with one shim at a time (the CLI's run and exec).
 */
export type ChannelReading = 'event-loop' | 'threadpool';

let reading: ChannelReading = 'event-loop';

/** How the channels of shims spawned from now on are read (see ChannelReading). */
export function readShimChannelsOn(how: ChannelReading): void {
  reading = how;
}

/** Reads `fd`, which it owns from now on (it closes it at the end). */
export function openChannel(fd: number, listener: ChannelListener): ShimChannel {
  return reading === 'threadpool'
    ? new ThreadpoolChannel(fd, listener)
    : eventLoopChannel(fd, listener);
}

function eventLoopChannel(fd: number, listener: ChannelListener): ShimChannel {
  const socket = new (nodeNet().Socket)({ fd, readable: true, writable: true });
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => listener.text(text));
  socket.on('error', () => {}); // the shim went away: 'close' says so
  socket.on('close', () => listener.closed());
  return {
    get open() {
      return !socket.destroyed;
    },
    release: () => socket.destroy(),
  };
}

/**
 * Channels with a read pending on a thread. libuv joins its threads when the process
 * exits, so a read still blocked then would hold the exit forever: every one is ended
 * first (the shims see their runtime gone, as when a process holding sockets ends).
 */
const pending = new Set<ThreadpoolChannel>();

function releasePending(): void {
  for (const channel of pending) channel.release();
}

class ThreadpoolChannel implements ShimChannel {
  private released = false;
  private ended = false;
  private readonly buffer = Buffer.allocUnsafe(4096);
  /** Bytes after the last newline read: handed on with the rest of their line. */
  private partial: Buffer = Buffer.alloc(0);

  constructor(
    private readonly fd: number,
    private readonly listener: ChannelListener,
  ) {
    if (pending.size === 0) process.on('exit', releasePending);
    pending.add(this);
    this.readNext();
  }

  get open(): boolean {
    return !this.released && !this.ended;
  }

  release(): void {
    if (this.released || this.ended) return;
    this.released = true;
    shutdownSocket(this.fd); // wakes the pending read, which then closes it
  }

  private readNext(): void {
    read(this.fd, this.buffer, 0, this.buffer.length, null, (error, bytes) => {
      const retry =
        error !== null && (error.errno === -errno.EINTR || error.errno === -errno.EAGAIN);
      if (retry || (error === null && bytes > 0)) {
        if (!retry) this.received(this.buffer.subarray(0, bytes));
        this.readNext();
        return;
      }
      // Its end, or an error that means the same: the shim is gone.
      this.ended = true;
      pending.delete(this);
      if (pending.size === 0) process.off('exit', releasePending);
      closeSync(this.fd);
      if (this.partial.length > 0) this.listener.text(this.partial.toString());
      this.listener.closed();
    });
  }

  /**
   * Hands on whole lines: a newline byte is never inside a UTF-8 character, so text cut
   * there decodes whole (no decoder needed for a character split between two reads).
   */
  private received(chunk: Buffer): void {
    const bytes = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    const end = bytes.lastIndexOf(0x0a) + 1;
    this.partial = Buffer.from(bytes.subarray(end));
    if (end > 0) this.listener.text(bytes.toString('utf8', 0, end));
  }
}
