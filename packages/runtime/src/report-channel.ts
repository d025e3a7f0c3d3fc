import { Socket } from 'node:net';
import type { ContainerReport } from './container-process.js';

/**
 * The parent's end of the container process's report pipe: JSON lines until the pipe
 * closes, which happens when the container execs (the pipe is close-on-exec) or dies.
 */
export class ReportChannel {
  private readonly socket: Socket;
  private readonly queue: ContainerReport[] = [];
  private closed = false;
  private buffered = '';
  private wake: (() => void) | undefined;

  constructor(fd: number) {
    this.socket = new Socket({ fd, readable: true, writable: false });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      for (
        let newline = this.buffered.indexOf('\n');
        newline >= 0;
        newline = this.buffered.indexOf('\n')
      ) {
        this.queue.push(JSON.parse(this.buffered.slice(0, newline)) as ContainerReport);
        this.buffered = this.buffered.slice(newline + 1);
      }
      this.wake?.();
    });
    const close = () => {
      this.closed = true;
      this.wake?.();
    };
    this.socket.on('end', close);
    this.socket.on('close', close);
    this.socket.on('error', close);
  }

  /** The next report, or 'closed' once the pipe has closed and nothing is left. */
  async next(): Promise<ContainerReport | 'closed'> {
    while (this.queue.length === 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    return this.queue.shift() ?? 'closed';
  }

  close(): void {
    this.socket.destroy();
  }
}
