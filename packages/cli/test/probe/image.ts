import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareDefaultImage } from '../../../runtime/src/image.js';

const source = join(dirname(fileURLToPath(import.meta.url)), 'attack.c');

/**
 * A test image: the default busybox tree with the attacker (attack.c, built static) at
 * /attack. Containment tests run it inside containers, as untrusted code would be.
 */
export function attackImage(dir: string): string {
  prepareDefaultImage(dir);
  execFileSync('gcc', ['-O2', '-static', '-Wall', '-Werror', '-o', join(dir, 'attack'), source]);
  return dir;
}
