import type { ContainerSpec, ContainerView } from '@tocker/protocol';

/**
 * What a row of the containers list shows of a container, and all the server puts in the
 * page for it: a fifth of the whole view (no network, limits, mounts...), so 200 rows
 * render, travel and hydrate sooner.
 */
export interface ContainerRowView
  extends Pick<
    ContainerView,
    | 'id'
    | 'name'
    | 'image'
    | 'status'
    | 'paused'
    | 'startedAt'
    | 'exitCode'
    | 'signal'
    | 'oomKilled'
    | 'requestedEnd'
  > {
  readonly spec: Pick<ContainerSpec, 'rootfs' | 'command' | 'entrypoint' | 'privileged'>;
}

export function containerRowView(container: ContainerView): ContainerRowView {
  const { spec } = container;
  return {
    id: container.id,
    name: container.name,
    image: container.image,
    status: container.status,
    paused: container.paused,
    startedAt: container.startedAt,
    exitCode: container.exitCode,
    signal: container.signal,
    oomKilled: container.oomKilled,
    requestedEnd: container.requestedEnd,
    spec: {
      rootfs: spec.rootfs,
      command: spec.command,
      entrypoint: spec.entrypoint,
      privileged: spec.privileged,
    },
  };
}
