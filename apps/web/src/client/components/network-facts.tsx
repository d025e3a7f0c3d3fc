'use client';
import { type ContainerNetwork, formatPublished, type PublishedPort } from '@tocker/protocol';

/**
 * Where a published port is reached from the browser: on the agent's own host name for
 * "every address" (0.0.0.0), else on the address it is published on.
 */
function portUrl(agentUrl: string | null, port: PublishedPort): string | null {
  const host =
    port.hostIp === '0.0.0.0'
      ? agentUrl === null
        ? null
        : new URL(agentUrl).hostname
      : port.hostIp;
  return host === null || port.protocol !== 'tcp' ? null : `http://${host}:${port.hostPort}/`;
}

/** A container's network as facts: mode, address, gateway, MAC, published ports as links. */
export function NetworkFacts({
  network,
  agentUrl,
  running,
}: {
  network: ContainerNetwork;
  agentUrl: string | null;
  running: boolean;
}) {
  if (network.mode !== 'bridge')
    return (
      <span>
        {network.mode === 'host' ? "the host's network (not isolated)" : 'none (only lo)'}
      </span>
    );
  return (
    <span data-testid="network">
      <span className="mono">
        {network.address}/{network.prefix}
      </span>{' '}
      on {network.network}, gateway <span className="mono">{network.gateway}</span>, MAC{' '}
      <span className="mono">{network.mac}</span>
      {network.ports.length > 0 && (
        <span className="ports">
          {network.ports.map((port) => {
            const url = running ? portUrl(agentUrl, port) : null;
            const text = formatPublished(port);
            return url === null ? (
              <span key={text} className="mono">
                {text}
              </span>
            ) : (
              <a key={text} className="mono" href={url} target="_blank" rel="noreferrer noopener">
                {text}
              </a>
            );
          })}
        </span>
      )}
    </span>
  );
}
