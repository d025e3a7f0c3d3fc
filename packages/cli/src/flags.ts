import { TockerError } from '@tocker/runtime';

export interface FlagSpec {
  /** Long name without dashes: --memory. */
  readonly name: string;
  /** One-letter alias: -m. */
  readonly short?: string;
  readonly value?: 'string' | 'list';
  /** Placeholder for help output, e.g. "BYTES". */
  readonly placeholder?: string;
  readonly help: string;
}

/** --help, which every command takes. */
export const help: FlagSpec = { name: 'help', help: 'Show this help' };

export interface ParsedFlags {
  /** Boolean flags map to "true"/"false"; list flags keep every value. */
  readonly values: ReadonlyMap<string, string[]>;
  readonly positionals: readonly string[];
}

/**
 * Docker-style flags, plus gocker's single-dash long flags (-cpus=1 -rootfs=/x):
 * --name value, --name=value, -n value, -nvalue, -n=value, clusters of one-letter
 * booleans (-it, -dit). Parsing stops at the first positional (the command), so the
 * command's own flags (sh -c ...) are never taken for tocker's, and at "--".
 */
export function parseFlags(
  args: readonly string[],
  specs: readonly FlagSpec[],
  command: string,
): ParsedFlags {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const byShort = new Map(
    specs.flatMap((spec) => (spec.short ? [[spec.short, spec] as const] : [])),
  );
  const values = new Map<string, string[]>();
  const unknown = (flag: string) =>
    new TockerError(`unknown flag: ${flag} (see 'tocker ${command} --help')`);
  const set = (spec: FlagSpec, value: string) => {
    values.set(
      spec.name,
      spec.value === 'list' ? [...(values.get(spec.name) ?? []), value] : [value],
    );
  };

  let index = 0;
  const takeValue = (inline: string | undefined, shown: string): string => {
    if (inline !== undefined) return inline;
    const next = args[index + 1];
    if (next === undefined) throw new TockerError(`flag needs an argument: ${shown}`);
    index++;
    return next;
  };
  const apply = (spec: FlagSpec, inline: string | undefined, shown: string) => {
    if (spec.value) {
      set(spec, takeValue(inline, shown));
    } else if (inline === undefined || inline === 'true' || inline === 'false') {
      set(spec, inline ?? 'true');
    } else {
      throw new TockerError(`flag ${shown} takes no value (got "${inline}")`);
    }
  };

  for (; index < args.length; index++) {
    const arg = args[index] ?? '';
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const equals = arg.indexOf('=');
    const head = equals >= 0 ? arg.slice(0, equals) : arg;
    const inline = equals >= 0 ? arg.slice(equals + 1) : undefined;
    if (arg.startsWith('--')) {
      const spec = byName.get(head.slice(2));
      if (!spec) throw unknown(head);
      apply(spec, inline, head);
      continue;
    }
    const body = head.slice(1);
    const long = body.length > 1 ? byName.get(body) : undefined;
    if (long) {
      apply(long, inline, head);
      continue;
    }
    const first = byShort.get(body[0] ?? '');
    if (first?.value) {
      // -m100, -m=100, -m 100
      const attached = arg.slice(2).replace(/^=/, '');
      apply(first, attached === '' ? (equals >= 0 ? '' : undefined) : attached, `-${body[0]}`);
      continue;
    }
    if (inline !== undefined && body.length > 1) throw unknown(head);
    for (const letter of body) {
      const spec = byShort.get(letter);
      if (!spec) throw unknown(body.length > 1 ? `-${letter} in ${head}` : head);
      if (spec.value)
        throw new TockerError(`flag -${letter} needs an argument and cannot be grouped in ${head}`);
      apply(spec, body.length === 1 ? inline : undefined, `-${letter}`);
    }
  }
  return { values, positionals: args.slice(index) };
}

export function flag(parsed: ParsedFlags, name: string): string | undefined {
  return parsed.values.get(name)?.at(-1);
}

export function booleanFlag(parsed: ParsedFlags, name: string): boolean {
  return flag(parsed, name) === 'true';
}

export function listFlag(parsed: ParsedFlags, name: string): string[] {
  return parsed.values.get(name) ?? [];
}

export function formatHelp(usage: string, description: string, specs: readonly FlagSpec[]): string {
  const rows = specs.map((spec) => {
    const names = `${spec.short ? `-${spec.short}, ` : '    '}--${spec.name}${spec.value ? ` ${spec.placeholder ?? 'VALUE'}` : ''}`;
    return `  ${names.padEnd(30)} ${spec.help}`;
  });
  return `Usage: ${usage}\n\n${description}\n\nOptions:\n${rows.join('\n')}\n`;
}
