'use client';
import { useState } from 'react';

/**
 * A prune: asked first (it cannot be taken back), then what it removed in a line, or why
 * it could not.
 */
export function PruneButton({
  label,
  question,
  prune,
}: {
  label: string;
  question: string;
  /** Prunes; resolves with what was removed, in words. */
  prune: () => Promise<string>;
}) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ text: string; failed: boolean } | null>(null);
  const run = async () => {
    if (!window.confirm(question)) return;
    setBusy(true);
    try {
      setOutcome({ text: await prune(), failed: false });
    } catch (error) {
      setOutcome({ text: (error as Error).message, failed: true });
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="actions">
      <button type="button" className="small danger" disabled={busy} onClick={() => void run()}>
        {busy ? `${label}…` : label}
      </button>
      {outcome !== null && (
        <span
          role={outcome.failed ? 'alert' : 'status'}
          className={outcome.failed ? 'error-text' : 'muted'}
        >
          {outcome.text}
        </span>
      )}
    </span>
  );
}
