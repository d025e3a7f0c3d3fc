'use client';
import type { ContainerView } from '@tocker/protocol';
import { useState } from 'react';
import { useNow } from '../clock';
import { relay } from '../connection';

type Action = 'stop' | 'kill' | 'restart' | 'remove' | 'pause' | 'unpause';

/** How long a stop lets the container end on SIGTERM before SIGKILL (docker's default). */
const STOP_GRACE_SECONDS = 10;

/** Kill and removing a running container cannot be taken back: they ask first. */
function confirmed(action: Action, label: string, running: boolean): boolean {
  if (action === 'kill')
    return window.confirm(`Kill ${label}? It gets SIGKILL at once, with no time to clean up.`);
  if (action === 'remove' && running)
    return window.confirm(`Remove the running container ${label}? It is killed first.`);
  return true;
}

/** The one request to the container's agent that an action is. */
function request(agent: number, action: Action, container: string): Promise<unknown> {
  switch (action) {
    case 'stop':
      return relay(agent, 'container:stop', { container, timeoutSeconds: STOP_GRACE_SECONDS });
    case 'kill':
      return relay(agent, 'container:kill', { container });
    case 'pause':
      return relay(agent, 'container:pause', { container });
    case 'unpause':
      return relay(agent, 'container:unpause', { container });
    case 'restart':
      return relay(agent, 'container:restart', { container });
    case 'remove':
      return relay(agent, 'container:remove', { container, force: true });
  }
}

/** "Stopping… 7 s": the grace period counting down, then the wait for SIGKILL to land. */
function StopCountdown({ deadline }: { deadline: number }) {
  const now = useNow() || Date.now();
  const left = Math.ceil((deadline - now) / 1000);
  return <>{left > 0 ? `Stopping… ${left} s` : 'Stopping… SIGKILL'}</>;
}

/**
 * Stop, kill, pause or unpause, restart and remove, each one request to the container's
 * agent; the list itself updates from the agent's events. Errors (the agent's refusals
 * among them) show next to the buttons.
 */
export function ContainerActions({
  agent,
  container,
  onRemoved,
}: {
  agent: number;
  container: Pick<ContainerView, 'id' | 'name' | 'status' | 'paused'>;
  onRemoved?: () => void;
}) {
  const [pending, setPending] = useState<Action | null>(null);
  const [stopDeadline, setStopDeadline] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const label = container.name ?? container.id.slice(0, 12);
  const running = container.status === 'running';

  const run = (action: Action) => {
    if (!confirmed(action, label, running)) return;
    setPending(action);
    setError(null);
    setStopDeadline(Date.now() + STOP_GRACE_SECONDS * 1000);
    request(agent, action, container.id)
      .then(() => {
        if (action === 'remove') onRemoved?.();
      })
      .catch((failure: Error) => setError(failure.message))
      .finally(() => setPending(null));
  };

  const button = (action: Action, text: string, enabled: boolean) => (
    <button
      type="button"
      className={action === 'remove' || action === 'kill' ? 'small danger' : 'small'}
      disabled={!enabled || pending !== null}
      aria-label={`${text} ${label}`}
      // Only while busy: a list has five of these per row, and "false" says nothing.
      aria-busy={pending === action || undefined}
      onClick={() => run(action)}
    >
      {pending !== action ? (
        text
      ) : action === 'stop' ? (
        <StopCountdown deadline={stopDeadline} />
      ) : (
        `${text}…`
      )}
    </button>
  );

  return (
    <div className="actions">
      {button('stop', 'Stop', running)}
      {button('kill', 'Kill', running)}
      {container.paused ? button('unpause', 'Unpause', running) : button('pause', 'Pause', running)}
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
