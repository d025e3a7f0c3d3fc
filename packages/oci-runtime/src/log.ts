/**
 * runc's error lines, for the Node half (create, exec), exactly as the C front end writes
 * them (native/log.c): `time="..." level=error msg="..."` on stderr, or with --log FILE in
 * that file (text or JSON lines) and then the bare message on stderr too. A JSON log holds
 * only the error (and debug lines with --debug): podman parses the file as one object.
 */
import { appendFileSync, writeSync } from 'node:fs';

/**
 * Straight to descriptor 2: process.stderr would make the pipe behind it non-blocking, and
 * that pipe is the container's stderr too (create's stdio are the container's).
 */
function toStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {}
}

export type LogFormat = 'text' | 'json';

export interface LogOptions {
  readonly file: string | null;
  readonly format: LogFormat;
  readonly debug: boolean;
}

type Level = 'error' | 'warning' | 'debug';

/** RFC 3339 in UTC, to the second (logrus's default). */
function now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

export class RuntimeLog {
  readonly #options: LogOptions;

  constructor(options: LogOptions) {
    this.#options = options;
  }

  error(message: string): void {
    this.#write('error', message);
    if (this.#options.file !== null) toStderr(`${message}\n`);
  }

  warning(message: string): void {
    // The JSON log must hold one object on failure: warnings go to stderr only.
    if (this.#options.format === 'json' && !this.#options.debug) toStderr(`warning: ${message}\n`);
    else this.#write('warning', message);
  }

  debug(message: string): void {
    if (this.#options.debug) this.#write('debug', message);
  }

  #write(level: Level, message: string): void {
    const time = now();
    const line =
      this.#options.format === 'json'
        ? `${JSON.stringify({ level, msg: message, time })}\n`
        : `time="${time}" level=${level} msg=${JSON.stringify(message)}\n`;
    if (this.#options.file === null) toStderr(line);
    else appendFileSync(this.#options.file, line, { mode: 0o644 });
  }
}
