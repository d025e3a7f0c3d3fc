import { formatBytes } from './units.js';

/**
 * Images and volumes as clients see them (the agent's replies, the dashboard): projections
 * of the agent's image store and volume store. Browser-safe.
 */

/** A container named by what users know it by. */
export interface ContainerRef {
  readonly id: string;
  readonly name: string | null;
}

/** A container on a network: its address there and the names it has there besides its own. */
export interface NetworkMember extends ContainerRef {
  readonly address: string;
  readonly aliases: readonly string[];
}

/** How an image runs, from its configuration (docker's Config, the fields tocker reads). */
export interface ImageDefaults {
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly workdir: string | null;
  readonly user: string | null;
  /** `80/tcp`, as the image declares them (published by networking, later). */
  readonly exposedPorts: readonly string[];
  readonly stopSignal: string | null;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ImageSummary {
  /** The digest of its configuration (docker's image id). */
  readonly id: string;
  /** The digest of its manifest: what a registry names it by. */
  readonly digest: string;
  /** Its names, as users write them (`busybox:latest`). */
  readonly names: readonly string[];
  readonly createdAt: string | null;
  /** Unpacked size of its layers. */
  readonly bytes: number;
  readonly layers: number;
  readonly platform: string;
  readonly config: ImageDefaults;
  /** The containers made from it (whatever their state): it is not removed under them. */
  readonly usedBy: readonly ContainerRef[];
}

export interface VolumeSummary {
  readonly name: string;
  /** Where its data is on the agent's host. */
  readonly path: string;
  readonly createdAt: string;
  /** The containers that mount it (whatever their state): it is not removed under them. */
  readonly usedBy: readonly ContainerRef[];
}

/** One layer of a pull as docker pull shows it. */
export interface PullLayerState {
  readonly digest: string;
  readonly status: 'waiting' | 'downloading' | 'done' | 'cached';
  readonly receivedBytes: number;
  readonly totalBytes: number;
}

/**
 * A pull the agent is doing or has just done, pushed as `image:pull` while it goes (at
 * most every 100 ms, and at each layer's end and at the end); `image:list` has the ones
 * in progress, so a page that opens later shows them too.
 */
export interface PullState {
  readonly pull: string;
  readonly reference: string;
  readonly startedAt: string;
  readonly status: 'pulling' | 'done' | 'failed';
  /** Known once the manifest is read. */
  readonly layers: readonly PullLayerState[];
  /** When done: the image. */
  readonly image: ImageSummary | null;
  /** When failed: why, in one line. */
  readonly error: string | null;
}

/** `sha256:0123456789abcdef…` as docker shows ids and layers: the first 12 hex digits. */
export const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** A layer's state in docker pull's words: the CLI's lines and the dashboard's say the same. */
export function describeLayer(layer: PullLayerState): string {
  switch (layer.status) {
    case 'waiting':
      return 'Waiting';
    case 'downloading':
      return `Downloading ${formatBytes(layer.receivedBytes)}/${formatBytes(layer.totalBytes)}`;
    case 'done':
      return 'Pull complete';
    case 'cached':
      return 'Already exists';
  }
}

/** A network of the agent's state root, with the containers on it. */
export interface NetworkSummary {
  readonly id: string;
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
  /** Its bridge device on the agent's host. */
  readonly bridge: string;
  readonly createdAt: string;
  /** The containers holding an address on it (whatever their state), with that address. */
  readonly containers: readonly NetworkMember[];
}
