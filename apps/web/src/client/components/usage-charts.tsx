'use client';
import { type ContainerUsage, formatBytes } from '@tocker/protocol';
import { useEffect, useState } from 'react';
import { onUsage } from '../usage';
import { LineChart } from './chart';

const SAMPLES = 120;

/** CPU and memory of one container over the last two minutes, against its limits. */
export function UsageCharts({ agent, container }: { agent: number; container: string }) {
  const [samples, setSamples] = useState<readonly ContainerUsage[]>([]);
  useEffect(() => {
    setSamples([]);
    return onUsage(agent, container, (usage) =>
      setSamples((old) => [...old.slice(-(SAMPLES - 1)), usage]),
    );
  }, [agent, container]);
  const last = samples.at(-1);
  return (
    <div className="charts">
      <LineChart
        title="CPU"
        capacity={SAMPLES}
        series={{
          values: samples.map((usage) => usage.cpuPercent),
          limit: last === undefined ? null : 100,
          format: (value) =>
            `${value.toFixed(1)} % of ${last?.cpuLimit === null || last === undefined ? 'the host' : `${last.cpuLimit} CPU`}`,
          tick: (value) => `${Math.round(value)} %`,
        }}
      />
      <LineChart
        title="Memory"
        capacity={SAMPLES}
        series={{
          values: samples.map((usage) => usage.memoryBytes),
          limit: last?.memoryLimitBytes ?? null,
          format: formatBytes,
          tick: formatBytes,
        }}
      />
    </div>
  );
}
