'use client';
import Link from 'next/link';
import { memo, useMemo, useState } from 'react';
import type { ContainerRowView } from '../container-row';
import { type RenderedContainers, useContainers } from '../containers';
import { shortId } from '../format';
import { StatsSubscriptions } from '../usage';
import { ContainerActions } from './actions';
import { CommandLine } from './command-line';
import { EngineContainers } from './engine-containers';
import { Cell, ListTable } from './list-table';
import { RootSource } from './root-source';
import { PrivilegedBadge, StatusBadge, Uptime } from './status';
import { CpuCell, MemoryCell, PidsCell } from './usage';

/** One row; it re-renders when its container changes, its usage cells on every stats tick. */
const ContainerRow = memo(function ContainerRow({
  agent,
  agentName,
  container,
}: {
  agent: number;
  agentName: string;
  container: ContainerRowView;
}) {
  const running = container.status === 'running';
  const label = container.name ?? shortId(container.id);
  return (
    <tr data-testid={`container-${label}`}>
      <td>
        <Link prefetch={false} href={`/containers/${agent}/${container.id}`}>
          {label}
        </Link>
        <div className="muted mono">{`${shortId(container.id)} · ${agentName}`}</div>
      </td>
      <Cell label="Command" className="ellipsis">
        <div className="ellipsis">
          <CommandLine command={container.spec.command} entrypoint={container.spec.entrypoint} />
        </div>
        <div className="muted ellipsis">
          <RootSource image={container.image} rootfs={container.spec.rootfs} />
        </div>
      </Cell>
      <Cell label="Status">
        <StatusBadge run={container} prefix="exited · " /> <PrivilegedBadge container={container} />
        {running && (
          <div className="muted">
            up <Uptime since={container.startedAt} />
          </div>
        )}
      </Cell>
      <Cell label="CPU">
        {running ? <CpuCell agent={agent} id={container.id} /> : <span className="muted">–</span>}
      </Cell>
      <Cell label="Memory" className="wide">
        {running ? (
          <MemoryCell agent={agent} id={container.id} />
        ) : (
          <span className="muted">–</span>
        )}
      </Cell>
      <Cell label="PIDs">
        {running ? <PidsCell agent={agent} id={container.id} /> : <span className="muted">–</span>}
      </Cell>
      <td>
        <ContainerActions agent={agent} container={container} />
      </td>
    </tr>
  );
});

/**
 * Every container of every online agent. `rendered` is what the server knew when it
 * rendered the page (null: nothing), so the rows are in its HTML; the live list replaces
 * it once the socket is up.
 */
export function ContainersList({ rendered }: { rendered: RenderedContainers | null }) {
  const { agents, byAgent, agentsError } = useContainers(rendered);
  const [showAll, setShowAll] = useState(true);
  const online = useMemo(() => (agents ?? []).filter((agent) => agent.online), [agents]);
  const onlineIds = useMemo(() => online.map((agent) => agent.id), [online]);

  const rows = online.flatMap((agent) =>
    (byAgent.get(agent.id)?.containers ?? [])
      .filter((container) => showAll || container.status === 'running')
      .map((container) => ({ agent, container })),
  );
  const loading = agents === null || online.some((agent) => !byAgent.has(agent.id));
  const errors = online.flatMap((agent) => {
    const error = byAgent.get(agent.id)?.error;
    return error ? [`${agent.name}: ${error}`] : [];
  });

  return (
    <section aria-labelledby="containers-title">
      <div className="page-head">
        <h1 id="containers-title">Containers</h1>
        <label className="inline">
          <input
            type="checkbox"
            checked={showAll}
            onChange={(event) => setShowAll(event.target.checked)}
          />
          Show stopped
        </label>
        <Link prefetch={false} className="button" href="/launch">
          Launch a container
        </Link>
      </div>
      <StatsSubscriptions agents={onlineIds} />
      {agentsError && (
        <p role="alert" className="error-text">
          Could not list the agents: {agentsError}
        </p>
      )}
      {errors.map((error) => (
        <p key={error} role="alert" className="error-text">
          {error}
        </p>
      ))}
      {agents !== null && agents.length === 0 && (
        <div className="empty">
          No agent yet.{' '}
          <Link prefetch={false} href="/agents">
            Add an agent
          </Link>{' '}
          to run containers.
        </div>
      )}
      {loading && agents?.length !== 0 && (
        <p className="muted" aria-live="polite">
          Loading containers…
        </p>
      )}
      {!loading && rows.length === 0 && online.length > 0 && (
        <div className="empty">
          No containers{showAll ? '' : ' running'}.{' '}
          <Link prefetch={false} href="/launch">
            Launch one
          </Link>
          .
        </div>
      )}
      {rows.length > 0 && (
        <ListTable
          label="Containers"
          className="container-rows"
          columns={['Name', 'Command', 'Status', 'CPU', 'Memory', 'PIDs', '']}
        >
          {rows.map(({ agent, container }) => (
            <ContainerRow
              key={`${agent.id}/${container.id}`}
              agent={agent.id}
              agentName={agent.name}
              container={container}
            />
          ))}
        </ListTable>
      )}
      <EngineContainers agents={online} />
    </section>
  );
}
