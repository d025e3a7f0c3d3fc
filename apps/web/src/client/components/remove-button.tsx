'use client';
import { useState } from 'react';

/**
 * A row's removal: asked first (it cannot be taken back), then sent; the agent's refusal
 * (in use, the default one...) shows under the button. `onRemoved` gets the agent's reply.
 */
export function RemoveButton<Reply>({
  label,
  text = 'Remove',
  question,
  remove,
  onRemoved,
}: {
  /** What the button says to a screen reader: "Remove volume data". */
  label: string;
  /** What it shows: a removal of something else than a row ("Disconnect") says so. */
  text?: string;
  question: string;
  remove: () => Promise<Reply>;
  onRemoved: (reply: Reply) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const run = async () => {
    if (!window.confirm(question)) return;
    setBusy(true);
    try {
      const reply = await remove();
      setRefusal(null);
      onRemoved(reply);
    } catch (error) {
      setRefusal((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        className="small danger"
        disabled={busy}
        aria-label={label}
        onClick={() => void run()}
      >
        {text}
      </button>
      {refusal !== null && (
        <div role="alert" className="error-text">
          {refusal}
        </div>
      )}
    </>
  );
}
