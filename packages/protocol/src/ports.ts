import { z } from 'zod';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const port = (what: string) =>
  z
    .number({ message: `${what}: a port from 1 to 65535` })
    .int(`${what}: a port from 1 to 65535`)
    .min(1, `${what}: a port from 1 to 65535`)
    .max(65535, `${what}: a port from 1 to 65535`);

/**
 * A port of a container published on the host (docker's -p): traffic to hostIp:hostPort
 * goes to the container's containerPort. hostPort 0: a free one, chosen when it starts.
 */
export const portMappingSchema = z
  .object({
    hostIp: z
      .string()
      .regex(IPV4, 'publish: the host address must be an IPv4 address')
      .default('0.0.0.0'),
    hostPort: z.union([z.literal(0), port('publish: the host port')]).default(0),
    containerPort: port('publish: the container port'),
    protocol: z.enum(['tcp', 'udp'], { message: 'publish: tcp or udp' }).default('tcp'),
  })
  .strict();

export type PortMappingInput = z.input<typeof portMappingSchema>;
export type PortMapping = z.output<typeof portMappingSchema>;

/** A published port as it is while the container runs: its host port known. */
export const publishedPortSchema = z
  .object({
    hostIp: z.string(),
    hostPort: z.number().int(),
    containerPort: z.number().int(),
    protocol: z.enum(['tcp', 'udp']),
  })
  .strict();
export type PublishedPort = Readonly<z.output<typeof publishedPortSchema>>;

/**
 * docker's -p: `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]` (`8080:80`, `127.0.0.1:8080:80/udp`,
 * `80`, `127.0.0.1::80`). A malformed one is one line naming it.
 */
export function parsePublish(text: string): PortMappingInput {
  const match = /^(?:(?:([\d.]+):)?(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(text.trim());
  if (match === null)
    throw new Error(`-p ${text}: not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp], e.g. 8080:80`);
  const [, hostIp, hostPort, containerPort, protocol] = match;
  const parsed = portMappingSchema.safeParse({
    ...(hostIp === undefined ? {} : { hostIp }),
    hostPort: hostPort === undefined || hostPort === '' ? 0 : Number(hostPort),
    containerPort: Number(containerPort),
    ...(protocol === undefined ? {} : { protocol }),
  });
  if (!parsed.success)
    throw new Error(`-p ${text}: ${parsed.error.issues[0]?.message.replace(/^publish: /, '')}`);
  return parsed.data;
}

/** `0.0.0.0:8080->80/tcp`, as docker ps shows it. */
export function formatPublished(published: PublishedPort): string {
  return `${published.hostIp}:${published.hostPort}->${published.containerPort}/${published.protocol}`;
}
