import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { guardConnections, HostAllowList, listenAddress, loadToken } from '@tocker/guard';
import { tockerRoot } from '@tocker/runtime/paths';
import nextModule from 'next';
import { openDatabase } from './db.js';
import { startGateway } from './gateway.js';
import { authGate } from './http.js';
import { providePageData } from './page-data.js';
import { AgentRegistry } from './registry.js';
import { TokenCipher } from './token-cipher.js';

const usage = `Usage: tocker-dashboard [--listen HOST:PORT] [--host-name NAME]... [--db FILE] [--agent URL]

  --listen     address to listen on (default 127.0.0.1:3000)
  --host-name  a name browsers reach it by, besides its addresses (and localhost when it
               listens on loopback); requests for any other name are refused
  --db         the SQLite database (default <state>/dashboard/dashboard.db), mode 0600
  --key-file   the key that seals agent tokens in the database (default
               <state>/dashboard/agent-tokens.key, made on first start, mode 0600)
  --agent      an agent to register as "local" (its token in TOCKER_AGENT_TOKEN)

The login token comes from TOCKER_LOGIN_TOKEN, or is generated once and kept in
<state>/dashboard/login-token (mode 0600). It is printed at every start.
`;

// next is CommonJS: at run time its default import is the factory itself, while its
// types (read as NodeNext) describe the module object around it.
const createNext = nextModule as unknown as typeof nextModule.default;

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: '127.0.0.1:3000' },
      'host-name': { type: 'string', multiple: true },
      db: { type: 'string' },
      'key-file': { type: 'string' },
      agent: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const { host, port } = listenAddress(
    values.listen,
    'tocker-dashboard',
    'the login token is all that stands between the network and root on every agent',
  );
  const stateDir = join(tockerRoot(), 'dashboard');
  const { token: loginToken } = loadToken(
    process.env.TOCKER_LOGIN_TOKEN,
    join(stateDir, 'login-token'),
  );
  const prisma = openDatabase(values.db ?? join(stateDir, 'dashboard.db'));
  const tokens = TokenCipher.open(values['key-file'] ?? join(stateDir, 'agent-tokens.key'));
  const registry = await AgentRegistry.open(prisma, tokens);
  if (values.agent !== undefined) {
    const agentToken = process.env.TOCKER_AGENT_TOKEN;
    if (agentToken === undefined)
      throw new Error('--agent needs the agent token in TOCKER_AGENT_TOKEN');
    await registry.ensure('local', values.agent, agentToken);
  }

  providePageData(registry);
  const app = createNext({ dev: false, dir: webDir, hostname: host, port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const hosts = new HostAllowList(host, values['host-name'] ?? []);
  const gateway = startGateway(prisma, registry, hosts);
  const http = createServer(
    authGate({
      prisma,
      loginToken,
      hosts,
      next: (request, response) => handle(request, response),
      signedOut: (session) => gateway.endSession(session),
    }),
  );
  guardConnections(http);
  gateway.attach(http);
  await new Promise<void>((resolveListen, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolveListen());
  });
  const address = http.address() as AddressInfo;
  const shown =
    host === '127.0.0.1'
      ? 'localhost'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address;
  process.stdout.write(`tocker-dashboard: listening on http://${shown}:${address.port}\n`);
  process.stdout.write(`tocker-dashboard: login token: ${loginToken}\n`);

  const stop = () => {
    registry.close();
    void gateway.close();
    http.close();
    void Promise.all([app.close(), prisma.$disconnect()]).finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`tocker-dashboard: ${(error as Error).message}\n`);
  process.exit(1);
});
