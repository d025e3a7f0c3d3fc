'use client';
import { useState } from 'react';

/**
 * A row's removal: asked first (it cannot be taken back), then sent; the agent's refusal
 * (in use, the default one...) shows under the button.
 */
export function RemoveButton({
  label,
  question,
  remove,
  onRemoved,
}: {
  /** What the button says to a screen reader: "Remove volume data". */
  label: string;
  question: string;
  remove: () => Promise<unknown>;
  onRemoved: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const run = async () => {
    if (!window.confirm(question)) return;
    setBusy(true);
    try {
      await remove();
      setRefusal(null);
      onRemoved();
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
        Remove
      </button>
      {refusal !== null && (
        <div role="alert" className="error-text">
          {refusal}
        </div>
      )}
    </>
  );
}
