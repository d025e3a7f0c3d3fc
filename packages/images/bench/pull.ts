/**
 * Pull and unpack throughput: a ~100 MB image of five gzip layers (incompressible data,
 * as binaries mostly are) pushed to a registry on loopback, pulled by `tocker pull` and by
 * `skopeo copy` into an OCI layout in the same run; and one 100 MB layer unpacked by
 * tocker and by GNU `tar -x`. Medians of BENCH_PULL_RUNS (default 5), each into a fresh
 * store or directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../../runtime/bench/measure.js';
import { scratchDir } from '../../runtime/test/scratch.js';
import { unpackLayer } from '../src/unpack.js';
import { diffIds, gzip, imageConfig, layerTar, writeOciLayout } from '../test/fixtures.js';
import { TestRegistry } from '../test/registry.js';

const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 5);
const LAYERS = 5;
const FILES_PER_LAYER = 20;
const FILE_BYTES = 1024 * 1024;
const tockerBin = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'tocker.cjs');

function timed(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timedAsync(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const scratch = scratchDir('bench-pull');
const registry = await TestRegistry.start('anonymous');
try {
  const tars = Array.from({ length: LAYERS }, (_, layer) =>
    layerTar(
      Array.from({ length: FILES_PER_LAYER }, (_, file) => ({
        path: `data/${layer}/${file}`,
        type: 'file' as const,
        body: randomBytes(FILE_BYTES),
      })),
    ),
  );
  const layers = tars.map(gzip);
  const megabytes = layers.reduce((sum, layer) => sum + layer.length, 0) / 1e6;
  const layout = join(scratch, 'layout');
  mkdirSync(layout);
  writeOciLayout(layout, { layers, config: imageConfig({}, diffIds(layers)) });
  await registry.push('bench/big', '1', layout);
  const reference = `${registry.host}/bench/big:1`;

  const tocker: number[] = [];
  const skopeo: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const root = join(scratch, `tocker-${run}`);
    tocker.push(
      timed(() =>
        execFileSync(tockerBin, ['pull', reference], {
          env: { ...process.env, TOCKER_ROOT: root },
          stdio: 'ignore',
        }),
      ),
    );
    rmSync(root, { recursive: true, force: true });
    const target = join(scratch, `skopeo-${run}`);
    const copied = timed(() => {
      const result = spawnSync(
        'skopeo',
        ['copy', '--src-tls-verify=false', `docker://${reference}`, `oci:${target}:1`],
        {
          stdio: 'ignore',
        },
      );
      if (result.status !== 0) throw new Error('skopeo copy failed');
    });
    skopeo.push(copied);
    rmSync(target, { recursive: true, force: true });
  }

  const tar = tars[0] as Buffer;
  const tarFile = join(scratch, 'layer.tar');
  writeFileSync(tarFile, tar);
  const unpack: number[] = [];
  const gnuTar: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const ours = join(scratch, `unpack-${run}`);
    mkdirSync(ours);
    unpack.push(
      await timedAsync(() =>
        unpackLayer(
          (async function* () {
            for (let offset = 0; offset < tar.length; offset += 1 << 20)
              yield tar.subarray(offset, offset + (1 << 20));
          })(),
          ours,
        ),
      ),
    );
    rmSync(ours, { recursive: true, force: true });
    const theirs = join(scratch, `tar-${run}`);
    mkdirSync(theirs);
    gnuTar.push(timed(() => execFileSync('tar', ['-xf', tarFile, '-C', theirs])));
    rmSync(theirs, { recursive: true, force: true });
  }

  const rate = (ms: number, mb: number) => `${(mb / (ms / 1000)).toFixed(0)} MB/s`;
  const layerMb = tar.length / 1e6;
  const rows = [
    ['what', 'median', 'throughput', 'ratio'],
    [
      `tocker pull (${megabytes.toFixed(0)} MB, ${LAYERS} gzip layers)`,
      `${median(tocker).toFixed(0)} ms`,
      rate(median(tocker), megabytes),
      `${(median(tocker) / median(skopeo)).toFixed(2)}x skopeo`,
    ],
    [
      'skopeo copy docker:// oci:',
      `${median(skopeo).toFixed(0)} ms`,
      rate(median(skopeo), megabytes),
      '1.00x',
    ],
    [
      `tocker unpack (${layerMb.toFixed(0)} MB tar)`,
      `${median(unpack).toFixed(0)} ms`,
      rate(median(unpack), layerMb),
      `${(median(unpack) / median(gnuTar)).toFixed(2)}x tar -x`,
    ],
    ['GNU tar -x', `${median(gnuTar).toFixed(0)} ms`, rate(median(gnuTar), layerMb), '1.00x'],
  ];
  for (const row of rows)
    console.log(row.map((cell, column) => cell.padEnd(column === 0 ? 44 : 12)).join(' '));
} finally {
  await registry.stop();
  rmSync(scratch, { recursive: true, force: true });
}
