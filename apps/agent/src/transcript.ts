import { closeSync, writeSync } from 'node:fs';

/**
 * A log that output is appended to, where a full disk costs the log, never the session:
 * what cannot be written is dropped and counted, and the log says so once space is back.
 */
export class Transcript {
  private dropped = 0;

  constructor(private readonly fd: number) {}

  write(chunk: Buffer): void {
    try {
      if (this.dropped > 0) {
        writeSync(this.fd, gapNotice(this.dropped));
        this.dropped = 0;
      }
      writeSync(this.fd, chunk);
    } catch {
      this.dropped += chunk.length;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

export function gapNotice(bytes: number): string {
  return `\r\n[tocker: ${bytes} bytes of output were not logged: TOCKER_ROOT was full]\r\n`;
}
