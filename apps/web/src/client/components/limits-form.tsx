'use client';
import { type ContainerView, formatBytes, limitsSchema, parseMemorySize } from '@tocker/protocol';
import { type FormEvent, useState } from 'react';
import { relay } from '../connection';
import { check, useSubmission } from '../forms';
import { Field, FormError } from './field';

const FIELDS = ['cpus', 'memory', 'pidsLimit'] as const;
type LimitField = (typeof FIELDS)[number];

/** "64 MiB" when that is exact, the bytes otherwise. */
function editableSize(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  const shown = formatBytes(bytes);
  return parseMemorySize(shown) === bytes ? shown : `${bytes}b`;
}

/** Changes a running container's limits in place (cgroup writes, no restart). */
export function LimitsForm({ agent, container }: { agent: number; container: ContainerView }) {
  const { errors, busy, submit: send } = useSubmission(FIELDS);
  const [saved, setSaved] = useState(false);
  const limits = container.spec.limits;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: LimitField) => {
      const text = String(form.get(name) ?? '').trim();
      return text === '' ? undefined : text;
    };
    const input = { cpus: value('cpus'), memory: value('memory'), pidsLimit: value('pidsLimit') };
    setSaved(false);
    const done = await send(check(limitsSchema, input, FIELDS), async () => {
      await relay(agent, 'container:update', { container: container.id, limits: input });
    });
    setSaved(done);
  };

  return (
    <form className="form-grid compact" onSubmit={submit} noValidate aria-label="Update limits">
      <FormError message={errors.form} />
      <Field label="CPUs" hint="e.g. 0.5" error={errors.cpus}>
        {(props) => (
          <input {...props} name="cpus" defaultValue={limits.cpus ?? ''} inputMode="decimal" />
        )}
      </Field>
      <Field label="Memory" hint="e.g. 64m, 1g" error={errors.memory}>
        {(props) => <input {...props} name="memory" defaultValue={editableSize(limits.memory)} />}
      </Field>
      <Field label="PIDs limit" error={errors.pidsLimit}>
        {(props) => (
          <input
            {...props}
            name="pidsLimit"
            defaultValue={limits.pidsLimit ?? ''}
            inputMode="numeric"
          />
        )}
      </Field>
      <div className="wide">
        <button type="submit" disabled={busy || container.status !== 'running'}>
          {busy ? 'Updating…' : 'Update limits'}
        </button>{' '}
        {saved && (
          <span role="status" className="badge ok">
            limits updated
          </span>
        )}
        {container.status !== 'running' && (
          <span className="muted">Limits change while it runs.</span>
        )}
      </div>
    </form>
  );
}
