import { writeSync } from 'node:fs';
import { resizeTerminal, type TerminalSize } from '../pty.js';

export function currentTerminalSize(): TerminalSize {
  return { rows: process.stdout.rows || 24, cols: process.stdout.columns || 80 };
}

/**
 * Connects the user's terminal to a container's pty master: raw keystrokes in (so ^C,
 * ^Z and arrows reach the container's line discipline), output out, window size
 * followed. Resolves when the container side has closed (EIO once no slave is open).
 */
export async function attachTerminal(master: number): Promise<void> {
  // Loaded here: only -t needs it, and every module costs start-up time.
  const { ReadStream } = await import('node:tty');
  const input = process.stdin;
  const wasRaw = input.isTTY ? input.isRaw : false;
  if (input.isTTY) input.setRawMode(true);

  const pending: Buffer[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  // The master is non-blocking once libuv reads it: keep what the pty cannot take yet.
  const flush = () => {
    flushTimer = undefined;
    while (pending.length > 0) {
      const chunk = pending[0] as Buffer;
      let written: number;
      try {
        written = writeSync(master, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          flushTimer = setTimeout(flush, 5);
          return;
        }
        pending.length = 0;
        return;
      }
      if (written < chunk.length) pending[0] = chunk.subarray(written);
      else pending.shift();
    }
  };
  const onInput = (chunk: Buffer) => {
    pending.push(chunk);
    if (flushTimer === undefined) flush();
  };
  const onResize = () => resizeTerminal(master, currentTerminalSize());
  input.on('data', onInput);
  process.stdout.on('resize', onResize);

  const output = new ReadStream(master);
  output.pipe(process.stdout, { end: false });
  return new Promise((resolve) => {
    const done = () => {
      input.off('data', onInput);
      process.stdout.off('resize', onResize);
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      if (input.isTTY) input.setRawMode(wasRaw);
      input.pause();
      output.destroy();
      resolve();
    };
    output.on('end', done);
    output.on('error', done); // EIO: the container's side is closed
  });
}
