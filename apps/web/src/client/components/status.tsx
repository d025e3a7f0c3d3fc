'use client';
import type { ContainerView } from '@tocker/protocol';
import { useNow } from '../clock';
import { describeExit, type Ending, formatDuration } from '../format';

/**
 * A container's or a run's state: running, paused (running, every process frozen), or how
 * it ended (its detail on hover).
 * `prefix` ("exited · ") goes before an end nobody asked for; "stopped" says it all.
 */
export function StatusBadge({
  run,
  prefix = '',
}: {
  run: Ending & { status: ContainerView['status']; paused?: boolean };
  prefix?: string;
}) {
  if (run.status === 'running' && run.paused === true)
    return (
      <span className="badge warn" title="every process frozen until unpaused">
        paused
      </span>
    );
  if (run.status !== 'exited')
    return (
      <span className={`badge ${run.status === 'running' ? 'ok' : 'idle'}`}>{run.status}</span>
    );
  const { text, detail, bad } = describeExit(run);
  return (
    <span className={`badge ${bad ? 'bad' : 'idle'}`} title={detail}>
      {run.requestedEnd === null ? prefix : ''}
      {text}
    </span>
  );
}

/** A container that gave up isolation says so wherever it is shown. */
export function PrivilegedBadge({
  container,
}: {
  container: { readonly spec: Pick<ContainerView['spec'], 'privileged'> };
}) {
  if (!container.spec.privileged) return null;
  return (
    <span className="badge bad" title="every capability and device, no seccomp filter">
      privileged
    </span>
  );
}

export function Uptime({ since }: { since: string | null }) {
  const now = useNow();
  if (since === null || now === 0) return <span className="muted">–</span>;
  return <span>{formatDuration(now - Date.parse(since))}</span>;
}
