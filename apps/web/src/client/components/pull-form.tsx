'use client';
import { type PullState, requests, shortDigest } from '@tocker/protocol';
import { type FormEvent, useState } from 'react';
import { check, useSubmission } from '../forms';
import { pullToEnd } from '../images';
import { Field } from './field';

const FIELDS = ['reference'] as const;

/**
 * Pulls an image by reference. Its progress shows with the agent's other pulls; its end
 * shows here: the image pulled, or why not, at the reference the user typed (whatever
 * went wrong, malformed or unreachable, is about that reference).
 */
export function PullForm({ agent }: { agent: number }) {
  const { errors, busy, submit } = useSubmission(FIELDS, () => 'reference');
  const [pulled, setPulled] = useState<PullState | null>(null);

  const pull = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const reference = String(new FormData(form).get('reference') ?? '').trim();
    setPulled(null);
    await submit(check(requests['image:pull'], { reference }, FIELDS), async () => {
      const end = await pullToEnd(agent, reference);
      if (end.status === 'failed') throw new Error(end.error ?? 'the pull failed');
      setPulled(end);
      form.reset();
    });
  };

  return (
    <form className="card inline-form spaced" onSubmit={pull} noValidate aria-label="Pull an image">
      <Field
        label="Image reference"
        hint="e.g. alpine:3.20, registry.example:5000/team/app:1.0"
        error={errors.reference}
      >
        {(props) => (
          <input
            {...props}
            name="reference"
            className="mono"
            autoComplete="off"
            spellCheck={false}
          />
        )}
      </Field>
      <button type="submit" disabled={busy}>
        {busy ? 'Pulling…' : 'Pull'}
      </button>
      {pulled?.image && (
        <p role="status" className="muted wide">
          Pulled {pulled.reference}{' '}
          <span className="mono" title={pulled.image.digest}>
            @{shortDigest(pulled.image.digest)}
          </span>
        </p>
      )}
    </form>
  );
}
