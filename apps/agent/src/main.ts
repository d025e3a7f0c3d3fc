import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { listenAddress, loadToken, readToken } from '@tocker/guard';
import { ImageStore } from '@tocker/images';
import { DEFAULT_ROOT as ENGINE_ROOT } from '@tocker/oci-runtime/state';
import { DirectoryLock, IMAGES_DIR, Runtime, tockerRoot } from '@tocker/runtime';
import { ContainerHost } from './containers.js';
import { TransitionFollower } from './follower.js';
import { agentInfo } from './host.js';
import { ImageHost } from './images.js';
import { EventJournal } from './journal.js';
import { startAgentServer } from './server.js';
import { StatsSampler } from './stats.js';

const usage = `Usage: tocker-agent [--listen HOST:PORT] [--token-file FILE] [--allow-rootfs DIR]... [--allow-bind DIR]...
                    [--insecure-registry HOST]... [--engine-root DIR] [--userns auto|host]

  --listen        address to listen on (default 127.0.0.1:7070; another address
                  only when asked for, and with a warning: the agent runs as root)
  --token-file    a file holding the token clients must present (default: TOCKER_TOKEN,
                  or one generated on first start and kept in <state>/agent/token, mode
                  0600); never on the command line, where every user's ps shows it
  --allow-rootfs  a directory whose subdirectories containers may have as root filesystem,
                  besides the images (${IMAGES_DIR} and <state>/images)
  --allow-bind    a host directory whose content containers may bind-mount (-v); none
                  by default: a bind mount of the host is the host's business
  --insecure-registry  a registry pulled from over plain HTTP (loopback ones always are)
  --engine-root   tocker-runtime's state root, whose podman and containerd containers are
                  listed read-only (default: TOCKER_ENGINE_ROOT, or ${ENGINE_ROOT})
  --userns        what containers get when their request does not say: auto (a user
                  namespace of its own each, its root an unprivileged range of host ids)
                  or host (default: TOCKER_USERNS, or host)
`;

/** Seconds between two collections of leftovers. */
const COLLECT_EVERY_TICKS = 10;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: '127.0.0.1:7070' },
      'token-file': { type: 'string' },
      'allow-rootfs': { type: 'string', multiple: true },
      'allow-bind': { type: 'string', multiple: true },
      'insecure-registry': { type: 'string', multiple: true },
      'engine-root': { type: 'string', default: process.env.TOCKER_ENGINE_ROOT ?? ENGINE_ROOT },
      userns: { type: 'string', default: process.env.TOCKER_USERNS || 'host' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const { host, port } = listenAddress(
    values.listen,
    'tocker-agent',
    'anyone who can reach it and has the token controls root on this machine',
  );
  const defaultUserns = values.userns;
  if (defaultUserns !== 'auto' && defaultUserns !== 'host')
    throw new Error(`--userns: auto or host, not ${JSON.stringify(defaultUserns)}`);
  const root = tockerRoot();
  const { token, generated } = loadToken(
    values['token-file'] === undefined ? process.env.TOCKER_TOKEN : readToken(values['token-file']),
    join(root, 'agent', 'token'),
  );
  const runtime = Runtime.open({ root, keepShimReady: true });
  // Two agents on one root would both journal and adopt the same containers.
  const agentDir = join(root, 'agent');
  mkdirSync(agentDir, { recursive: true, mode: 0o700 });
  const lock = DirectoryLock.acquire(agentDir, 0);
  if (lock === null || lock === 'busy')
    throw new Error(`another tocker agent is running on ${root}`);
  const journal = new EventJournal(join(agentDir, 'events.jsonl'));
  const warnSkipped = (count: number, where: string) =>
    process.stderr.write(`tocker-agent: skipped ${count} damaged line(s) of ${where}\n`);
  if (journal.skipped > 0) warnSkipped(journal.skipped, 'the event journal');
  const follower = new TransitionFollower(runtime.store.transitions, journal, (count) =>
    warnSkipped(count, runtime.store.transitions.file),
  );
  const images = new ImageHost(
    ImageStore.open(join(root, 'store')),
    runtime,
    values['insecure-registry'] ?? [],
  );
  const containers = new ContainerHost(
    runtime,
    images.store,
    () => follower.poll(),
    {
      kind: 'images',
      allowed: [IMAGES_DIR, join(root, 'images'), ...(values['allow-rootfs'] ?? [])],
      binds: values['allow-bind'] ?? [],
    },
    defaultUserns,
  );
  const watched = containers.watchDetached();
  follower.start(250);
  // What CLI processes left (killed ones) is collected here too; what a full disk kept
  // from being written is retried every second until it is.
  let ticks = 0;
  const collector = setInterval(() => {
    if (++ticks % COLLECT_EVERY_TICKS === 0) runtime.collectLeftovers();
    else if (runtime.store.isBehind) runtime.store.flushOutboxes();
  }, 1000);
  const stats = new StatsSampler(runtime, journal);
  const server = await startAgentServer({
    host,
    port,
    token,
    containers,
    images,
    volumes: runtime.volumes,
    networks: runtime.networks,
    journal,
    stats,
    engineRoot: values['engine-root'],
    info: () => agentInfo(runtime, journal.skipped + follower.skipped),
  });
  process.stdout.write(`tocker-agent: listening on ${server.url}\n`);
  if (watched > 0) process.stdout.write(`tocker-agent: took up ${watched} running container(s)\n`);
  if (generated)
    process.stdout.write(
      `tocker-agent: token (shown once, kept in ${join(root, 'agent', 'token')}): ${token}\n`,
    );
  const stop = () => {
    follower.stop();
    clearInterval(collector);
    void server
      .close()
      .then(() => runtime.close())
      .then(() => {
        journal.close();
        process.exit(0);
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`tocker-agent: ${(error as Error).message}\n`);
  process.exit(1);
});
