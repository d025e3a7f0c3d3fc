/**
 * What stacking layers costs a start: start-to-exit latency of `tocker run --rm IMAGE
 * /bin/true` (the built CLI) from a 10-layer image and from a 1-layer image of the same
 * files, the default busybox tree. Both are built offline into the store of a private state
 * root, timed interleaved (BENCH_LAYERS_RUNS each, default 30, after WARMUP each), and their
 * medians compared.
 *
 * Run as root: npm run bench.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { median, printLatencies, timed, WARMUP } from '../../runtime/bench/measure.js';
import { prepareDefaultImage } from '../../runtime/src/image.js';
import { TestRoot } from '../../runtime/test/helpers.js';
import { loadImages } from '../src/archive.js';
import { ImageStore } from '../src/store.js';
import type { TarWriteEntry } from '../src/tar.js';
import { diffIds, imageConfig, layerTar, writeOciLayout } from '../test/fixtures.js';

const RUNS = Number(process.env.BENCH_LAYERS_RUNS ?? 30);
const tockerBin = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'tocker.cjs');

/** The images compared, each the same tree in a number of layers. */
const IMAGES = [
  { label: '1-layer image', name: 'bench/busybox:1-layer', layers: 1 },
  { label: '10-layer image', name: 'bench/busybox:10-layers', layers: 10 },
] as const;

/** What a tar entry keeps of a file's metadata. */
function metadataOf(stats: Stats): Pick<TarWriteEntry, 'mode' | 'uid' | 'gid' | 'mtime'> {
  return {
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

/** A directory tree as tar entries, as it is on disk, sorted (parents before children). */
function treeEntries(dir: string): TarWriteEntry[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((dirent): TarWriteEntry => {
      const full = join(dirent.parentPath, dirent.name);
      const path = relative(dir, full);
      const metadata = metadataOf(lstatSync(full));
      if (dirent.isDirectory()) return { path: `${path}/`, type: 'directory', ...metadata };
      if (dirent.isSymbolicLink())
        return { path, type: 'symlink', linkname: readlinkSync(full), ...metadata };
      if (dirent.isFile()) return { path, type: 'file', body: readFileSync(full), ...metadata };
      throw new Error(`${full}: neither a file, a directory nor a symlink`);
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * The same tree as `count` layer tars: each layer has every directory and a share of the
 * other entries, dealt in turn. Every directory is then merged from all the layers and a
 * lookup such as /bin/true → /bin/busybox crosses them: the overlay's hardest case for
 * these files, where a base layer holding nearly everything would hide the cost.
 */
function splitIntoLayers(entries: readonly TarWriteEntry[], count: number): Buffer[] {
  const directories = entries.filter((entry) => entry.type === 'directory');
  const others = entries.filter((entry) => entry.type !== 'directory');
  return Array.from({ length: count }, (_, layer) =>
    layerTar([...directories, ...others.filter((_, index) => index % count === layer)]),
  );
}

/** Builds each image as an OCI layout and loads it into `store`, as `tocker load` would. */
async function addImages(store: ImageStore, work: string): Promise<void> {
  const entries = treeEntries(prepareDefaultImage());
  for (const image of IMAGES) {
    const layers = splitIntoLayers(entries, image.layers);
    const layout = join(work, `layout-${image.layers}`);
    writeOciLayout(
      layout,
      { layers, config: imageConfig({ cmd: ['sh'] }, diffIds(layers)) },
      { tags: [image.name] },
    );
    await loadImages(store, layout);
  }
}

// A state root and cgroup parent of this process alone; cleanup() removes every container,
// then fails if a container, cgroup, process or mount of ours is left, and deletes the root.
const world = new TestRoot({ name: 'layers' });
const times = new Map<string, number[]>(IMAGES.map((image) => [image.label, []]));
try {
  await addImages(ImageStore.open(join(world.root, 'store')), world.root);
  for (let run = 0; run < WARMUP + RUNS; run++) {
    // Interleaved, and in alternating order, so that neither image always runs first (a
    // page cache or CPU frequency still settling) or second.
    const order = run % 2 === 0 ? IMAGES : [...IMAGES].reverse();
    for (const image of order) {
      const ms = timed(() =>
        execFileSync(tockerBin, ['run', '--rm', image.name, '/bin/true'], {
          env: world.env,
          stdio: ['ignore', 'ignore', 'pipe'],
        }),
      );
      if (run >= WARMUP) times.get(image.label)?.push(ms);
    }
  }
} finally {
  await world.cleanup();
}
const results = new Map([...times].map(([label, values]) => [label, median(values)]));
printLatencies(
  `Start-to-exit of /bin/true by tocker run --rm, median of ${RUNS} interleaved runs:`,
  results,
  IMAGES[0].label,
);
