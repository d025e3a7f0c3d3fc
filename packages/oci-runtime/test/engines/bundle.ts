import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDefaultImage } from '../../../runtime/src/image.js';
import type { OciRuntime } from './runtimes.js';

/**
 * An OCI bundle in `dir`/bundle: the busybox tree set-up prepares, and `runtime spec`'s
 * config running `args` without a terminal. Its cgroups go under `cgroupsPath`: runc and
 * crun would otherwise both take /<id>; tests give a parent the sweep of a killed run
 * recognises.
 */
export function busyboxBundle(
  runtime: OciRuntime,
  dir: string,
  args: readonly string[],
  cgroupsPath: string,
): string {
  const bundle = join(dir, 'bundle');
  mkdirSync(bundle);
  execFileSync('cp', ['-a', prepareDefaultImage(), join(bundle, 'rootfs')], { stdio: 'inherit' });
  execFileSync(runtime.path, ['spec', '--bundle', bundle]);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = args;
  config.linux.cgroupsPath = cgroupsPath;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}
