import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Runtime, tockerRoot } from '@tocker/runtime';
import { ContainerHost } from './containers.js';
import { TransitionFollower } from './follower.js';
import { agentInfo } from './host.js';
import { EventJournal } from './journal.js';
import { TerminalKeepers } from './keepers.js';
import { listenAddress } from './listen.js';
import { startAgentServer } from './server.js';
import { StatsSampler } from './stats.js';
import { loadToken } from './token.js';

const usage = `Usage: tocker-agent [--listen HOST:PORT] [--token TOKEN] [--allow-origin URL]...

  --listen        address to listen on (default 127.0.0.1:7070; another address
                  only when asked for, and with a warning: the agent runs as root)
  --token         the token clients must present (default: TOCKER_TOKEN, or one generated
                  on first start and kept in <state>/agent/token, mode 0600)
  --allow-origin  a browser origin that may connect (default: the dashboard on
                  http://localhost:3000 and http://127.0.0.1:3000)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: '127.0.0.1:7070' },
      token: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
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
  const root = tockerRoot();
  const { token, generated } = loadToken(
    values.token ?? process.env.TOCKER_TOKEN,
    join(root, 'agent', 'token'),
  );
  const journal = new EventJournal(join(root, 'agent', 'events.jsonl'));
  const runtime = Runtime.open({ root });
  const follower = new TransitionFollower(
    runtime.store.transitionsFile,
    join(root, 'agent', 'transitions.offset'),
    journal,
  );
  const containers = new ContainerHost(
    runtime,
    () => follower.poll(),
    new TerminalKeepers(join(root, 'agent', 'terminals')),
  );
  const adopted = containers.adoptOrphans();
  follower.start(250);
  const stats = new StatsSampler(runtime, journal);
  const server = await startAgentServer({
    host,
    port,
    token,
    allowedOrigins: values['allow-origin'] ?? ['http://localhost:3000', 'http://127.0.0.1:3000'],
    containers,
    journal,
    stats,
    info: () => agentInfo(runtime),
  });
  process.stdout.write(`tocker-agent: listening on ${server.url}\n`);
  if (adopted > 0) process.stdout.write(`tocker-agent: adopted ${adopted} running container(s)\n`);
  if (generated)
    process.stdout.write(
      `tocker-agent: token (shown once, kept in ${join(root, 'agent', 'token')}): ${token}\n`,
    );
  const stop = () => {
    follower.stop();
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`tocker-agent: ${(error as Error).message}\n`);
  process.exit(1);
});
