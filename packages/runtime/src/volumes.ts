import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ContainerRef, VOLUME_NAME, type VolumeSummary } from '@tocker/protocol/vocabulary';
import { TockerError } from './errors.js';
import { discardNamed, namesIn } from './named-dirs.js';
import type { ContainerRecord } from './state/record.js';
import { randomHex } from './sys/builtins.js';

export interface Volume {
  readonly name: string;
  /** What containers mount. */
  readonly path: string;
  readonly createdAt: string;
}

/**
 * Named volumes, TOCKER_ROOT/volumes/<name>/_data: created on first use (made beside and
 * renamed in, so two containers naming a new volume at once get the same one), kept until
 * removed. A new volume is filled from the image by the container that mounts it first.
 */
const containerRef = (record: ContainerRecord): ContainerRef => ({
  id: record.id,
  name: record.name,
});

export class VolumeStore {
  constructor(
    readonly dir: string,
    /** Every container of the root, whatever its state: a volume is never removed under one. */
    private readonly containers: () => readonly ContainerRecord[],
  ) {}

  /** As clients see it, with the containers that mount it. */
  describe(volume: Volume): VolumeSummary {
    return { ...volume, usedBy: this.usersOf(volume.name).map(containerRef) };
  }

  /** The containers that mount it. */
  usersOf(name: string): ContainerRecord[] {
    return this.containers().filter((record) =>
      record.config.mounts.some((mount) => mount.kind === 'bind' && mount.volume === name),
    );
  }

  get(name: string): Volume | null {
    if (!VOLUME_NAME.test(name))
      throw new TockerError(`volume ${JSON.stringify(name)}: not a volume name`);
    try {
      const { createdAt } = JSON.parse(readFileSync(join(this.dir, name, 'volume.json'), 'utf8'));
      return { name, path: join(this.dir, name, '_data'), createdAt: String(createdAt) };
    } catch {
      return null;
    }
  }

  /** The volume, made now if it does not exist. */
  ensure(name: string): Volume {
    const found = this.get(name);
    if (found !== null) return found;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const staging = join(this.dir, `.new-${process.pid}-${randomHex(6)}`);
    mkdirSync(join(staging, '_data'), { recursive: true, mode: 0o755 });
    writeFileSync(
      join(staging, 'volume.json'),
      JSON.stringify({ createdAt: new Date().toISOString() }),
    );
    try {
      renameSync(staging, join(this.dir, name));
    } catch {
      // Made by another process meanwhile: that one it is.
      rmSync(staging, { recursive: true, force: true });
    }
    const made = this.get(name);
    if (made === null) throw new TockerError(`volume ${name} could not be created`);
    return made;
  }

  list(): Volume[] {
    return namesIn(this.dir).flatMap((name) => this.get(name) ?? []);
  }

  /**
   * Deletes it and its data (renamed away first: never half a volume under its name), unless
   * a container mounts it.
   */
  remove(name: string): void {
    if (this.get(name) === null) throw new TockerError(`no volume ${name}`);
    const user = this.usersOf(name)[0];
    if (user !== undefined)
      throw new TockerError(
        `volume ${name} is in use by container ${user.name ?? user.id.slice(0, 12)}: remove it first`,
      );
    discardNamed(this.dir, name);
  }

  /** Deletes every volume no container mounts; returns their names. */
  prune(): string[] {
    const used = new Set(
      this.containers().flatMap((record) =>
        record.config.mounts.flatMap((mount) =>
          mount.kind === 'bind' && mount.volume !== null ? [mount.volume] : [],
        ),
      ),
    );
    const unused = this.list().filter((volume) => !used.has(volume.name));
    for (const volume of unused) this.remove(volume.name);
    return unused.map((volume) => volume.name);
  }
}
