import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetworkStore, reconcileHostNetworks } from '../src/index.js';

/**
 * A temporary directory of this test process, named after it (tocker-NAME-PID-XXXXXX):
 * should the process be killed before its clean-up, the next run's sweep
 * (scripts/sweep-tests.mjs) knows whose it was and removes it.
 */
export function scratchDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `tocker-${name}-${process.pid}-`));
}

/**
 * What tocker of this process (and the agents and CLIs it starts) takes for the host's
 * resolv.conf (TOCKER_RESOLV_CONF): an empty file in the state root, so that no container
 * of a test can ever ask the machine's resolver a name. A test that needs an upstream
 * writes its own resolver's address into it.
 */
export function withoutHostResolvers(root: string): string {
  const file = join(root, 'resolv.conf');
  mkdirSync(root, { recursive: true });
  writeFileSync(file, '');
  process.env.TOCKER_RESOLV_CONF = file;
  return file;
}

/**
 * Removes a test's state root (`dispose`: when it is something else than a directory, e.g. a
 * mount), and with it, as any tocker command would, the bridges and firewall table its
 * networks had on the host. Fails when one is left.
 */
export function removeStateRoot(
  root: string,
  dispose = () => rmSync(root, { recursive: true, force: true }),
): void {
  const bridges = new NetworkStore(join(root, 'networks'), root)
    .list()
    .map((network) => network.bridge);
  dispose();
  reconcileHostNetworks();
  const left = bridges.filter((bridge) => existsSync(join('/sys/class/net', bridge)));
  if (left.length > 0) throw new Error(`bridges left behind: ${left.join(', ')}`);
}
