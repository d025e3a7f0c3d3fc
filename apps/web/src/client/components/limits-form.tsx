'use client';
import { type ContainerView, formatBytes, limitsSchema, parseMemorySize } from '@tocker/protocol';
import { type FormEvent, useState } from 'react';
import { relay } from '../connection';
import { type FieldErrors, fieldOf, issuesByField } from '../form-errors';
import { Field } from './field';

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
  const [errors, setErrors] = useState<FieldErrors<LimitField>>({});
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
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
    const parsed = limitsSchema.safeParse(input);
    if (!parsed.success) {
      setErrors(issuesByField(parsed.error, FIELDS));
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      await relay(agent, 'container:update', { container: container.id, limits: input });
      setSaved(true);
    } catch (error) {
      const message = (error as Error).message;
      setErrors({ [fieldOf(message, FIELDS)]: message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form-grid compact" onSubmit={submit} noValidate aria-label="Update limits">
      {errors.form && (
        <p role="alert" className="error-text wide">
          {errors.form}
        </p>
      )}
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
