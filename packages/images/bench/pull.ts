/**
 * Pull and unpack throughput: a ~100 MB image of five gzip layers (incompressible data,
 * as binaries mostly are) pushed to a registry on loopback, pulled by `tocker pull`, by
 * `skopeo copy` into an OCI layout and by `podman pull` into its own overlay storage, in
 * the same run; and one of its layers (~21 MB) unpacked by tocker and by GNU `tar -x`.
 * Medians of BENCH_PULL_RUNS (default 5), each into a fresh store or directory: every pull
 * is cold.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, timed, timedAsync } from '../../runtime/bench/measure.js';
import { parseMountinfo } from '../../runtime/src/cgroups/index.js';
import { scratchDir } from '../../runtime/test/scratch.js';
import { unpackLayer } from '../src/unpack.js';
import { diffIds, gzip, imageConfig, layerTar, writeOciLayout } from '../test/fixtures.js';
import { TestRegistry } from '../test/registry.js';

const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 5);
const LAYERS = 5;
const FILES_PER_LAYER = 20;
const FILE_BYTES = 1024 * 1024;
const tockerBin = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'tocker.cjs');

/** Runs a command to its end, silently; a failure throws with what it wrote to stderr. */
function runQuietly(command: string, args: readonly string[], env = process.env): void {
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status === 0) return;
  const outcome = result.error ?? result.signal ?? `exit ${result.status}`;
  throw new Error(`${command} ${args.join(' ')} failed (${outcome}):\n${result.stderr}`);
}

/**
 * podman with everything it keeps under `dir` (images, run state, libpod's state, network
 * configuration; TMPDIR in podmanEnv), so that each pull starts from empty storage and
 * leaves nothing in /var/lib/containers, /etc/containers or /run/libpod. Its blob-info
 * cache, /var/lib/containers/cache, has no option (skopeo records its copies there too);
 * for /run/containers, see podmanRunDirs.
 */
function podmanArgs(dir: string): string[] {
  return [
    ...['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot')],
    ...['--tmpdir', join(dir, 'libpod'), '--network-config-dir', join(dir, 'networks')],
    ...['--events-backend', 'none', '--storage-driver', 'overlay'],
    ...['--runtime', 'runc', '--cgroup-manager', 'cgroupfs'],
  ];
}

/**
 * What podman makes whatever its options (netavark's run directory is a constant in podman
 * 4.3), parents first: those missing before the benchmark are removed after it, if empty.
 */
const podmanRunDirs = ['/run/containers', '/run/containers/networks'];

/** Where podman stages blobs while it pulls (its default is /var/tmp). */
function podmanEnv(dir: string): NodeJS.ProcessEnv {
  const staging = join(dir, 'tmp');
  mkdirSync(staging, { recursive: true });
  return { ...process.env, TMPDIR: staging };
}

/**
 * Removes a directory that may still have mounts below it: podman's overlay driver bind-mounts
 * its storage onto itself, and a pull that fails or is killed leaves that mount behind.
 * Deepest first, detached, so that nothing under a mount is followed by rm.
 */
function removeMountedTree(dir: string): void {
  const mountPoints = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((mount) => mount.mountPoint)
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) execFileSync('umount', ['--lazy', point]);
  rmSync(dir, { recursive: true, force: true });
}

const podmanRunDirsToRemove = podmanRunDirs.filter((dir) => !existsSync(dir)).reverse();
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
  const podman: number[] = [];
  // Interleaved, so that a change in the machine's load is shared by all three.
  for (let run = 0; run < RUNS; run++) {
    const root = join(scratch, `tocker-${run}`);
    const tockerEnv = { ...process.env, TOCKER_ROOT: root };
    tocker.push(timed(() => runQuietly(tockerBin, ['pull', reference], tockerEnv)));
    rmSync(root, { recursive: true, force: true });
    const target = join(scratch, `skopeo-${run}`);
    const copy = ['copy', '--src-tls-verify=false', `docker://${reference}`, `oci:${target}:1`];
    skopeo.push(timed(() => runQuietly('skopeo', copy)));
    rmSync(target, { recursive: true, force: true });
    // A directory of its own with a short path: podman refuses a runroot over 50 characters.
    const storage = scratchDir('podman');
    try {
      const pull = [...podmanArgs(storage), 'pull', '--tls-verify=false', reference];
      const env = podmanEnv(storage);
      podman.push(timed(() => runQuietly('podman', pull, env)));
    } finally {
      removeMountedTree(storage);
    }
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
  const ratio = (ours: number[], theirs: number[], name: string) =>
    `${(median(ours) / median(theirs)).toFixed(2)}x ${name}`;
  const layerMb = tar.length / 1e6;
  const rows = [
    ['what', 'median', 'throughput', 'ratio'],
    [
      `tocker pull (${megabytes.toFixed(0)} MB, ${LAYERS} gzip layers)`,
      `${median(tocker).toFixed(0)} ms`,
      rate(median(tocker), megabytes),
      `${ratio(tocker, skopeo, 'skopeo')}, ${ratio(tocker, podman, 'podman')}`,
    ],
    [
      'skopeo copy docker:// oci:',
      `${median(skopeo).toFixed(0)} ms`,
      rate(median(skopeo), megabytes),
      '1.00x',
    ],
    [
      'podman pull (overlay, empty storage)',
      `${median(podman).toFixed(0)} ms`,
      rate(median(podman), megabytes),
      '1.00x',
    ],
    [
      `tocker unpack (${layerMb.toFixed(0)} MB tar)`,
      `${median(unpack).toFixed(0)} ms`,
      rate(median(unpack), layerMb),
      ratio(unpack, gnuTar, 'tar -x'),
    ],
    ['GNU tar -x', `${median(gnuTar).toFixed(0)} ms`, rate(median(gnuTar), layerMb), '1.00x'],
  ];
  for (const row of rows)
    console.log(row.map((cell, column) => cell.padEnd(column === 0 ? 44 : 12)).join(' '));
} finally {
  await registry.stop();
  rmSync(scratch, { recursive: true, force: true });
  for (const dir of podmanRunDirsToRemove) {
    try {
      rmdirSync(dir);
    } catch {} // not empty: someone else's podman uses it too
  }
}
