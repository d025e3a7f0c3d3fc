import { readlinkSync } from 'node:fs';
import { ioctl, openpty, TIOCSWINSZ } from './sys/libc.js';

export interface TerminalSize {
  readonly rows: number;
  readonly cols: number;
}

export interface Pty {
  readonly master: number;
  readonly slave: number;
  /** The slave's path on the host (/dev/pts/N), bound to the container's /dev/console. */
  readonly slavePath: string;
}

/**
 * Opens a pty pair without forking: the slave is handed to the container's PID 1 as its
 * stdio and controlling terminal, the master stays with whoever shows it to the user.
 */
export function openTerminal(size: TerminalSize): Pty {
  const { master, slave } = openpty();
  resizeTerminal(master, size);
  return { master, slave, slavePath: readlinkSync(`/proc/self/fd/${slave}`) };
}

/** The kernel sends SIGWINCH to the terminal's foreground process group. */
export function resizeTerminal(fd: number, size: TerminalSize): void {
  const winsize = Buffer.alloc(8);
  winsize.writeUInt16LE(size.rows, 0);
  winsize.writeUInt16LE(size.cols, 2);
  ioctl(fd, TIOCSWINSZ, winsize);
}
