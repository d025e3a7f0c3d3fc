'use client';
import type { ContainerView } from '@tocker/protocol';
import { useNow } from '../clock';
import { describeExit, formatDuration } from '../format';

export function StatusBadge({ container }: { container: ContainerView }) {
  const text =
    container.status === 'exited' ? `exited · ${describeExit(container)}` : container.status;
  const tone =
    container.status === 'running'
      ? 'ok'
      : container.oomKilled || (container.exitCode ?? 0) !== 0 || container.signal !== null
        ? 'bad'
        : 'idle';
  return <span className={`badge ${tone}`}>{text}</span>;
}

/** A container that gave up isolation says so wherever it is shown. */
export function PrivilegedBadge({ container }: { container: ContainerView }) {
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
