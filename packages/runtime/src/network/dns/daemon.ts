import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TockerError } from '../../errors.js';
import { DNS_ENTRY } from '../../paths.js';
import { identify, isAlive, type ProcessIdentity } from '../../proc.js';
import { sleepSync } from '../../sleep-sync.js';
import { withDirectoryLock } from '../../state/lock.js';
import { nodeChildProcess } from '../../sys/builtins.js';
import type { Network } from '../networks.js';

/**
 * The lifetime of a user network's DNS server (main.ts): one process per network, started
 * by the first container that needs it, found again through the identity it writes to
 * `networks/<name>/dns.json` once it answers, ended with its network.
 */

/** How long a new server gets to answer before its start counts as failed. */
const START_TIMEOUT_MS = 5000;

/**
 * The resolv.conf whose nameservers are "the host's resolvers": the host's own, or
 * TOCKER_RESOLV_CONF (tests point it at a resolver of their own; hosts with a split DNS
 * set-up at the one containers should use).
 */
export function upstreamsFile(): string {
  return process.env.TOCKER_RESOLV_CONF ?? '/etc/resolv.conf';
}

function identityFile(networksDir: string, network: Network): string {
  return join(networksDir, network.name, 'dns.json');
}

function runningServer(networksDir: string, network: Network): ProcessIdentity | null {
  try {
    const identity = JSON.parse(readFileSync(identityFile(networksDir, network), 'utf8'));
    return isAlive(identity) ? identity : null;
  } catch {
    return null;
  }
}

/** Written by the server itself once both its sockets are bound: it answers from now on. */
export function announceResolver(networksDir: string, network: Network): void {
  const file = identityFile(networksDir, network);
  writeFileSync(`${file}.${process.pid}`, JSON.stringify(identify(process.pid)));
  renameSync(`${file}.${process.pid}`, file);
}

/**
 * The network's DNS server, answering: the one running, or a new one (under the network's
 * lock, so that concurrent first containers start one). Its errors go to dns.log beside.
 */
export function ensureResolver(networksDir: string, root: string, network: Network): void {
  if (runningServer(networksDir, network) !== null) return;
  const dir = join(networksDir, network.name);
  withDirectoryLock(dir, `network ${network.name}`, () => {
    if (runningServer(networksDir, network) !== null) return;
    rmSync(identityFile(networksDir, network), { force: true });
    const log = openSync(join(dir, 'dns.log'), 'w');
    const server = nodeChildProcess().spawn(process.execPath, [DNS_ENTRY, root, network.name], {
      detached: true,
      stdio: ['ignore', 'ignore', log],
      env: { ...process.env, TOCKER_RESOLV_CONF: upstreamsFile() },
    });
    closeSync(log);
    server.unref();
    const pid = server.pid;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
      if (runningServer(networksDir, network)?.pid === pid) return;
      if (pid === undefined || identify(pid) === null || Date.now() > deadline) {
        if (pid !== undefined) server.kill('SIGKILL');
        const why = readFileSync(join(dir, 'dns.log'), 'utf8').trim();
        throw new TockerError(
          `the DNS server of network ${network.name} did not start${why === '' ? '' : `: ${why}`}`,
        );
      }
      sleepSync(pause);
    }
  });
}

/** Ends the network's DNS server, if it runs (it would end by itself, within a second). */
export function stopResolver(networksDir: string, network: Network): void {
  const server = runningServer(networksDir, network);
  if (server === null) return;
  try {
    process.kill(server.pid, 'SIGTERM');
  } catch {
    // Gone already.
  }
}
