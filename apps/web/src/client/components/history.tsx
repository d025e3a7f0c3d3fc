'use client';
import type { DashboardRequestInput, RunSummary } from '@tocker/protocol';
import { formatBytes } from '@tocker/protocol';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, useEffect, useState } from 'react';
import { useAgents } from '../agents';
import { request, usePush } from '../connection';
import { formatCpuTime, formatDate, formatDuration, formatLimits, shortId } from '../format';
import { CommandLine } from './command-line';
import { Cell, ListTable } from './list-table';
import { RootSource } from './root-source';
import { StatusBadge } from './status';

const PAGE_SIZE = 25;
type Query = DashboardRequestInput<'history:list'>;

/** The filters live in the URL, so a filtered page can be reloaded and shared. */
function queryFrom(params: URLSearchParams): Query {
  const text = (name: string) => params.get(name) || undefined;
  const day = (name: string, end: boolean) => {
    const value = text(name);
    if (value === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
    const date = new Date(`${value}T00:00:00`);
    if (end) date.setDate(date.getDate() + 1);
    return date.toISOString();
  };
  const status = text('status');
  return {
    agent: text('agent') === undefined ? undefined : Number(params.get('agent')),
    status:
      status === 'running' || status === 'exited' || status === 'created' ? status : undefined,
    oomKilled: params.get('oom') === '1' ? true : undefined,
    search: text('q'),
    from: day('from', false),
    to: day('to', true),
    page: Math.max(1, Number(params.get('page') ?? 1) || 1),
    pageSize: PAGE_SIZE,
  };
}

/** The limits a run started with and, when they changed, the last change (all on hover). */
function LimitsOverTime({ run }: { run: RunSummary }) {
  const last = run.limitChanges.at(-1);
  const timeline = [
    `at start: ${formatLimits(run.limits)}`,
    ...run.limitChanges.map((change) => `${formatDate(change.at)}: ${formatLimits(change.limits)}`),
  ].join('\n');
  return (
    <span title={timeline}>
      {formatLimits(run.limits)}
      {last !== undefined && (
        <span className="muted" data-testid="limits-changed">
          {' '}
          → {formatLimits(last.limits)} (
          {run.limitChanges.length === 1 ? 'changed' : `${run.limitChanges.length} changes`})
        </span>
      )}
    </span>
  );
}

function duration(run: RunSummary): string {
  if (run.startedAt === null) return '–';
  const end = run.finishedAt === null ? Date.now() : Date.parse(run.finishedAt);
  return formatDuration(end - Date.parse(run.startedAt));
}

export function HistoryView() {
  const router = useRouter();
  const path = usePathname();
  const params = useSearchParams();
  const { agents } = useAgents();
  const [result, setResult] = useState<{ runs: RunSummary[]; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const query = queryFrom(params);
  const key = JSON.stringify(query);

  usePush('history', () => setVersion((count) => count + 1));
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the query
  useEffect(() => {
    let live = true;
    request('history:list', query)
      .then((reply) => {
        if (!live) return;
        setResult(reply);
        setError(null);
      })
      .catch((failure: Error) => live && setError(failure.message));
    return () => {
      live = false;
    };
  }, [key, version]);

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const name of ['q', 'agent', 'status', 'from', 'to']) {
      const value = String(form.get(name) ?? '').trim();
      if (value !== '') next.set(name, value);
    }
    if (form.get('oom') === 'on') next.set('oom', '1');
    router.push(`${path}?${next.toString()}`);
  };
  const goTo = (page: number) => {
    const next = new URLSearchParams(params.toString());
    next.set('page', String(page));
    router.push(`${path}?${next.toString()}`);
  };
  const pages = result === null ? 1 : Math.max(1, Math.ceil(result.total / PAGE_SIZE));

  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">History</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter runs" key={params.toString()}>
        <label>
          Search
          <input
            name="q"
            type="search"
            defaultValue={params.get('q') ?? ''}
            placeholder="name, id, hostname, command"
          />
        </label>
        <label>
          Agent
          <select name="agent" defaultValue={params.get('agent') ?? ''}>
            <option value="">all</option>
            {(agents ?? []).map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select name="status" defaultValue={params.get('status') ?? ''}>
            <option value="">any</option>
            <option value="running">running</option>
            <option value="exited">exited</option>
            <option value="created">created</option>
          </select>
        </label>
        <label>
          From
          <input name="from" type="date" defaultValue={params.get('from') ?? ''} />
        </label>
        <label>
          To
          <input name="to" type="date" defaultValue={params.get('to') ?? ''} />
        </label>
        <label className="inline">
          <input name="oom" type="checkbox" defaultChecked={params.get('oom') === '1'} /> OOMKilled
          only
        </label>
        <button type="submit">Apply</button>
      </form>
      {error && (
        <p role="alert" className="error-text">
          Could not load the history: {error}
        </p>
      )}
      {result === null && !error && <p className="muted">Loading history…</p>}
      {result !== null && result.runs.length === 0 && <div className="empty">No runs match.</div>}
      {result !== null && result.runs.length > 0 && (
        <>
          <ListTable
            label="Runs"
            columns={[
              'Run',
              'Command',
              'Limits',
              'Started',
              'Duration',
              'Result',
              'Peak memory',
              'CPU time',
            ]}
          >
            {result.runs.map((run) => (
              <tr key={run.id} data-testid={`run-${run.name ?? shortId(run.containerId)}`}>
                <td>
                  <Link prefetch={false} href={`/history/${run.id}`}>
                    {run.name ?? shortId(run.containerId)}
                  </Link>
                  <div className="muted mono">
                    {shortId(run.containerId)} · {run.agent.name}
                    {run.removedAt !== null && ' · removed'}
                  </div>
                </td>
                <Cell label="Command" className="ellipsis">
                  <div className="ellipsis">
                    <CommandLine command={run.command} />
                  </div>
                  <div className="muted ellipsis">
                    <RootSource image={run.image} rootfs={run.rootfs} />
                  </div>
                </Cell>
                <Cell label="Limits">
                  <LimitsOverTime run={run} />
                </Cell>
                <Cell label="Started">
                  {run.startedAt === null ? '–' : formatDate(run.startedAt)}
                </Cell>
                <Cell label="Duration">{duration(run)}</Cell>
                <Cell label="Result">
                  <StatusBadge run={run} />
                </Cell>
                <Cell label="Peak memory">
                  {run.memoryPeakBytes === null ? '–' : formatBytes(run.memoryPeakBytes)}
                </Cell>
                <Cell label="CPU time">
                  {run.cpuTimeNs === null ? '–' : formatCpuTime(run.cpuTimeNs)}
                </Cell>
              </tr>
            ))}
          </ListTable>
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              disabled={query.page === 1}
              onClick={() => goTo((query.page ?? 1) - 1)}
            >
              Previous
            </button>
            <span>
              Page {query.page} of {pages} · {result.total} runs
            </span>
            <button
              type="button"
              disabled={(query.page ?? 1) >= pages}
              onClick={() => goTo((query.page ?? 1) + 1)}
            >
              Next
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
