import { close, read } from 'node:fs';
import type { ContainerReport } from './container-process.js';

/**
 * The parent's end of the container process's report pipe: JSON lines until the pipe
 * closes, which happens when the container execs (the pipe is close-on-exec) or dies.
 * Read with fs.read on libuv's thread pool rather than a net.Socket: loading node:net and
 * node:stream would cost the CLI ~10 ms per start.
 */
export class ReportChannel {
  private buffered = '';
  private ended = false;
  private closed = false;
  private readonly chunk = Buffer.alloc(4096);

  constructor(private readonly fd: number) {}

  /** The next report, or 'closed' once the pipe has closed and nothing is left. */
  async next(): Promise<ContainerReport | 'closed'> {
    for (;;) {
      const newline = this.buffered.indexOf('\n');
      if (newline >= 0) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        return JSON.parse(line) as ContainerReport;
      }
      if (this.ended) return 'closed';
      const bytes = await new Promise<number>((resolve) => {
        read(this.fd, this.chunk, 0, this.chunk.length, null, (error, count) =>
          resolve(error ? 0 : count),
        );
      });
      if (bytes === 0) this.ended = true;
      else this.buffered += this.chunk.toString('utf8', 0, bytes);
    }
  }

  /** Closes the descriptor, also after the pipe reached its end (that alone does not). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    close(this.fd, () => {});
  }
}
