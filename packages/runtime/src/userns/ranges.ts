import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdMapping } from '@tocker/protocol/vocabulary';
import { z } from 'zod';
import { TockerError } from '../errors.js';
import { DirectoryLock } from '../state/lock.js';
import { RANGE_SIZE, type SubordinateRange, subordinateRange } from './subordinate-ids.js';

export type { IdMapping };

export interface UserNamespaceMappings {
  readonly uidMappings: readonly IdMapping[];
  readonly gidMappings: readonly IdMapping[];
}

/** Where the subordinate ids come from (tests give files of their own). */
export interface SubordinateIdFiles {
  readonly uid: string;
  readonly gid: string;
}

export const SYSTEM_SUBORDINATE_ID_FILES: SubordinateIdFiles = {
  uid: '/etc/subuid',
  gid: '/etc/subgid',
};

/**
 * The user-namespace ranges of a state root's containers: the `tocker` entries of
 * /etc/subuid and /etc/subgid cut into slots of RANGE_SIZE ids, each leased to one
 * container in `leases.json` (slot → container id), under the directory's lock and
 * rewritten whole, as the networks lease addresses: never handed out twice, kept across
 * restarts and crashes (a stopped container's writable layer is owned by its range, so
 * the range stays its own until it is removed), given back when it is removed (rm, --rm,
 * a collection: updateReleasing) and, when the remover died, by the next command's collection.
 */
export class UserNamespaceRanges {
  constructor(
    private readonly dir: string,
    private readonly files: SubordinateIdFiles = SYSTEM_SUBORDINATE_ID_FILES,
  ) {}

  /** The container's range: the one it holds, or the first free one. */
  lease(container: string): UserNamespaceMappings {
    const uid = subordinateRange(this.files.uid);
    const gid = subordinateRange(this.files.gid);
    const slots = Math.min(Math.floor(uid.count / RANGE_SIZE), Math.floor(gid.count / RANGE_SIZE));
    if (slots === 0)
      throw new TockerError(
        `--userns=auto: the tocker entries of ${this.files.uid} and ${this.files.gid} need at least ${RANGE_SIZE} ids each`,
      );
    return this.withLeases((leases) => {
      const held = Object.entries(leases).find(([, holder]) => holder === container)?.[0];
      let slot = held === undefined ? -1 : Number(held);
      if (slot < 0 || slot >= slots) {
        slot =
          Array.from({ length: slots }, (_, index) => index).find(
            (index) => leases[index] === undefined,
          ) ?? -1;
        if (slot < 0)
          throw new TockerError(
            `--userns=auto: all ${slots} user-namespace ranges are leased (remove containers, or give tocker more ids in ${this.files.uid} and ${this.files.gid})`,
          );
        if (held !== undefined) delete leases[held];
        leases[slot] = container;
      }
      return { uidMappings: [mappingOf(uid, slot)], gidMappings: [mappingOf(gid, slot)] };
    });
  }

  release(container: string): void {
    this.releaseUnless((holder) => holder !== container);
  }

  /** Gives back every range held by a container that `exists` does not know. */
  releaseUnless(exists: (container: string) => boolean): void {
    if (!existsSync(this.leasesFile)) return; // no container of this root ever had a range
    this.withLeases((leases) => {
      for (const [slot, holder] of Object.entries(leases)) if (!exists(holder)) delete leases[slot];
    });
  }

  /** Slot → container: every range leased. */
  leases(): Record<string, string> {
    try {
      return z.record(z.string()).parse(JSON.parse(readFileSync(this.leasesFile, 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new TockerError(
        `the user-namespace leases are damaged (${(error as Error).message}): ${this.leasesFile}`,
      );
    }
  }

  private get leasesFile(): string {
    return join(this.dir, 'leases.json');
  }

  private withLeases<T>(change: (leases: Record<string, string>) => T): T {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const lock = DirectoryLock.acquireOrFail(this.dir, 'the user-namespace leases');
    if (lock === null) throw new TockerError(`${this.dir} disappeared`);
    try {
      const leases = this.leases();
      const before = JSON.stringify(leases);
      const result = change(leases);
      if (JSON.stringify(leases) !== before) {
        const staging = join(this.dir, `.leases-${process.pid}`);
        writeFileSync(staging, JSON.stringify(leases));
        renameSync(staging, this.leasesFile);
      }
      return result;
    } finally {
      lock.release();
    }
  }
}

function mappingOf(range: SubordinateRange, slot: number): IdMapping {
  return { containerID: 0, hostID: range.start + slot * RANGE_SIZE, size: RANGE_SIZE };
}

/** The text of /proc/PID/uid_map or gid_map for these mappings. */
export function mapText(mappings: readonly IdMapping[]): string {
  return mappings
    .map(({ containerID, hostID, size }) => `${containerID} ${hostID} ${size}\n`)
    .join('');
}
