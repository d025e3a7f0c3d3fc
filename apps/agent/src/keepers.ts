import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keepFd, type ProcessIdentity, reclaimFd, releaseFd } from '@tocker/runtime';

/**
 * The keepers of the containers' pty masters, one per tty container, recorded as
 * `<dir>/<container id>.json` so that the next agent finds them: the shells survive an
 * agent restart or crash, and the new agent reattaches their terminals.
 */
export class TerminalKeepers {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Keeps `master` open while the container's PID 1 (`owner`) lives. A keeper that cannot
   * be recorded (a full disk) is let go: the shell then ends with this agent, nothing worse.
   */
  keep(container: string, master: number, owner: ProcessIdentity): void {
    const keeper = keepFd(master, owner);
    try {
      writeFileSync(this.file(container), JSON.stringify(keeper), { mode: 0o600 });
    } catch {
      releaseFd(keeper);
    }
  }

  /** The container's pty master, taken back from its keeper; null if there is none. */
  reclaim(container: string): number | null {
    const keeper = this.read(container);
    return keeper === null ? null : reclaimFd(keeper);
  }

  release(container: string): void {
    const keeper = this.read(container);
    if (keeper !== null) releaseFd(keeper);
    rmSync(this.file(container), { force: true });
  }

  /** Keepers of containers that no longer run (they ended while no agent was there). */
  releaseAllBut(running: ReadonlySet<string>): void {
    for (const entry of readdirSync(this.dir)) {
      const container = entry.replace(/\.json$/, '');
      if (!running.has(container)) this.release(container);
    }
  }

  private file(container: string): string {
    return join(this.dir, `${container}.json`);
  }

  private read(container: string): ProcessIdentity | null {
    try {
      return JSON.parse(readFileSync(this.file(container), 'utf8')) as ProcessIdentity;
    } catch {
      return null;
    }
  }
}
