'use client';
import type { ContainerView } from '@tocker/protocol';
import { useState } from 'react';
import { relay } from '../connection';

type Action = 'stop' | 'kill' | 'restart' | 'remove';

/**
 * Stop, kill, restart and remove, each one request to the container's agent; the list
 * itself updates from the agent's events. Errors show next to the buttons.
 */
export function ContainerActions({
  agent,
  container,
  onRemoved,
}: {
  agent: number;
  container: ContainerView;
  onRemoved?: () => void;
}) {
  const [pending, setPending] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  const label = container.name ?? container.id.slice(0, 12);
  const running = container.status === 'running';

  const run = (action: Action) => {
    if (action === 'remove' && running && !window.confirm(`Remove the running container ${label}?`))
      return;
    setPending(action);
    setError(null);
    const target = { container: container.id };
    const done =
      action === 'stop'
        ? relay(agent, 'container:stop', target)
        : action === 'kill'
          ? relay(agent, 'container:kill', target)
          : action === 'restart'
            ? relay(agent, 'container:restart', target)
            : relay(agent, 'container:remove', { ...target, force: true });
    done
      .then(() => {
        if (action === 'remove') onRemoved?.();
      })
      .catch((failure: Error) => setError(failure.message))
      .finally(() => setPending(null));
  };

  const button = (action: Action, text: string, enabled: boolean) => (
    <button
      type="button"
      className={`small ${action === 'remove' || action === 'kill' ? 'danger' : ''}`}
      disabled={!enabled || pending !== null}
      aria-label={`${text} ${label}`}
      aria-busy={pending === action}
      onClick={() => run(action)}
    >
      {pending === action ? `${text}…` : text}
    </button>
  );

  return (
    <div className="actions">
      {button('stop', 'Stop', running)}
      {button('kill', 'Kill', running)}
      {button('restart', 'Restart', true)}
      {button('remove', 'Remove', true)}
      {error !== null && (
        <span role="alert" className="error-text">
          {error}
        </span>
      )}
    </div>
  );
}
