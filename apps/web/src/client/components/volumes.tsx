'use client';
import { requests, type VolumeSummary } from '@tocker/protocol';
import type { FormEvent } from 'react';
import { relay } from '../connection';
import { formatDate } from '../format';
import { check, useSubmission } from '../forms';
import { useVolumes } from '../images';
import { Field } from './field';
import { Cell, ListTable } from './list-table';
import { PruneButton } from './prune-button';
import { RemoveButton } from './remove-button';
import { UsedBy } from './used-by';

const FIELDS = ['name'] as const;

/** One volume; removing it is asked first, and refused by the agent while it is mounted. */
function VolumeRow({
  agent,
  volume,
  onRemoved,
}: {
  agent: number;
  volume: VolumeSummary;
  onRemoved: () => void;
}) {
  return (
    <tr data-testid={`volume-${volume.name}`}>
      <td>
        <strong className="mono">{volume.name}</strong>
        <div className="muted mono">{volume.path}</div>
      </td>
      <Cell label="Created">{formatDate(volume.createdAt)}</Cell>
      <Cell label="Used by">
        <UsedBy agent={agent} containers={volume.usedBy} />
      </Cell>
      <td>
        <RemoveButton
          label={`Remove volume ${volume.name}`}
          question={`Remove the volume ${volume.name} and everything in it?`}
          remove={() => relay(agent, 'volume:remove', { name: volume.name })}
          onRemoved={onRemoved}
        />
      </td>
    </tr>
  );
}

function CreateVolumeForm({ agent, onCreated }: { agent: number; onCreated: () => void }) {
  const { errors, busy, submit } = useSubmission(FIELDS, () => 'name');
  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const input = { name: String(new FormData(form).get('name') ?? '').trim() };
    await submit(check(requests['volume:create'], input, FIELDS), async () => {
      await relay(agent, 'volume:create', input);
      form.reset();
      onCreated();
    });
  };
  return (
    <form
      className="card inline-form spaced"
      onSubmit={create}
      noValidate
      aria-label="Create a volume"
    >
      <Field label="Volume name" hint="Letters, digits, _ . -" error={errors.name}>
        {(props) => <input {...props} name="name" className="mono" autoComplete="off" />}
      </Field>
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create volume'}
      </button>
    </form>
  );
}

/** An agent's named volumes: create, remove, and prune the ones no container mounts. */
export function Volumes({ agent }: { agent: number }) {
  const { data: volumes, error, reload } = useVolumes(agent);
  const prune = async () => {
    const { removed } = await relay(agent, 'volume:prune', {});
    reload();
    return removed.length === 0 ? 'No unused volume.' : `Removed ${removed.join(', ')}.`;
  };

  return (
    <section aria-labelledby="volumes-title">
      <div className="page-head section-head">
        <h2 id="volumes-title">Volumes</h2>
        <PruneButton
          label="Prune volumes"
          question="Remove every volume that no container mounts, with its data?"
          prune={prune}
        />
      </div>
      <CreateVolumeForm agent={agent} onCreated={reload} />
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {volumes === null && !error && <p className="muted">Loading volumes…</p>}
      {volumes?.length === 0 && <div className="empty">No volumes.</div>}
      {volumes !== null && volumes.length > 0 && (
        <ListTable label="Volumes" columns={['Volume', 'Created', 'Used by', '']}>
          {volumes.map((volume) => (
            <VolumeRow key={volume.name} agent={agent} volume={volume} onRemoved={reload} />
          ))}
        </ListTable>
      )}
    </section>
  );
}
