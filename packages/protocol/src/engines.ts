import { z } from 'zod';

/**
 * Containers that OCI engines (podman, containerd) made through tocker-runtime: the agent
 * lists them from the runtime's state, read-only, as they are the engines' to manage.
 */

export const ociEngines = ['podman', 'containerd', 'unknown'] as const;
export type OciEngine = (typeof ociEngines)[number];

export const engineContainerSchema = z
  .object({
    /** The engine's id (podman's and containerd's are 64 hex digits, but any OCI id may come). */
    id: z.string().min(1),
    engine: z.enum(ociEngines),
    status: z.enum(['created', 'running', 'paused', 'stopped']),
    /** The init's host pid; 0 once stopped. */
    pid: z.number().int().min(0),
    /** RFC 3339. */
    created: z.string(),
    bundle: z.string(),
  })
  .strict();
export type EngineContainer = z.infer<typeof engineContainerSchema>;

/**
 * Which engine made a container: containerd keeps its bundles at
 * .../io.containerd.runtime.v2.task/<namespace>/<id>; podman marks its containers
 * (io.container.manager=libpod, io.podman.annotations.*) and passes on the image's
 * org.opencontainers.image.* annotations, which containerd does not.
 */
export function engineOf(annotations: Readonly<Record<string, string>>, bundle: string): OciEngine {
  if (/\/io\.containerd\.runtime\.v2\.task\/[^/]+\/[^/]+\/?$/.test(bundle)) return 'containerd';
  const keys = Object.keys(annotations);
  if (
    annotations['io.container.manager'] === 'libpod' ||
    keys.some((key) => key.startsWith('io.podman.') || key.startsWith('org.opencontainers.image.'))
  )
    return 'podman';
  return 'unknown';
}
