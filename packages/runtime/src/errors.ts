/**
 * An error meant for the user: one clear line, and the exit status the CLI returns for it
 * (docker's convention: 125 tocker itself failed, 126 command cannot be run, 127 not found).
 */
export class TockerError extends Error {
  override readonly name = 'TockerError';
  constructor(
    message: string,
    readonly exitCode: 125 | 126 | 127 = 125,
  ) {
    super(message);
  }
}
