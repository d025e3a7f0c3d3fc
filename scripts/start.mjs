#!/usr/bin/env node
// `npm start`, after set-up: the agent and the dashboard together, in the foreground.
// The dashboard registers the agent as "local" with the agent's token (handed over in
// its environment, never on a command line). Ctrl-C stops both; if one dies, so does the
// other. Addresses: TOCKER_AGENT_LISTEN (127.0.0.1:7070), TOCKER_DASHBOARD_LISTEN
// (127.0.0.1:3000).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { tockerRoot } = await import(join(repo, 'packages/runtime/dist/paths.js'));
const agentListen = process.env.TOCKER_AGENT_LISTEN ?? '127.0.0.1:7070';
const dashboardListen = process.env.TOCKER_DASHBOARD_LISTEN ?? '127.0.0.1:3000';

const children = new Set();
let stopping = false;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  const exit = () => children.size === 0 && process.exit(code);
  for (const child of children) child.once('exit', exit);
  exit();
}

function start(name, args, env = {}) {
  const child = spawn(process.execPath, args, {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`start: the ${name} stopped (${signal ?? `exit ${code}`}); stopping the rest`);
      stopAll(code ?? 1);
    }
  });
  return child;
}

/** Resolves with the first line of the child's output that matches, echoing everything. */
function waitFor(child, pattern) {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      text += chunk;
      const match = pattern.exec(text);
      if (match) resolve(match);
    });
    child.once('exit', () => reject(new Error('exited before it was ready')));
  });
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stopAll(0));

const agent = start('agent', [join(repo, 'apps/agent/dist/main.js'), '--listen', agentListen]);
const [, agentUrl] = await waitFor(agent, /listening on (\S+)/);
const agentToken =
  process.env.TOCKER_TOKEN ?? readFileSync(join(tockerRoot(), 'agent', 'token'), 'utf8').trim();

// tocker-runtime's warm compiler, so that podman and containerd pointed at tocker-runtime
// create containers without a Node start each (packages/oci-runtime/src/compiler.ts).
start('tocker-runtime compiler', [
  join(repo, 'packages/oci-runtime/dist/compile.cjs'),
  '--root',
  '/run/tocker-runtime',
  'compiler',
]);

const dashboard = start(
  'dashboard',
  [join(repo, 'apps/web/dist/server/main.js'), '--listen', dashboardListen, '--agent', agentUrl],
  { TOCKER_AGENT_TOKEN: agentToken, NEXT_TELEMETRY_DISABLED: '1' },
);
// Both lines, whatever chunks they come in: the message below refers to the token above.
const [, dashboardUrl] = await waitFor(dashboard, /listening on (\S+)\n[\s\S]*login token: \S+\n/);
console.log(`\ntocker is up: open ${dashboardUrl} and sign in with the login token above.\n`);
