'use client';
import { formatBytes } from '@tocker/protocol';
import { memo } from 'react';

import { useUsage } from '../usage';

/** CPU use against the container's limit: 100 % = the whole limit (or the host without one). */
export const CpuCell = memo(function CpuCell({ agent, id }: { agent: number; id: string }) {
  const usage = useUsage(agent, id);
  if (usage === undefined) return <span className="muted">–</span>;
  const limit = usage.cpuLimit === null ? 'host' : `${usage.cpuLimit} CPU`;
  return (
    <span title={`of ${limit}`}>
      {usage.cpuPercent.toFixed(1)} % <span className="muted">of {limit}</span>
    </span>
  );
});

export function Meter({ value, max, label }: { value: number; max: number | null; label: string }) {
  const ratio = max === null || max === 0 ? 0 : Math.min(1, value / max);
  const level = ratio > 0.9 ? 'high' : ratio > 0.7 ? 'mid' : 'low';
  return (
    <div className="meter" title={label}>
      <div className="meter-track" aria-hidden="true">
        <div className={`meter-fill ${level}`} style={{ width: `${(ratio * 100).toFixed(1)}%` }} />
      </div>
      <span className="meter-text">
        {formatBytes(value)} / {max === null ? 'no limit' : formatBytes(max)}
      </span>
    </div>
  );
}

export const MemoryCell = memo(function MemoryCell({ agent, id }: { agent: number; id: string }) {
  const usage = useUsage(agent, id);
  if (usage === undefined) return <span className="muted">–</span>;
  return <Meter value={usage.memoryBytes} max={usage.memoryLimitBytes} label="memory used" />;
});

export const PidsCell = memo(function PidsCell({ agent, id }: { agent: number; id: string }) {
  const usage = useUsage(agent, id);
  if (usage === undefined) return <span className="muted">–</span>;
  return (
    <span>
      {usage.pids}
      {usage.pidsLimit === null ? '' : <span className="muted"> / {usage.pidsLimit}</span>}
    </span>
  );
});
