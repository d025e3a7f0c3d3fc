'use client';
import type { RunDetail } from '@tocker/protocol';
import { formatBytes } from '@tocker/protocol';
import Link from 'next/link';
import { useEffect, useMemo, useState } from 'react';
import { request, usePush } from '../connection';
import { describeExitFully, formatCpuTime, formatDate, formatLimits } from '../format';
import { CommandLine } from './command-line';
import { fixedOutput, OutputView } from './logs';
import { RootSource } from './root-source';

const isTty = (spec: unknown) =>
  typeof spec === 'object' && spec !== null && (spec as { tty?: unknown }).tty === true;

function RunOutput({ logs, tty }: { logs: string; tty: boolean }) {
  const source = useMemo(() => fixedOutput(logs), [logs]);
  return <OutputView source={source} tty={tty} label="Run output" />;
}

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
        <dd>
          <CommandLine command={run.command} />
        </dd>
        <dt>Image</dt>
        <dd>
          <RootSource image={run.image} rootfs={run.rootfs} />
        </dd>
        <dt>Limits</dt>
        <dd>
          <ol className="timeline" data-testid="run-limits">
            <li>
              {formatLimits(run.limits)} <span className="muted">at start</span>
            </li>
            {run.limitChanges.map((change) => (
              <li key={change.at}>
                {formatLimits(change.limits)}{' '}
                <span className="muted">from {formatDate(change.at)}</span>
              </li>
            ))}
          </ol>
        </dd>
        <dt>Result</dt>
        <dd data-testid="run-result">
          {run.status === 'exited' ? describeExitFully(run) : run.status}
        </dd>
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
        <RunOutput logs={run.logs} tty={isTty(run.spec)} />
      )}
    </section>
  );
}
