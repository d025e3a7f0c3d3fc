'use client';
import {
  type ContainerView,
  formatPublished,
  type PublishedPort,
  requests,
} from '@tocker/protocol';
import type { FormEvent } from 'react';
import { relay } from '../connection';
import { check, fieldOf, useSubmission, words } from '../forms';
import { aboutAliases, useNetworks } from '../networks';
import { Field, FormError } from './field';
import { RemoveButton } from './remove-button';

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
 * gateway, MAC), and its published ports as links. One on networks of its own (mode
 * bridge) can leave each of them (asked first) and join another one of the agent's;
 * `onChange` gets the container as the agent's reply has it.
 */
export function NetworkFacts({
  agent,
  container,
  agentUrl,
  onChange,
}: {
  agent: number;
  container: ContainerView;
  agentUrl: string | null;
  onChange: (container: ContainerView) => void;
}) {
  const { network } = container;
  const running = container.status === 'running';
  const name = container.name ?? container.id.slice(0, 12);
  if (network.mode === 'container')
    return <span>the network of container {network.container.slice(0, 12)}</span>;
  if (network.mode !== 'bridge')
    return (
      <span>
        {network.mode === 'host' ? "the host's network (not isolated)" : 'none (only lo)'}
      </span>
    );
  return (
    <div data-testid="network">
      {network.networks.length === 0 && <span>on no network (only lo)</span>}
      {network.networks.map((attachment) => (
        <div key={attachment.network} className="attachment">
          <span className="mono">
            {attachment.address}/{attachment.prefix}
          </span>{' '}
          on {attachment.network}
          {attachment.aliases.length > 0 && ` (also ${attachment.aliases.join(', ')})`}, gateway{' '}
          <span className="mono">{attachment.gateway}</span>, MAC{' '}
          <span className="mono">{attachment.mac}</span>{' '}
          <RemoveButton
            label={`Disconnect from ${attachment.network}`}
            text="Disconnect"
            question={`Disconnect ${name} from the network ${attachment.network}? Its address ${attachment.address} there is given back.`}
            remove={() =>
              relay(agent, 'network:disconnect', {
                network: attachment.network,
                container: container.id,
              })
            }
            onRemoved={(reply) => onChange(reply.container)}
          />
        </div>
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
      <ConnectForm
        agent={agent}
        container={container.id}
        on={network.networks.map((attachment) => attachment.network)}
        onConnected={onChange}
      />
    </div>
  );
}

const CONNECT_FIELDS = ['network', 'aliases'] as const;

/**
 * Puts the container on one more of the agent's networks, those it is not on yet. Checked
 * with the request's own schema first; the agent's refusal (already on it, a network gone
 * meanwhile, aliases on the default network) shows here.
 */
function ConnectForm({
  agent,
  container,
  on,
  onConnected,
}: {
  agent: number;
  container: string;
  /** The networks it is on already. */
  on: readonly string[];
  onConnected: (container: ContainerView) => void;
}) {
  const { data: networks } = useNetworks(agent);
  const { errors, busy, submit } = useSubmission(CONNECT_FIELDS, (message) =>
    aboutAliases(message) ? 'aliases' : fieldOf(message, CONNECT_FIELDS),
  );
  if (networks === null) return null;
  const choices = networks.map((each) => each.name).filter((each) => !on.includes(each));
  if (choices.length === 0) return null;
  const connect = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const input = {
      network: String(data.get('network') ?? ''),
      container,
      aliases: words(String(data.get('aliases') ?? '')),
    };
    await submit(check(requests['network:connect'], input, CONNECT_FIELDS), async () => {
      const reply = await relay(agent, 'network:connect', input);
      form.reset();
      onConnected(reply.container);
    });
  };
  return (
    <form
      className="inline-form connect"
      onSubmit={connect}
      noValidate
      aria-label="Connect to network"
    >
      <Field label="Network" error={errors.network}>
        {(props) => (
          <select {...props} name="network">
            {choices.map((choice) => (
              <option key={choice} value={choice}>
                {choice}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        label="Aliases"
        hint="Optional: more names it answers to there."
        error={errors.aliases}
      >
        {(props) => (
          <input {...props} name="aliases" className="mono" autoComplete="off" spellCheck={false} />
        )}
      </Field>
      <button type="submit" disabled={busy}>
        {busy ? 'Connecting…' : 'Connect to network'}
      </button>
      <FormError message={errors.form} />
    </form>
  );
}
