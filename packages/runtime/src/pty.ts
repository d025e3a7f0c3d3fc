import { writeSync } from 'node:fs';
import { ioctl, openpty, TIOCSWINSZ } from './sys/libc.js';

export interface TerminalSize {
  readonly rows: number;
  readonly cols: number;
}

export interface Pty {
  readonly master: number;
  readonly slave: number;
}

/**
 * Opens a pty pair: the slave is handed to the container's PID 1 as its stdio, controlling
 * terminal and /dev/console, the master stays with whoever shows it to the user.
 */
export function openTerminal(size: TerminalSize): Pty {
  const { master, slave } = openpty();
  resizeTerminal(master, size);
  return { master, slave };
}

/** The kernel sends SIGWINCH to the terminal's foreground process group. */
export function resizeTerminal(fd: number, size: TerminalSize): void {
  const winsize = Buffer.alloc(8);
  winsize.writeUInt16LE(size.rows, 0);
  winsize.writeUInt16LE(size.cols, 2);
  ioctl(fd, TIOCSWINSZ, winsize);
}

/**
 * Writes to a pty master made non-blocking (setNonBlocking): what the pty cannot take yet
 * (its buffer is full while the program does not read) waits here, in order.
 */
export class PtyWriter {
  private readonly pending: Buffer[] = [];
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly fd: number) {}

  write(chunk: Buffer): void {
    this.pending.push(chunk);
    if (this.retry === undefined) this.flush();
  }

  /** Drops what is still queued (the terminal is going away). */
  discard(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.pending.length = 0;
  }

  private flush(): void {
    this.retry = undefined;
    while (this.pending.length > 0) {
      const chunk = this.pending[0] as Buffer;
      let written: number;
      try {
        written = writeSync(this.fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.retry = setTimeout(() => this.flush(), 5);
          return;
        }
        this.pending.length = 0; // the terminal is gone
        return;
      }
      if (written < chunk.length) this.pending[0] = chunk.subarray(written);
      else this.pending.shift();
    }
  }
}
