'use client';
import { describeLayer, type PullLayerState, type PullState, shortDigest } from '@tocker/protocol';

/** A layer's bar: how much of it has arrived (none for a layer the agent already had). */
function LayerBar({ layer }: { layer: PullLayerState }) {
  if (layer.status === 'cached') return <span />;
  const received = layer.status === 'done' ? layer.totalBytes : layer.receivedBytes;
  return (
    <progress
      value={received}
      max={Math.max(layer.totalBytes, 1)}
      aria-label={`layer ${shortDigest(layer.digest)}`}
    />
  );
}

/**
 * A pull as `docker pull` shows it, live: a line per layer with its bar and its state
 * (Waiting, Downloading 1.2 MiB/3.4 MiB, Pull complete, Already exists).
 */
export function PullProgress({ pull }: { pull: PullState }) {
  return (
    <section className="pull" aria-label={`Pull of ${pull.reference}`} data-testid="pull">
      <div className="mono">
        {pull.status === 'pulling' ? 'Pulling' : pull.status === 'done' ? 'Pulled' : 'Failed'}{' '}
        {pull.reference}
      </div>
      {pull.layers.length === 0 ? (
        <p className="muted">Reading its manifest…</p>
      ) : (
        <ol className="layers">
          {pull.layers.map((layer) => (
            <li key={layer.digest} data-testid={`layer-${shortDigest(layer.digest)}`}>
              <span className="mono">{shortDigest(layer.digest)}</span>
              <LayerBar layer={layer} />
              <span className="muted">{describeLayer(layer)}</span>
            </li>
          ))}
        </ol>
      )}
      {pull.image !== null && (
        <div className="muted mono" title={pull.image.digest}>
          Digest: {pull.image.digest}
        </div>
      )}
    </section>
  );
}
