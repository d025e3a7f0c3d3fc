'use client';
import { useEffect, useState } from 'react';
import { relay } from '../connection';
import type { ContainerPaneProps } from '../containers';
import { TerminalView } from './terminal';

const storageKey = (agent: number, container: string) => `tocker:exec:${agent}:${container}`;

/**
 * A new shell in the running container (container:exec with a terminal). Its session is
 * remembered for this tab, so a reload reattaches to the same shell. A paused container
 * refuses exec until it is unpaused: the button waits for that.
 */
export function ExecShell({
  agent,
  container,
  running,
  paused,
}: ContainerPaneProps & { readonly paused: boolean }) {
  const [session, setSession] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [command, setCommand] = useState('/bin/sh');

  // A shell remembered from before a reload, if it still lives.
  useEffect(() => {
    const key = storageKey(agent, container);
    const remembered = sessionStorage.getItem(key);
    if (remembered === null) return;
    relay(agent, 'terminal:list', { container })
      .then(({ sessions }) => {
        if (sessions.some((each) => each.session === remembered)) setSession(remembered);
        else sessionStorage.removeItem(key);
      })
      .catch(() => undefined);
  }, [agent, container]);

  const open = async () => {
    setBusy(true);
    setError(null);
    try {
      const { session } = await relay(agent, 'terminal:exec', { container, command: [command] });
      sessionStorage.setItem(storageKey(agent, container), session);
      setSession(session);
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const close = () => {
    if (session !== null) void relay(agent, 'terminal:close', { session }).catch(() => undefined);
    sessionStorage.removeItem(storageKey(agent, container));
    setSession(null);
  };

  return (
    <div>
      <div className="toolbar">
        <label className="inline">
          Shell
          <select
            aria-label="Shell to start"
            value={command}
            onChange={(event) => setCommand(event.target.value)}
          >
            <option value="/bin/sh">/bin/sh</option>
            <option value="/bin/bash">/bin/bash</option>
            <option value="/bin/ash">/bin/ash</option>
          </select>
        </label>
        <button type="button" onClick={() => void open()} disabled={busy || !running || paused}>
          {busy ? 'Starting…' : session === null ? 'Exec a new shell' : 'Exec another shell'}
        </button>
        {session !== null && (
          <button type="button" className="danger" onClick={close}>
            Close this shell
          </button>
        )}
        {!running && <span className="muted">The container is not running.</span>}
        {running && paused && (
          <span className="muted">The container is paused: unpause it to exec a shell.</span>
        )}
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {session !== null && (
        <TerminalView agent={agent} target={{ session }} label="Exec shell terminal" />
      )}
    </div>
  );
}
