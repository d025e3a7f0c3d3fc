'use client';
import { formatBytes, type ImageSummary, shortDigest } from '@tocker/protocol';
import { useState } from 'react';
import { relay } from '../connection';
import { formatDate, shortId } from '../format';
import { Cell, ListTable } from './list-table';
import { UsedBy } from './used-by';

/**
 * One image, and its removal: asked first; refused by the agent while containers use it
 * (its message is shown), after which removing it anyway is offered, and asked again.
 */
function ImageRow({
  agent,
  image,
  onRemoved,
}: {
  agent: number;
  image: ImageSummary;
  onRemoved: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const label = image.names.join(', ') || shortDigest(image.id);
  // A row is the whole image: by its id, every name of it goes.
  const target = image.names.length === 1 ? (image.names[0] ?? image.id) : image.id;
  const users = image.usedBy.map((container) => container.name ?? shortId(container.id));

  const remove = async (force: boolean) => {
    const question = force
      ? `Remove ${label} although it is used by ${users.join(', ')}? They keep its layers until they are removed themselves.`
      : `Remove the image ${label}?`;
    if (!window.confirm(question)) return;
    setBusy(true);
    try {
      await relay(agent, 'image:remove', { image: target, force });
      setRefusal(null);
      onRemoved();
    } catch (error) {
      setRefusal((error as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <tr data-testid={`image-${image.names[0] ?? shortDigest(image.id)}`}>
      <td>
        {image.names.length === 0 ? (
          <span className="muted">&lt;none&gt;</span>
        ) : (
          image.names.map((name) => (
            <div key={name} className="mono">
              {name}
            </div>
          ))
        )}
      </td>
      <Cell label="Id">
        <span className="mono" title={image.id}>
          {shortDigest(image.id)}
        </span>
        <div className="muted">{image.platform}</div>
      </Cell>
      <Cell label="Size">{formatBytes(image.bytes)}</Cell>
      <Cell label="Created">{image.createdAt === null ? '–' : formatDate(image.createdAt)}</Cell>
      <Cell label="Layers">{image.layers}</Cell>
      <Cell label="Used by">
        <UsedBy agent={agent} containers={image.usedBy} />
      </Cell>
      <td>
        <div className="actions">
          <button
            type="button"
            className="small danger"
            disabled={busy}
            aria-label={`Remove image ${label}`}
            onClick={() => void remove(false)}
          >
            Remove
          </button>
          {refusal !== null && image.usedBy.length > 0 && (
            <button
              type="button"
              className="small danger"
              disabled={busy}
              aria-label={`Force remove image ${label}`}
              onClick={() => void remove(true)}
            >
              Force remove
            </button>
          )}
        </div>
        {refusal !== null && (
          <div role="alert" className="error-text">
            {refusal}
          </div>
        )}
      </td>
    </tr>
  );
}

/** The images of an agent's store. */
export function ImageList({
  agent,
  images,
  onChanged,
}: {
  agent: number;
  images: readonly ImageSummary[];
  onChanged: () => void;
}) {
  if (images.length === 0) return <div className="empty">No images: pull one above.</div>;
  return (
    <ListTable label="Images" columns={['Image', 'Id', 'Size', 'Created', 'Layers', 'Used by', '']}>
      {images.map((image) => (
        <ImageRow key={image.digest} agent={agent} image={image} onRemoved={onChanged} />
      ))}
    </ListTable>
  );
}
