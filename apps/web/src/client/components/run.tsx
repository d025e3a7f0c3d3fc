'use client';
import type { RunDetail } from '@tocker/protocol';
import { formatBytes } from '@tocker/protocol';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { request, usePush } from '../connection';
import { describeExit, formatCommand, formatCpuTime, formatDate } from '../format';

/** One run from the history: how it was configured, how it ended, and its output. */
export function RunView({ id }: { id: number }) {
  const [run, setRun] = useState<RunDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  usePush('history', () => setVersion((count) => count + 1));
  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` reloads on new history
  useEffect(() => {
    request('history:run', { run: id })
      .then((reply) => setRun(reply.run))
      .catch((failure: Error) => setError(failure.message));
  }, [id, version]);

  if (run === null)
    return error ? (
      <p role="alert" className="error-text">
        {error}
      </p>
    ) : (
      <p className="muted">Loading…</p>
    );
  return (
    <section aria-labelledby="run-title">
      <p>
        <Link prefetch={false} href="/history">
          ← History
        </Link>
      </p>
      <h1 id="run-title">{run.name ?? run.containerId.slice(0, 12)}</h1>
      <dl className="facts">
        <dt>Container</dt>
        <dd className="mono">
          {run.removedAt === null && run.status !== 'exited' ? (
            <Link prefetch={false} href={`/containers/${run.agent.id}/${run.containerId}`}>
              {run.containerId}
            </Link>
          ) : (
            run.containerId
          )}
        </dd>
        <dt>Agent</dt>
        <dd>{run.agent.name}</dd>
        <dt>Command</dt>
        <dd className="mono">{formatCommand(run.command)}</dd>
        <dt>Image</dt>
        <dd className="mono">{run.rootfs ?? '–'}</dd>
        <dt>Result</dt>
        <dd data-testid="run-result">{run.status === 'exited' ? describeExit(run) : run.status}</dd>
        <dt>Created</dt>
        <dd>{formatDate(run.createdAt)}</dd>
        <dt>Started / ended</dt>
        <dd>
          {run.startedAt === null ? '–' : formatDate(run.startedAt)} →{' '}
          {run.finishedAt === null ? '–' : formatDate(run.finishedAt)}
        </dd>
        <dt>Peak memory</dt>
        <dd>{run.memoryPeakBytes === null ? '–' : formatBytes(run.memoryPeakBytes)}</dd>
        <dt>CPU time</dt>
        <dd>{run.cpuTimeNs === null ? '–' : formatCpuTime(run.cpuTimeNs)}</dd>
        <dt>Removed</dt>
        <dd>{run.removedAt === null ? 'no' : formatDate(run.removedAt)}</dd>
      </dl>
      <h2>Configuration</h2>
      <pre className="logs small">{JSON.stringify(run.spec, null, 2)}</pre>
      <h2>Output</h2>
      {run.logs === null ? (
        <p className="muted">
          {run.status === 'exited'
            ? 'Being copied from the agent…'
            : 'Kept here once the run ends; see the container while it runs.'}
        </p>
      ) : (
        <pre className="logs" title="Run output">
          {run.logs === '' ? '(no output)' : run.logs}
        </pre>
      )}
    </section>
  );
}
