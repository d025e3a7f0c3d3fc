import type { ContainerRecord } from '../state/record.js';
import type { Publication } from './host.js';

/** Whether the container has ports on the host: its end changes the rules. */
export function publishes(record: ContainerRecord): boolean {
  return record.network.mode === 'bridge' && record.network.ports.length > 0;
}

/** What the root's containers publish now: those that run (or are being started). */
export function publications(records: readonly ContainerRecord[]): Publication[] {
  return records.flatMap((record) => {
    if (record.status === 'exited' || record.network.mode !== 'bridge') return [];
    // Through its first network, where its default route is.
    const first = record.network.networks[0];
    return first !== undefined && publishes(record)
      ? [{ address: first.address, ports: record.network.ports }]
      : [];
  });
}
