import { type SpawnOptions, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultImageIn } from '../../images/test/fixtures.js';
import { TestRoot } from '../../runtime/test/helpers.js';

export {
  image,
  lines,
  transitionsByContainer,
  waitFor,
} from '../../runtime/test/helpers.js';

export const tockerBin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tocker.cjs');

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * A test world (see the runtime's TestRoot) driven through the real CLI, with
 * busybox:latest in its image store.
 */
export class CliRoot extends TestRoot {
  /** busybox:latest is in the store (run() waits for it; a test that spawns the CLI itself, too). */
  ready(): Promise<void> {
    return defaultImageIn(this.root);
  }

  /** Runs the real CLI (the bundled bin, as users do) to completion. */
  async run(
    args: readonly string[],
    options: SpawnOptions & { input?: string; timeoutMs?: number } = {},
  ): Promise<Result> {
    await this.ready();
    const child = spawn(tockerBin, args, {
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...options,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin?.end(options.input ?? '');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`tocker ${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
      }, options.timeoutMs ?? 30_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }
}
