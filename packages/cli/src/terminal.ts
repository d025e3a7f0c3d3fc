import { PtyWriter, resizeTerminal, type TerminalSize } from '@tocker/runtime';

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

  const writer = new PtyWriter(master);
  const onInput = (chunk: Buffer) => writer.write(chunk);
  const onResize = () => resizeTerminal(master, currentTerminalSize());
  input.on('data', onInput);
  process.stdout.on('resize', onResize);

  const output = new ReadStream(master);
  output.pipe(process.stdout, { end: false });
  return new Promise((resolve) => {
    const done = () => {
      input.off('data', onInput);
      process.stdout.off('resize', onResize);
      writer.discard();
      if (input.isTTY) input.setRawMode(wasRaw);
      input.pause();
      output.destroy();
      resolve();
    };
    output.on('end', done);
    output.on('error', done); // EIO: the container's side is closed
  });
}
