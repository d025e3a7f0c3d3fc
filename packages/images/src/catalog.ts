import type { ContainerRef, ImageDefaults, ImageSummary } from '@tocker/protocol/vocabulary';
import { type ContainerRecord, TockerError } from '@tocker/runtime';
import { canonicalNameOrNull, familiarName } from './reference.js';
import type { ImageStore, StoredImage } from './store.js';

/**
 * The store's images as users handle them, beside the containers made from them: what the
 * CLI and the agent both answer (listing, removal, pruning), so that both refuse the same
 * things. Containers count whatever their state: an exited one can be started again.
 */
export class ImageCatalog {
  constructor(
    readonly store: ImageStore,
    private readonly containers: () => readonly ContainerRecord[],
  ) {}

  list(): ImageSummary[] {
    const containers = this.containers();
    return this.store.list().map((image) => summarize(image, containers));
  }

  inspect(reference: string): ImageSummary {
    return summarize(this.store.resolve(reference), this.containers());
  }

  summarize(image: StoredImage): ImageSummary {
    return summarize(image, this.containers());
  }

  /**
   * docker rmi: a name removes that name, an id every name of the image; the image, and the
   * layers only it had, go with its last name. Refused while a container was made from it,
   * unless forced (the container keeps its layers until it is removed).
   */
  remove(reference: string, force: boolean): { untagged: string[]; deleted: string[] } {
    const image = this.store.resolve(reference);
    const containers = this.containers();
    const user = containers.find((record) => record.config.root.image?.digest === image.digest);
    if (user !== undefined && !force)
      throw new TockerError(
        `image ${reference} is used by container ${user.name ?? user.id.slice(0, 12)}: remove it first, or use -f`,
      );
    const named = image.names.filter((name) => name === canonicalNameOrNull(reference));
    const names = named.length > 0 ? named : [...image.names];
    const deleted = this.store.untag(names);
    this.store.collect(layersInUse(containers));
    return { untagged: names.map(familiarName), deleted };
  }

  /** Removes what no named image and no container needs. */
  prune(): { layers: number; blobs: number } {
    return this.store.collect(layersInUse(this.containers()));
  }
}

/** The layers containers run on: never collected under them. */
function layersInUse(containers: readonly ContainerRecord[]): Set<string> {
  return new Set(containers.flatMap((record) => record.config.root.layers));
}

function summarize(image: StoredImage, containers: readonly ContainerRecord[]): ImageSummary {
  const usedBy: ContainerRef[] = containers
    .filter((record) => record.config.root.image?.digest === image.digest)
    .map((record) => ({ id: record.id, name: record.name }));
  return {
    id: image.id,
    digest: image.digest,
    names: image.names.map(familiarName),
    createdAt: image.config.created ?? null,
    bytes: image.bytes,
    layers: image.layers.length,
    platform: `${image.config.os}/${image.config.architecture}`,
    config: runConfigOf(image),
    usedBy,
  };
}

function runConfigOf(image: StoredImage): ImageDefaults {
  const config = image.config.config ?? {};
  return {
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    env: config.Env ?? [],
    workdir: config.WorkingDir || null,
    user: config.User || null,
    exposedPorts: Object.keys(config.ExposedPorts ?? {}),
    stopSignal: config.StopSignal ?? null,
    labels: config.Labels ?? {},
  };
}
