import { openSync } from 'node:fs';
// The package as its users (the CLI's benchmarks) have it, not its sources.
import { parseContainerSpec, type Runtime, type RuntimeConfig } from '@tocker/runtime';

/** /bin/true from `rootfs` as the runtime runs it, removed at its end, on `network`. */
export function trueConfig(runtime: Runtime, rootfs: string, network: string): RuntimeConfig {
  return runtime.configure(
    parseContainerSpec({ rootfs, command: ['/bin/true'], autoRemove: true, network }),
    { kind: 'any-directory' },
  );
}

let devNull: number | undefined;

/**
 * One container through the library, from a warm process, start to recorded exit, in ms:
 * its output to /dev/null, in the foreground as the CLI runs it. It must exit 0.
 */
export async function timeLibraryRun(runtime: Runtime, config: RuntimeConfig): Promise<number> {
  devNull ??= openSync('/dev/null', 'r+');
  const started = performance.now();
  const container = await runtime.run(config, {
    io: { kind: 'relay', stdin: null, stdout: devNull, stderr: devNull },
    foreground: true,
  });
  const exit = await container.wait();
  if (exit.exitCode !== 0) throw new Error(`/bin/true exited ${exit.exitCode}`);
  return performance.now() - started;
}
