import type { z } from 'zod';
import type { Reply } from './agent.js';
import { validate } from './spec.js';

/**
 * How a request is answered, on the agent and on the dashboard alike: validated by its
 * schema first, then handled; a refusal or a failure becomes `{ ok: false, error }`, never
 * an exception or a missing reply.
 */
export async function answer<Schema extends z.ZodTypeAny>(
  schema: Schema,
  payload: unknown,
  handle: (request: z.output<Schema>) => unknown,
): Promise<Reply<object>> {
  const parsed = validate(schema, payload);
  if (!parsed.ok) return { ok: false, error: parsed.message };
  try {
    return { ok: true, ...((await handle(parsed.value)) as object) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
