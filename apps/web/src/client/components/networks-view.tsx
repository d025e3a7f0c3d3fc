'use client';
import { type NetworkSummary, requests } from '@tocker/protocol';
import type { FormEvent } from 'react';
import { relay } from '../connection';
import { formatDate, shortId } from '../format';
import { check, fieldOf, useSubmission } from '../forms';
import { useNetworks } from '../networks';
import { AgentPage } from './agent-page';
import { Field, FormError } from './field';
import { Cell, ListTable } from './list-table';
import { PruneButton } from './prune-button';
import { RemoveButton } from './remove-button';
import { UsedBy } from './used-by';

const FIELDS = ['name', 'subnet'] as const;

/**
 * Where the agent's refusal of a new network goes: it names what it is about first,
 * "subnet 10.88.0.0/16 overlaps ..." or "network web already exists".
 */
function locate(message: string): (typeof FIELDS)[number] | 'form' {
  const subject = message.split(/[\s:]/, 1)[0] ?? '';
  return subject === 'network' ? 'name' : fieldOf(subject, FIELDS);
}

function CreateNetworkForm({ agent, onCreated }: { agent: number; onCreated: () => void }) {
  const { errors, busy, submit } = useSubmission(FIELDS, locate);
  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const subnet = String(data.get('subnet') ?? '').trim();
    const input = {
      name: String(data.get('name') ?? '').trim(),
      ...(subnet === '' ? {} : { subnet }),
    };
    await submit(check(requests['network:create'], input, FIELDS), async () => {
      await relay(agent, 'network:create', input);
      form.reset();
      onCreated();
    });
  };
  return (
    <form
      className="card inline-form spaced"
      onSubmit={create}
      noValidate
      aria-label="Create a network"
    >
      <Field label="Network name" hint="Letters, digits, _ . -" error={errors.name}>
        {(props) => (
          <input {...props} name="name" className="mono" autoComplete="off" spellCheck={false} />
        )}
      </Field>
      <Field
        label="Subnet"
        hint="Optional, e.g. 10.90.0.0/24: a free one otherwise."
        error={errors.subnet}
      >
        {(props) => (
          <input {...props} name="subnet" className="mono" autoComplete="off" spellCheck={false} />
        )}
      </Field>
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create network'}
      </button>
      <FormError message={errors.form} />
    </form>
  );
}

/** One network; removing it is asked first, and refused by the agent while a container is on it. */
function NetworkRow({
  agent,
  network,
  onRemoved,
}: {
  agent: number;
  network: NetworkSummary;
  onRemoved: () => void;
}) {
  return (
    <tr data-testid={`network-${network.name}`}>
      <td>
        <strong className="mono">{network.name}</strong>
        <div className="muted mono" title={network.id}>
          {shortId(network.id)}
        </div>
      </td>
      <Cell label="Subnet">
        <span className="mono">{network.subnet}</span>
      </Cell>
      <Cell label="Gateway">
        <span className="mono">{network.gateway}</span>
      </Cell>
      <Cell label="Bridge">
        <span className="mono">{network.bridge}</span>
      </Cell>
      <Cell label="Created">{formatDate(network.createdAt)}</Cell>
      <Cell label="Containers">
        <UsedBy agent={agent} containers={network.containers} />
      </Cell>
      <td>
        <RemoveButton
          label={`Remove network ${network.name}`}
          question={`Remove the network ${network.name} and its bridge ${network.bridge}?`}
          remove={() => relay(agent, 'network:remove', { name: network.name })}
          onRemoved={onRemoved}
        />
      </td>
    </tr>
  );
}

/** One agent's networks: create, remove, and prune the ones no container is on. */
function AgentNetworks({ agent }: { agent: number }) {
  const { data: networks, error, reload } = useNetworks(agent);
  const prune = async () => {
    const { removed } = await relay(agent, 'network:prune', {});
    reload();
    return removed.length === 0 ? 'No unused network.' : `Removed ${removed.join(', ')}.`;
  };
  return (
    <>
      <CreateNetworkForm agent={agent} onCreated={reload} />
      <section aria-labelledby="agent-networks-title">
        <div className="page-head section-head">
          <h2 id="agent-networks-title">On the agent</h2>
          <PruneButton
            label="Prune"
            question="Remove every network that no container is on, with its bridge?"
            prune={prune}
          />
        </div>
        {error && (
          <p role="alert" className="error-text">
            {error}
          </p>
        )}
        {networks === null && !error && <p className="muted">Loading networks…</p>}
        {networks?.length === 0 && (
          <div className="empty">
            No networks yet: the default one, bridge, comes with the first container on it.
          </div>
        )}
        {networks !== null && networks.length > 0 && (
          <ListTable
            label="Networks"
            columns={['Network', 'Subnet', 'Gateway', 'Bridge', 'Created', 'Containers', '']}
          >
            {networks.map((network) => (
              <NetworkRow key={network.id} agent={agent} network={network} onRemoved={reload} />
            ))}
          </ListTable>
        )}
      </section>
    </>
  );
}

/** The Networks page: an agent's networks and the containers on them (the agent chosen in the URL). */
export function NetworksView() {
  return (
    <AgentPage title="Networks">{(agent) => <AgentNetworks key={agent} agent={agent} />}</AgentPage>
  );
}
