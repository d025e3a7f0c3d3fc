import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { TockerError } from '@tocker/runtime';
import type { Compression } from './oci.js';

/** Output pieces of 256 KiB, not zlib's 16 KiB: a sixteenth of the hashing, parsing and writing calls. */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

const startsWith = (chunk: Uint8Array, magic: readonly number[]) =>
  magic.every((byte, index) => chunk[index] === byte);

/** How a stream is compressed, from its first bytes. */
export function detectCompression(head: Uint8Array): Compression {
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/**
 * The uncompressed bytes of a layer (or archive) stream. `detect` reads the format from
 * the first bytes: docker-archive layers and plain tarballs say nothing else about it.
 * zstd goes through Debian's `zstd` (Node 20's zlib has none): native speed, streaming.
 */
export async function* decompress(
  input: AsyncIterable<Uint8Array>,
  compression: Compression | 'detect',
  onDetected: (compression: Compression) => void = () => undefined,
): AsyncGenerator<Uint8Array> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head = first.value;
  const kind = compression === 'detect' ? detectCompression(head) : compression;
  onDetected(kind);
  async function* whole(): AsyncGenerator<Uint8Array> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      yield next.value;
  }
  if (kind === 'none') {
    yield* whole();
  } else if (kind === 'gzip') {
    // pipeline(), not pipe(): an input that fails (a download given up) destroys the gunzip
    // with its error, thrown by the loop below; through pipe() it was thrown at no one (an
    // uncaught exception) and the gunzip never ended. The promise is only that error again.
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
    pipeline(Readable.from(whole()), gunzip).catch(() => undefined);
    yield* gunzip;
  } else {
    yield* unzstd(whole());
  }
}

async function* unzstd(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) =>
      reject(new TockerError(`zstd layers need the zstd command (${error.message})`)),
    );
    child.once('close', resolve);
  });
  const feeding = pipeline(Readable.from(input), child.stdin).catch(() => undefined);
  // Killed only when the reader stops early: at the end of its output zstd may not have
  // exited yet, and a kill then read as a failed decompression (a fresh-clone run hit it).
  let readToEnd = false;
  try {
    yield* child.stdout;
    readToEnd = true;
  } finally {
    if (!readToEnd) child.kill();
  }
  await feeding;
  const code = await exited;
  if (code !== 0)
    throw new TockerError(
      `a zstd layer does not decompress: ${stderr.trim() || `zstd exited with ${code}`}`,
    );
}
