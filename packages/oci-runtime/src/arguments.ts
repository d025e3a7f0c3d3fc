// The Node half's command-line pieces: runc's flag forms, ids, and whole-file writes.
import { renameSync, writeFileSync } from 'node:fs';
import { TockerError } from '@tocker/runtime';

/** runc's rule for container ids: also what keeps an id a plain name under --root. */
const ID = /^[\w+\-.]+$/;

/** Flags of one subcommand: `--name value`, `--name=value`, or a bare switch. */
export function parseFlags(
  args: readonly string[],
  valued: Readonly<Record<string, string>>,
  switches: Readonly<Record<string, string>>,
): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  let index = 0;
  for (; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const valuedName = valued[name];
    const switchName = switches[name];
    if (valuedName !== undefined) {
      const value = inline ?? args[++index];
      if (value === undefined) throw new TockerError(`flag needs an argument: ${name}`);
      flags.set(valuedName, value);
    } else if (switchName !== undefined) {
      flags.set(switchName, inline ?? 'true');
    } else {
      throw new TockerError(`flag provided but not defined: ${name}`);
    }
  }
  return { flags, rest: args.slice(index) };
}

export function checkedId(rest: readonly string[], command: string): string {
  const id = rest[0];
  if (id === undefined || id === '') throw new TockerError(`"${command}" requires a container id`);
  if (!ID.test(id)) throw new TockerError(`invalid id format: ${id}`);
  return id;
}

export function writeWhole(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}
