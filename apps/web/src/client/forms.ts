import { useState } from 'react';
import type { z } from 'zod';

/** Error messages by field, and 'form' for what belongs to no field. */
export type FieldErrors<Field extends string> = Partial<Record<Field | 'form', string>>;

/** A field of several names or values, as typed: separated by spaces or commas. */
export const words = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

const normalize = (name: string) => name.replace(/-/g, '').toLowerCase();

/**
 * The field a message is about: the protocol's messages name it first ("memory: ...",
 * "pids-limit: ..."), so a server's refusal lands next to the field, like the browser's.
 */
export function fieldOf<Field extends string>(
  message: string,
  fields: readonly Field[],
): Field | 'form' {
  const prefix = normalize(message.split(':')[0] ?? '');
  return fields.find((field) => normalize(field) === prefix) ?? 'form';
}

/** The first problem of each field of a failed parse (nested fields count as their last name). */
export function issuesByField<Field extends string>(
  issues: readonly z.ZodIssue[],
  fields: readonly Field[],
): FieldErrors<Field> {
  const errors: FieldErrors<Field> = {};
  for (const issue of issues) {
    const name = [...issue.path].reverse().find((part) => fields.includes(part as Field));
    const field = (name as Field | undefined) ?? fieldOf(issue.message, fields);
    const message =
      issue.message.includes(':') || field === 'form'
        ? issue.message
        : `${field}: ${issue.message}`;
    errors[field] ??= message;
  }
  return errors;
}

/** The field errors of checking `input` with a schema in the browser ({} when it passes). */
export function check<Field extends string>(
  schema: z.ZodTypeAny,
  input: unknown,
  fields: readonly Field[],
): FieldErrors<Field> {
  const parsed = schema.safeParse(input);
  return parsed.success ? {} : issuesByField(parsed.error.issues, fields);
}

/**
 * A form's submission: the browser's own findings are shown and stop it; otherwise
 * `send` runs (busy meanwhile), and a refusal from the server lands at its field: the one
 * its message names first, unless `locate` knows better. Resolves whether it went through.
 */
export function useSubmission<Field extends string>(
  fields: readonly Field[],
  locate: (message: string) => Field | 'form' = (message) => fieldOf(message, fields),
) {
  const [errors, setErrors] = useState<FieldErrors<Field>>({});
  const [busy, setBusy] = useState(false);
  const submit = async (found: FieldErrors<Field>, send: () => Promise<void>) => {
    setErrors(found);
    if (Object.keys(found).length > 0) return false;
    setBusy(true);
    try {
      await send();
      return true;
    } catch (error) {
      const message = (error as Error).message;
      setErrors({ [locate(message)]: message } as FieldErrors<Field>);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { errors, busy, submit };
}
