import type { z } from 'zod';

/**
 * Lines of JSON (one document each) as appended by several writers that may crash or run
 * out of space mid-line. A line that does not parse, or does not match the schema, is
 * skipped and counted, never fatal. A torn line followed by a good one without the
 * newline in between (the next writer did not know) is salvaged: every good line starts
 * with `lineStart`, so the last document in it is tried alone.
 */
export function parseJsonLines<T extends z.ZodTypeAny>(
  text: string,
  schema: T,
  lineStart: string,
): { values: z.output<T>[]; skipped: number } {
  const values: z.output<T>[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    const read = readJsonLine(line, schema, lineStart);
    if (read.value !== undefined) values.push(read.value);
    skipped += read.skipped;
  }
  return { values, skipped };
}

/** One line: its document (if any can be read from it) and how many damaged ones it held. */
export function readJsonLine<T extends z.ZodTypeAny>(
  line: string,
  schema: T,
  lineStart: string,
): { value: z.output<T> | undefined; skipped: number } {
  if (line.trim() === '') return { value: undefined, skipped: 0 };
  const whole = parse(line, schema);
  if (whole !== undefined) return { value: whole, skipped: 0 };
  const start = line.lastIndexOf(lineStart);
  const salvaged = start > 0 ? parse(line.slice(start), schema) : undefined;
  return salvaged === undefined
    ? { value: undefined, skipped: 1 }
    : { value: salvaged, skipped: 1 };
}

function parse<T extends z.ZodTypeAny>(text: string, schema: T): z.output<T> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(json);
  return result.success ? result.data : undefined;
}
