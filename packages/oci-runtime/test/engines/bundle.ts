import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDefaultImage } from '../../../runtime/src/image.js';
import type { OciRuntime } from './runtimes.js';

export interface BundleOptions {
  /** The container's command line. */
  readonly args: readonly string[];
  /**
   * Its cgroups (one container's): runc and crun would otherwise both take /<id>; tests
   * give one the sweep of a killed run recognises.
   */
  readonly cgroupsPath: string;
  /** The config's annotations, as an engine would set them. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * An OCI bundle made at `bundle` (its parents too): the busybox tree set-up prepares, and
 * `runtime spec`'s config running `args` without a terminal.
 */
export function busyboxBundle(runtime: OciRuntime, bundle: string, options: BundleOptions): string {
  mkdirSync(bundle, { recursive: true });
  execFileSync('cp', ['-a', prepareDefaultImage(), join(bundle, 'rootfs')], { stdio: 'inherit' });
  execFileSync(runtime.path, ['spec', '--bundle', bundle]);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = options.args;
  config.linux.cgroupsPath = options.cgroupsPath;
  if (options.annotations !== undefined) config.annotations = options.annotations;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}
