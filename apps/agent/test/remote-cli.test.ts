import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { spawn as spawnPty } from 'node-pty';
import { Agent, removeEverything, tockerBin, token } from './helpers.js';

let agent: Agent;
let env: NodeJS.ProcessEnv;

before(async () => {
  agent = await new Agent().started();
  env = { ...process.env, TOCKER_HOST: agent.url, TOCKER_TOKEN: token };
});

after(async () => {
  await agent?.stop();
  await removeEverything();
});

/** The real CLI, pointed at the agent through TOCKER_HOST. */
function tocker(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(tockerBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The CLI on a pty, as a user at a terminal runs it. */
function onTerminal(args: string[], size: { cols: number; rows: number }) {
  const pty = spawnPty(tockerBin, args, {
    ...size,
    env: env as Record<string, string>,
    name: 'xterm',
  });
  let output = '';
  pty.onData((data) => {
    output += data;
  });
  const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
  const expect = async (pattern: RegExp, from = 0) => {
    const deadline = Date.now() + 10_000;
    while (!pattern.test(output.slice(from))) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}: ${JSON.stringify(output.slice(from))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { pty, exited, expect, length: () => output.length };
}

describe('the CLI as a client of the agent (TOCKER_HOST, real agent, real containers)', {
  timeout: 90_000,
}, () => {
  test('run in the foreground: output and exit code come back; --rm removes it', async () => {
    const result = await tocker([
      'run',
      '--rm',
      '--name',
      'remote-once',
      'busybox',
      'sh',
      '-c',
      'echo from the agent; exit 4',
    ]);
    assert.equal(result.code, 4, result.stderr);
    assert.equal(result.stdout, 'from the agent\n');
    assert.equal((await tocker(['inspect', 'remote-once'])).code, 1);
  });

  test('run -d, ps, logs -f, exec, update, stats, stop, rm with the same flags as locally', async () => {
    const started = await tocker([
      'run',
      '-d',
      '--name',
      'remote-d',
      '-m',
      '64m',
      '--hostname',
      'far-away',
      'busybox',
      'sh',
      '-c',
      'echo one; sleep 0.5; echo two; sleep 60',
    ]);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^[0-9a-f]{64}\n$/);
    assert.match((await tocker(['ps'])).stdout, /remote-d/);
    const exec = await tocker(['exec', 'remote-d', 'sh', '-c', 'hostname; exit 3']);
    assert.equal(exec.code, 3);
    assert.equal(exec.stdout, 'far-away\n');
    assert.equal((await tocker(['update', '--memory', '96m', 'remote-d'])).code, 0);
    const stats = await tocker(['stats', '--no-stream']);
    assert.match(stats.stdout, /remote-d\s+[\d.]+%\s+[\d.]+ [KM]iB \/ 96 MiB/);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.match((await tocker(['logs', 'remote-d'])).stdout, /^one\ntwo\n$/);
    assert.equal((await tocker(['stop', '-t', '1', 'remote-d'])).code, 0);
    const followed = await tocker(['logs', '-f', 'remote-d']);
    assert.equal(followed.stdout, 'one\ntwo\n');
    assert.equal((await tocker(['rm', 'remote-d'])).code, 0);
    assert.doesNotMatch((await tocker(['ps', '-a'])).stdout, /remote-d/);
  });

  test('run -it through the agent: a terminal with its size, following resizes, and the exit code', async () => {
    const terminal = onTerminal(['run', '-it', '--rm', 'busybox', 'sh'], { cols: 77, rows: 19 });
    await terminal.expect(/\/ # /);
    terminal.pty.write('stty size\r');
    await terminal.expect(/^19 77\r?$/m);
    const mark = terminal.length();
    terminal.pty.resize(120, 33);
    await new Promise((resolve) => setTimeout(resolve, 300));
    terminal.pty.write('stty size\r');
    await terminal.expect(/^33 120\r?$/m, mark);
    terminal.pty.write('exit 7\r');
    assert.equal(await terminal.exited, 7);
  });

  test('logs of a container with a terminal: what its terminal showed', async () => {
    const started = await tocker([
      'run',
      '-d',
      '-t',
      '--name',
      'remote-tty',
      'busybox',
      'sh',
      '-c',
      'echo on-the-tty',
    ]);
    assert.equal(started.code, 0, started.stderr);
    const deadline = Date.now() + 10_000;
    let logs = await tocker(['logs', 'remote-tty']);
    while (!/on-the-tty/.test(logs.stdout) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      logs = await tocker(['logs', 'remote-tty']);
    }
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^on-the-tty\r?$/m);
  });

  test('exec -it through the agent: a second shell in a running container', async () => {
    const started = await tocker(['run', '-d', '--name', 'remote-exec', 'busybox', 'sleep', '60']);
    assert.equal(started.code, 0, started.stderr);
    const terminal = onTerminal(['exec', '-it', 'remote-exec', 'sh'], { cols: 80, rows: 24 });
    await terminal.expect(/\/ # /);
    terminal.pty.write('ps -o comm | grep -c sleep; exit 2\r');
    await terminal.expect(/^1\r?$/m);
    assert.equal(await terminal.exited, 2);
    await tocker(['rm', '-f', 'remote-exec']);
  });

  test('a wrong token is one clear line and a non-zero exit', async () => {
    const child = spawn(tockerBin, ['ps'], {
      env: { ...env, TOCKER_TOKEN: 'not-the-right-token' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 125);
    assert.match(stderr, /^tocker: cannot reach the agent at .*unauthorized.*\n$/);
  });
});
