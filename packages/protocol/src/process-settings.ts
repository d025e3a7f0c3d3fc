import { z } from 'zod';

/**
 * A container process's kernel settings beyond its limits, as docker takes them: resource
 * limits (`--ulimit`), kernel parameters of its own namespaces (`--sysctl`) and its OOM
 * score adjustment (`--oom-score-adj`). The runtime checks what only the host can know
 * (which parameters are the container's own).
 */

/** setrlimit's resources, by docker's names (RLIMIT_ + upper case is the kernel's). */
export const ULIMIT_NAMES = [
  'as',
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
] as const;

/** -1: unlimited. */
const limitValue = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);

export const ulimitSchema = z
  .object({
    name: z.enum(ULIMIT_NAMES, { message: `ulimit: one of ${ULIMIT_NAMES.join(', ')}` }),
    soft: limitValue,
    hard: limitValue,
  })
  .strict()
  .refine(
    ({ soft, hard }) => hard === -1 || (soft !== -1 && soft <= hard),
    ({ name }) => ({ message: `ulimit ${name}: the soft limit is above the hard one` }),
  );
export type Ulimit = z.output<typeof ulimitSchema>;

export type UlimitInput = z.input<typeof ulimitSchema>;

/**
 * docker's `--ulimit NAME=SOFT[:HARD]` (one value: both; -1 or "unlimited": none). A
 * malformed one is one line naming it.
 */
export function parseUlimit(text: string): Ulimit {
  const match = /^([a-z]+)=(-?\d+|unlimited)(?::(-?\d+|unlimited))?$/.exec(text.trim());
  if (match === null)
    throw new Error(
      `--ulimit ${text}: not NAME=SOFT[:HARD], e.g. nofile=1024:4096 (${ULIMIT_NAMES.join(', ')})`,
    );
  const value = (part: string) => (part === 'unlimited' ? -1 : Number(part));
  const soft = value(match[2] as string);
  const parsed = ulimitSchema.safeParse({
    name: match[1],
    soft,
    hard: match[3] === undefined ? soft : value(match[3]),
  });
  if (!parsed.success) throw new Error(`--ulimit ${text}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** A kernel parameter's name as /proc/sys has it, dotted: never a path of its own. */
export const SYSCTL_KEY = /^[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+$/;

export const sysctlsSchema = z
  .record(
    z.string().regex(SYSCTL_KEY, 'sysctl: a dotted name like net.ipv4.ip_forward'),
    z
      .string()
      .max(256)
      .regex(/^[^\n\0]*$/, 'sysctl: one line of value'),
  )
  .refine((sysctls) => Object.keys(sysctls).length <= 32, 'sysctl: at most 32');

/** docker's `--sysctl NAME=VALUE`; the name is checked by the schema. */
export function parseSysctl(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at < 1) throw new Error(`--sysctl ${text}: not NAME=VALUE, e.g. net.ipv4.ip_forward=1`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** The kernel's range; a lower score protects the process from the OOM killer. */
export const oomScoreAdjSchema = z
  .number()
  .int()
  .min(-1000, 'oom-score-adj: from -1000 to 1000')
  .max(1000, 'oom-score-adj: from -1000 to 1000');
