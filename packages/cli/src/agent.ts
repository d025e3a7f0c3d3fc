import { createRequire } from 'node:module';
import { TockerError } from '@tocker/runtime';

/**
 * `tocker agent ...` runs the agent (apps/agent), which builds on this package: found
 * where npm put it, started as its own Node process, its exit status passed on.
 */
export async function agentCommand(args: readonly string[]): Promise<number> {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve('@tocker/agent');
  } catch {
    throw new TockerError('the agent (@tocker/agent) is not installed next to this tocker');
  }
  const { spawn } = await import('node:child_process');
  const agent = spawn(process.execPath, [main, ...args], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => agent.kill(signal));
  return new Promise((resolve) =>
    agent.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
}
