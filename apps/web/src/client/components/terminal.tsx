'use client';
import { useEffect, useRef, useState } from 'react';
import { dashboard, relay, send, useRelink } from '../connection';
import { openXterm } from '../xterm';

export type TerminalTarget = { container: string } | { session: string };

type Status =
  | { kind: 'connecting' }
  | { kind: 'attached' }
  | { kind: 'exited'; exitCode: number | null }
  | { kind: 'error'; message: string };

const toBytes = (data: ArrayBuffer | Uint8Array) =>
  data instanceof Uint8Array ? data : new Uint8Array(data);

/**
 * A live terminal of a container (its own, or an exec'd shell) in xterm.js. It fits its
 * pane and follows resizes, replays the session's recent output when it attaches (so a
 * reload finds the same shell with its scrollback), reattaches by itself after the agent
 * or the network comes back, and acknowledges what it has drawn (flow control).
 */
export function TerminalView({
  agent,
  target,
  label,
}: {
  agent: number;
  target: TerminalTarget;
  label: string;
}) {
  const pane = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>({ kind: 'connecting' });
  const reattach = useRef<() => void>(() => undefined);
  const targetKey = 'container' in target ? `c:${target.container}` : `s:${target.session}`;

  // biome-ignore lint/correctness/useExhaustiveDependencies: targetKey stands for `target`, a new object on every render
  useEffect(() => {
    let disposed = false;
    let session: string | null = null;
    const cleanups: (() => void)[] = [];

    void (async () => {
      if (pane.current === null) return;
      const opened = await openXterm(pane.current, { label, readOnly: false }, () => disposed);
      if (opened === null) return;
      const { term } = opened;
      cleanups.push(opened.dispose);
      // Ctrl+Shift+C copies the selection (Ctrl+C belongs to the shell); pasting is native.
      term.attachCustomKeyEventHandler((event) => {
        if (event.type === 'keydown' && event.ctrlKey && event.shiftKey && event.code === 'KeyC') {
          void navigator.clipboard?.writeText(term.getSelection()).catch(() => undefined);
          return false;
        }
        return true;
      });

      const resize = () => {
        if (session !== null)
          void relay(agent, 'terminal:resize', {
            session,
            size: { cols: term.cols, rows: term.rows },
          }).catch(() => undefined);
      };
      const attach = async () => {
        setStatus({ kind: 'connecting' });
        try {
          const attached = await relay(agent, 'terminal:attach', target);
          if (disposed) return;
          session = attached.session;
          term.reset();
          term.write(toBytes(attached.scrollback));
          setStatus({ kind: 'attached' });
          resize();
          term.focus();
        } catch (error) {
          if (!disposed) setStatus({ kind: 'error', message: (error as Error).message });
        }
      };
      reattach.current = () => void attach();

      const socket = dashboard();
      const onOutput = (message: { agent: number; session: string; data: ArrayBuffer }) => {
        if (message.agent !== agent || message.session !== session) return;
        const bytes = toBytes(message.data);
        term.write(bytes, () =>
          send('terminal:ack', { agent, session: message.session, bytes: bytes.length }),
        );
      };
      const onExit = (message: { agent: number; session: string; exitCode: number | null }) => {
        if (message.agent !== agent || message.session !== session) return;
        setStatus({ kind: 'exited', exitCode: message.exitCode });
      };
      socket.on('terminal:output', onOutput as never);
      socket.on('terminal:exit', onExit);
      cleanups.push(() => {
        socket.off('terminal:output', onOutput as never);
        socket.off('terminal:exit', onExit);
        if (session !== null)
          void relay(agent, 'terminal:detach', { session }).catch(() => undefined);
      });

      const input = term.onData((data) => {
        if (session !== null) send('terminal:input', { agent, session, data });
      });
      const resized = term.onResize(resize);
      cleanups.push(() => {
        input.dispose();
        resized.dispose();
      });

      await attach();
    })();

    return () => {
      disposed = true;
      for (const cleanup of cleanups.reverse()) cleanup();
    };
  }, [agent, targetKey, label]);

  useRelink(agent, () => reattach.current());

  return (
    <div className="terminal">
      <div className="terminal-status" aria-live="polite">
        {status.kind === 'connecting' && <span className="muted">Attaching…</span>}
        {status.kind === 'attached' && <span className="badge ok">attached</span>}
        {status.kind === 'exited' && (
          <span className="badge idle">
            process ended{status.exitCode === null ? '' : ` (exit ${status.exitCode})`}
          </span>
        )}
        {status.kind === 'error' && (
          <span role="alert" className="error-text">
            {status.message}{' '}
            <button type="button" className="small" onClick={() => reattach.current()}>
              Try again
            </button>
          </span>
        )}
      </div>
      <div className="terminal-frame">
        <div className="terminal-pane" ref={pane} data-testid="terminal" />
      </div>
    </div>
  );
}
