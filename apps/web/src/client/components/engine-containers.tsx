import type { AgentSummary, EngineContainer } from '@tocker/protocol';
import { useEngineContainers } from '../engines';
import { formatDate, shortId } from '../format';
import { Cell, ListTable } from './list-table';

const STATUS_CLASS: Record<EngineContainer['status'], string> = {
  running: 'ok',
  paused: 'warn',
  created: 'idle',
  stopped: 'idle',
};

/** Engines' ids are 64 hex digits as tocker's are, but ctr takes any name: those stay whole. */
const shownId = (id: string) => (/^[0-9a-f]{64}$/.test(id) ? shortId(id) : id);

/**
 * The containers other engines (podman, containerd) run through tocker-runtime on the
 * online agents: shown for the whole picture, without actions, as their engines manage
 * them. Nothing at all when there are none.
 */
export function EngineContainers({ agents }: { agents: readonly AgentSummary[] }) {
  const rows = useEngineContainers(agents);
  if (rows.length === 0) return null;
  return (
    <section aria-labelledby="engine-containers-title">
      <div className="page-head section-head">
        <h2 id="engine-containers-title">Other engines</h2>
      </div>
      <p className="muted">
        Containers podman and containerd run through tocker-runtime: read-only.
      </p>
      <ListTable label="Other engines' containers" columns={['ID', 'Engine', 'Status', 'Created']}>
        {rows.map(({ agent, container }) => (
          <tr key={`${agent.id}/${container.id}`} data-testid={`engine-container-${container.id}`}>
            <td>
              <span className="mono" title={container.id}>
                {shownId(container.id)}
              </span>
              <div className="muted">{agent.name}</div>
            </td>
            <Cell label="Engine">
              <span className="badge">{container.engine}</span>
            </Cell>
            <Cell label="Status">
              <span className={`badge ${STATUS_CLASS[container.status]}`}>{container.status}</span>
            </Cell>
            <Cell label="Created">{formatDate(container.created)}</Cell>
          </tr>
        ))}
      </ListTable>
    </section>
  );
}
