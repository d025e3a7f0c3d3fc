import type { ContainerRecord } from '../state/record.js';
import type { Publication } from './host.js';

/** Whether the container has ports on the host: its end changes the rules. */
export function publishes(record: ContainerRecord): boolean {
  return record.network.mode === 'bridge' && record.network.ports.length > 0;
}

/** What the root's containers publish now: those that run (or are being started). */
export function publications(records: readonly ContainerRecord[]): Publication[] {
  return records.flatMap((record) =>
    record.status !== 'exited' && record.network.mode === 'bridge' && publishes(record)
      ? [{ address: record.network.address, ports: record.network.ports }]
      : [],
  );
}
