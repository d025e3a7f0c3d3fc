// The Node half of tocker-runtime: create and exec arrive here from the C front end
// (native/node.c), global flags first and normalized, the rest as the engine passed it;
// `compiler` is the warm server that spares creates their Node start (compiler.ts).
import { existsSync, mkdirSync } from 'node:fs';
import { TockerError } from '@tocker/runtime';
import { parseFlags } from './arguments.js';
import { serveCompiler } from './compiler.js';
import { create } from './create.js';
import { exec } from './exec.js';
import { type LogFormat, RuntimeLog } from './log.js';
import { DEFAULT_ROOT } from './state.js';

function globalsFrom(argv: string[]): {
  root: string;
  log: RuntimeLog;
  command: string;
  args: string[];
} {
  const { flags, rest } = parseFlags(
    argv,
    { '--root': 'root', '--log': 'log', '--log-format': 'logFormat' },
    { '--debug': 'debug' },
  );
  const format = flags.get('logFormat') ?? 'text';
  const log = new RuntimeLog({
    file: flags.get('log') ?? null,
    format: format === 'json' ? 'json' : ('text' satisfies LogFormat),
    debug: flags.has('debug'),
  });
  const [command = '', ...args] = rest;
  return { root: flags.get('root') ?? DEFAULT_ROOT, log, command, args };
}

async function main(): Promise<number> {
  let log = new RuntimeLog({ file: null, format: 'text', debug: false });
  try {
    const globals = globalsFrom(process.argv.slice(2));
    log = globals.log;
    if (!existsSync(globals.root)) mkdirSync(globals.root, { recursive: true, mode: 0o700 });
    switch (globals.command) {
      case 'create':
        await create(globals.root, globals.args);
        return 0;
      case 'exec':
        return await exec(globals.root, globals.args);
      case 'compiler':
        await serveCompiler(globals.root, log);
        return 0;
      default:
        throw new TockerError(`${globals.command}: not a command of the Node half`);
    }
  } catch (error) {
    log.error(error instanceof TockerError ? error.message : String((error as Error).stack));
    return 1;
  }
}

// Explicitly: nothing this process started may keep it (or the engine waiting on it).
main().then((code) => process.exit(code));
