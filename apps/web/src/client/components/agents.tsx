'use client';
import { type AgentSummary, dashboardRequests, formatBytes } from '@tocker/protocol';
import { type FormEvent, useState } from 'react';
import { useAgents } from '../agents';
import { request } from '../connection';
import { formatDuration } from '../format';
import { check, useSubmission } from '../forms';
import { Field, FormError } from './field';
import { Cell, ListTable } from './list-table';

const FIELDS = ['name', 'url', 'token'] as const;

function AgentRow({ agent }: { agent: AgentSummary }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const info = agent.info;
  const remove = async () => {
    if (
      !window.confirm(
        `Remove the agent ${agent.name} and its run history from the dashboard? Its containers keep running.`,
      )
    )
      return;
    setBusy(true);
    try {
      await request('agents:remove', { agent: agent.id });
    } catch (failure) {
      setError((failure as Error).message);
      setBusy(false);
    }
  };
  return (
    <tr data-testid={`agent-${agent.name}`}>
      <td>
        <strong>{agent.name}</strong>
        <div className="muted mono">{agent.url}</div>
      </td>
      <Cell label="State">
        {agent.online ? (
          <span className="badge ok">online</span>
        ) : (
          <span className="badge bad" title={agent.problem ?? undefined}>
            offline{agent.problem ? ` · ${agent.problem}` : ''}
          </span>
        )}
      </Cell>
      <Cell label="Version">{info?.version ?? '–'}</Cell>
      <Cell label="Host">
        {info === null ? (
          '–'
        ) : (
          <>
            {info.hostname} · {info.kernel} · cgroup v{info.cgroupVersion}
            <div className="muted">agent up {formatDuration(info.uptimeSeconds * 1000)}</div>
          </>
        )}
      </Cell>
      <Cell label="CPUs">
        {info === null ? '–' : `${info.cpus} · load ${info.loadAverage[0].toFixed(2)}`}
      </Cell>
      <Cell label="Memory">
        {info === null
          ? '–'
          : `${formatBytes(info.memoryTotalBytes - info.memoryAvailableBytes)} used of ${formatBytes(info.memoryTotalBytes)}`}
      </Cell>
      <Cell label="Containers">
        {info === null ? '–' : `${info.containersRunning} running / ${info.containersTotal}`}
      </Cell>
      <td>
        <button
          type="button"
          className="small danger"
          disabled={busy}
          aria-label={`Remove agent ${agent.name}`}
          onClick={() => void remove()}
        >
          Remove
        </button>
        {error && (
          <div role="alert" className="error-text">
            {error}
          </div>
        )}
      </td>
    </tr>
  );
}

export function AgentsView() {
  const { agents, error } = useAgents();
  const { errors, busy, submit } = useSubmission(FIELDS);

  const add = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const input = {
      name: String(form.get('name') ?? ''),
      url: String(form.get('url') ?? ''),
      token: String(form.get('token') ?? ''),
    };
    await submit(check(dashboardRequests['agents:add'], input, FIELDS), async () => {
      await request('agents:add', input);
      formElement.reset();
    });
  };

  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {agents === null && !error && <p className="muted">Loading agents…</p>}
      {agents !== null && agents.length === 0 && (
        <div className="empty">No agents yet: add one below.</div>
      )}
      {agents !== null && agents.length > 0 && (
        <ListTable
          label="Agents"
          columns={['Agent', 'State', 'Version', 'Host', 'CPUs', 'Memory', 'Containers', '']}
        >
          {agents.map((agent) => (
            <AgentRow key={agent.id} agent={agent} />
          ))}
        </ListTable>
      )}
      <h2>Add an agent</h2>
      <form className="card form-grid" onSubmit={add} noValidate aria-label="Add an agent">
        <FormError message={errors.form} />
        <Field label="Name" error={errors.name}>
          {(props) => <input {...props} name="name" autoComplete="off" placeholder="lab-2" />}
        </Field>
        <Field
          label="URL"
          hint="Where the agent listens, e.g. http://10.0.0.5:7070"
          error={errors.url}
        >
          {(props) => <input {...props} name="url" autoComplete="off" className="mono" />}
        </Field>
        <Field
          label="Token"
          hint="Kept by the dashboard server; never sent to browsers."
          error={errors.token}
        >
          {(props) => <input {...props} name="token" type="password" autoComplete="off" />}
        </Field>
        <div className="wide">
          <button type="submit" disabled={busy}>
            {busy ? 'Checking the agent…' : 'Add agent'}
          </button>
        </div>
      </form>
    </section>
  );
}
