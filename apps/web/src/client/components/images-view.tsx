'use client';
import { relay } from '../connection';
import { plural } from '../format';
import { useImages } from '../images';
import { AgentPage } from './agent-page';
import { ImageList } from './image-list';
import { PruneButton } from './prune-button';
import { PullForm } from './pull-form';
import { PullProgress } from './pull-progress';
import { Volumes } from './volumes';

/** One agent's images, the pulls it is doing, and its volumes. */
function AgentImages({ agent }: { agent: number }) {
  const { data, pulls, error, reload } = useImages(agent);
  const prune = async () => {
    const { layers, blobs } = await relay(agent, 'image:prune', {});
    reload();
    return layers + blobs === 0
      ? 'Nothing to remove.'
      : `Removed ${plural(layers, 'layer')} and ${plural(blobs, 'blob')}.`;
  };
  return (
    <>
      <PullForm agent={agent} />
      {pulls.length > 0 && (
        <section aria-labelledby="pulls-title">
          <h2 id="pulls-title">Pulling</h2>
          {pulls.map((pull) => (
            <PullProgress key={pull.pull} pull={pull} />
          ))}
        </section>
      )}
      <section aria-labelledby="local-images-title">
        <div className="page-head">
          <h2 id="local-images-title">On the agent</h2>
          <PruneButton
            label="Prune"
            question="Remove every layer that no named image and no container needs?"
            prune={prune}
          />
        </div>
        {error && (
          <p role="alert" className="error-text">
            {error}
          </p>
        )}
        {data === null && !error && <p className="muted">Loading images…</p>}
        {data !== null && <ImageList agent={agent} images={data.images} onChanged={reload} />}
      </section>
      <Volumes agent={agent} />
    </>
  );
}

/** The Images page: an agent's image store and volumes (the agent chosen in the URL). */
export function ImagesView() {
  return (
    <AgentPage title="Images">{(agent) => <AgentImages key={agent} agent={agent} />}</AgentPage>
  );
}
