'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { relay } from '../connection';
import type { ContainerPaneProps } from '../containers';
import { openXterm } from '../xterm';

const FOLLOW_INTERVAL_MS = 1000;
const MAX_SHOWN_CHARS = 512 * 1024;

/**
 * Where output comes from: calls `onText` with each new piece (and `onError` with what
 * went wrong, while it keeps trying) until the returned function is called.
 */
export type OutputSource = (
  onText: (text: string) => void,
  onError: (message: string | null) => void,
) => () => void;

/**
 * Output as it was meant to be seen. A terminal's output is full of control sequences
 * (colours, cursor moves, a shell's queries): it goes through a read-only terminal
 * emulator. Plain output is text.
 */
export function OutputView({
  source,
  tty,
  label,
}: {
  source: OutputSource;
  tty: boolean;
  label: string;
}) {
  const [received, setReceived] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div>
      {error && (
        <p role="alert" className="error-text">
          {label}: {error}
        </p>
      )}
      {!received && !error && <p className="muted">Loading…</p>}
      {tty ? (
        <OutputTerminal
          source={source}
          label={label}
          onReceived={() => setReceived(true)}
          onError={setError}
        />
      ) : (
        <OutputText
          source={source}
          label={label}
          onReceived={() => setReceived(true)}
          onError={setError}
        />
      )}
    </div>
  );
}

interface OutputProps {
  source: OutputSource;
  label: string;
  onReceived: () => void;
  onError: (message: string | null) => void;
}

function OutputTerminal({ source, label, onReceived, onError }: OutputProps) {
  const screen = useRef<HTMLDivElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new source is new output; the callbacks only report
  useEffect(() => {
    let disposed = false;
    let cleanup: () => void = () => undefined;
    void (async () => {
      if (screen.current === null) return;
      const opened = await openXterm(screen.current, { label, readOnly: true }, () => disposed);
      if (opened === null) return;
      // No cursor: nothing is typed here.
      opened.term.write('\x1b[?25l');
      const stop = source((text) => {
        onReceived();
        opened.term.write(text);
      }, onError);
      cleanup = () => {
        stop();
        opened.dispose();
      };
    })();
    return () => {
      disposed = true;
      cleanup();
    };
  }, [source, label]);
  return (
    <div className="terminal-frame output">
      <div className="terminal-pane" ref={screen} data-testid="output-terminal" />
    </div>
  );
}

function OutputText({ source, label, onReceived, onError }: OutputProps) {
  const [text, setText] = useState<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new source is new output; the callbacks only report
  useEffect(() => {
    setText(null);
    return source((piece) => {
      onReceived();
      setText((old) => ((old ?? '') + piece).slice(-MAX_SHOWN_CHARS));
    }, onError);
  }, [source]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: new text scrolls to the end
  useEffect(() => {
    const element = pre.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [text]);
  if (text === null) return null;
  return (
    <pre ref={pre} className="logs" title={label}>
      {text === '' ? <span className="muted">(no output)</span> : text}
    </pre>
  );
}

/** Text known in full (a finished run's kept output). */
export const fixedOutput =
  (text: string): OutputSource =>
  (onText) => {
    onText(text);
    return () => undefined;
  };

/** A container's output: the last 256 KiB, then what follows while it runs. */
export function ContainerLogs({
  agent,
  container,
  running,
  tty,
}: ContainerPaneProps & { tty: boolean }) {
  // biome-ignore lint/correctness/useExhaustiveDependencies: a container that starts again has new output to follow
  const source = useCallback<OutputSource>(
    (onText, onError) => {
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
          onError(null);
          onText(reply.logs);
          if (reply.running) timer = setTimeout(poll, FOLLOW_INTERVAL_MS);
        } catch (failure) {
          if (stopped) return;
          onError((failure as Error).message);
          timer = setTimeout(poll, FOLLOW_INTERVAL_MS * 3);
        }
      };
      void poll();
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
    [agent, container, running],
  );
  return <OutputView source={source} tty={tty} label="Container logs" />;
}
