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

/**
 * A container's network as facts: its mode, or each network it is on (address, aliases,
 * gateway, MAC), and its published ports as links.
 */
export function NetworkFacts({
  network,
  agentUrl,
  running,
}: {
  network: ContainerNetwork;
  agentUrl: string | null;
  running: boolean;
}) {
  if (network.mode === 'container')
    return <span>the network of container {network.container.slice(0, 12)}</span>;
  if (network.mode !== 'bridge')
    return (
      <span>
        {network.mode === 'host' ? "the host's network (not isolated)" : 'none (only lo)'}
      </span>
    );
  return (
    <span data-testid="network">
      {network.networks.length === 0 && <span>on no network (only lo)</span>}
      {network.networks.map((attachment) => (
        <span key={attachment.network} className="attachment">
          <span className="mono">
            {attachment.address}/{attachment.prefix}
          </span>{' '}
          on {attachment.network}
          {attachment.aliases.length > 0 && ` (also ${attachment.aliases.join(', ')})`}, gateway{' '}
          <span className="mono">{attachment.gateway}</span>, MAC{' '}
          <span className="mono">{attachment.mac}</span>
        </span>
      ))}
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
