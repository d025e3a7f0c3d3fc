'use client';
import { useEffect, useRef, useState } from 'react';
import { relay } from '../connection';
import type { ContainerPaneProps } from '../containers';

const FOLLOW_INTERVAL_MS = 1000;
const MAX_SHOWN_CHARS = 512 * 1024;

/** A container's output: the last 256 KiB, then what follows while it runs. */
export function ContainerLogs({ agent, container, running }: ContainerPaneProps) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a container that starts again has new output to follow
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let next: number | undefined;
    const poll = async () => {
      try {
        const reply = await relay(
          agent,
          'container:logs',
          next === undefined ? { container } : { container, fromByte: next },
        );
        if (stopped) return;
        next = reply.nextByte;
        setError(null);
        setText((old) => ((old ?? '') + reply.logs).slice(-MAX_SHOWN_CHARS));
        if (reply.running) timer = setTimeout(poll, FOLLOW_INTERVAL_MS);
      } catch (failure) {
        if (!stopped) {
          setError((failure as Error).message);
          timer = setTimeout(poll, FOLLOW_INTERVAL_MS * 3);
        }
      }
    };
    setText(null);
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [agent, container, running]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: new text scrolls to the end
  useEffect(() => {
    const element = pre.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [text]);

  return (
    <div>
      {error && (
        <p role="alert" className="error-text">
          Logs: {error}
        </p>
      )}
      {text === null && !error && <p className="muted">Loading logs…</p>}
      {text !== null && (
        <pre ref={pre} className="logs" title="Container logs">
          {text === '' ? <span className="muted">(no output yet)</span> : text}
        </pre>
      )}
    </div>
  );
}
