// tocker-runtime's warm compiler (src/compiler.ts) for a test or the bench: started on a
// state root, and stopped (its socket gone) at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../../runtime/test/helpers.js';

const COMPILE_SCRIPT = fileURLToPath(new URL('../../dist/compile.cjs', import.meta.url));

export class Compiler {
  private constructor(
    private readonly process: ChildProcess,
    readonly socket: string,
  ) {}

  /** Serving `root` once its socket is there. */
  static async start(root: string): Promise<Compiler> {
    const child = spawn(process.execPath, [COMPILE_SCRIPT, '--root', root, 'compiler'], {
      stdio: 'ignore',
    });
    const compiler = new Compiler(child, join(root, '.compiler.sock'));
    await waitFor('the compiler listening', () => existsSync(compiler.socket) || undefined);
    return compiler;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGTERM');
    await exited;
  }
}
