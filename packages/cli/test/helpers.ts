import { execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TarWriteEntry } from '../../images/src/tar.js';
import {
  defaultImageIn,
  diffIds,
  gzip,
  type ImageConfigOptions,
  imageConfig,
  layerTar,
  writeOciLayout,
} from '../../images/test/fixtures.js';
import { image, TestRoot } from '../../runtime/test/helpers.js';

export {
  image,
  lines,
  transitionsByContainer,
  waitFor,
} from '../../runtime/test/helpers.js';

let busyboxLayerBytes: Buffer | undefined;

/** The busybox tree as an image's first layer (gzip), the way a registry image's base is. */
function busyboxLayer(): Buffer {
  busyboxLayerBytes ??= gzip(
    execFileSync('tar', ['-C', image, '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 64 << 20 }),
  );
  return busyboxLayerBytes;
}

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

  /**
   * Loads (tocker load) an image of busybox and `upper` layers with `config`, under
   * `name`: an image as a registry would have it, made offline.
   */
  async loadImage(
    name: string,
    upper: readonly (readonly TarWriteEntry[])[],
    config: ImageConfigOptions,
  ): Promise<void> {
    const layers = [busyboxLayer(), ...upper.map((entries) => layerTar(entries))];
    const layout = join(this.root, `layout-${name.replace(/\W/g, '-')}`);
    mkdirSync(layout);
    writeOciLayout(
      layout,
      { layers, config: imageConfig(config, diffIds(layers)) },
      { tags: [name] },
    );
    const loaded = await this.run(['load', '-i', layout]);
    if (loaded.code !== 0) throw new Error(`tocker load ${name}: ${loaded.stderr}`);
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
