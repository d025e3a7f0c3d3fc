import { availableParallelism } from 'node:os';
import {
  type ContainerLimits,
  type ContainerSpec,
  containerSpecSchema,
  limitsSchema,
  validate,
} from '@tocker/protocol/vocabulary';
import { TockerError } from './errors.js';

export {
  CONTAINER_NAME,
  type ContainerLimits,
  type ContainerSpec,
} from '@tocker/protocol/vocabulary';

/** What only the host can say about limits: it has so many CPUs. */
function checkOnThisHost(limits: ContainerLimits): void {
  const hostCpus = availableParallelism();
  if (limits.cpus !== undefined && limits.cpus > hostCpus) {
    throw new TockerError(`cpus: ${limits.cpus} is more than the ${hostCpus} CPUs of this host`);
  }
}

/** The protocol's spec, validated, plus the checks that need this host. */
export function parseContainerSpec(input: unknown): ContainerSpec {
  const result = validate(containerSpecSchema, input);
  if (!result.ok) throw new TockerError(result.message);
  checkOnThisHost(result.value.limits);
  return Object.freeze(result.value);
}

export function parseLimits(input: unknown): ContainerLimits {
  const result = validate(limitsSchema, input);
  if (!result.ok) throw new TockerError(result.message);
  checkOnThisHost(result.value);
  return Object.freeze(result.value);
}
