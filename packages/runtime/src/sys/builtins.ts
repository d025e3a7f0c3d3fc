import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Node's modules that a container start does not need, loaded when first used: the CLI
 * starts a process per command, and node:crypto alone costs it ~8 ms to load (node:stream
 * and twenty internal modules come with it), node:child_process ~3 ms, node:net with
 * node:stream ~10 ms.
 */
const requireBuiltin = createRequire(import.meta.url);

export function nodeCrypto(): typeof import('node:crypto') {
  return requireBuiltin('node:crypto') as typeof import('node:crypto');
}

export function nodeChildProcess(): typeof import('node:child_process') {
  return requireBuiltin('node:child_process') as typeof import('node:child_process');
}

export function nodeNet(): typeof import('node:net') {
  return requireBuiltin('node:net') as typeof import('node:net');
}

/** `bytes` random bytes as hex, from /dev/urandom rather than node:crypto (above). */
export function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, buffer);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('hex');
}
