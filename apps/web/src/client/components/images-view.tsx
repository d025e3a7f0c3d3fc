'use client';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useAgents } from '../agents';
import { relay } from '../connection';
import { plural } from '../format';
import { useImages } from '../images';
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
  const router = useRouter();
  const path = usePathname();
  const params = useSearchParams();
  const { agents, error } = useAgents();
  const online = (agents ?? []).filter((agent) => agent.online);
  const agent = online.find((each) => each.id === Number(params.get('agent'))) ?? online[0];

  return (
    <section aria-labelledby="images-title">
      <div className="page-head">
        <h1 id="images-title">Images</h1>
        {online.length > 0 && (
          <label className="inline">
            Agent
            <select
              value={agent?.id}
              onChange={(event) => router.replace(`${path}?agent=${event.target.value}`)}
            >
              {online.map((each) => (
                <option key={each.id} value={each.id}>
                  {each.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {error && (
        <p role="alert" className="error-text">
          Could not list the agents: {error}
        </p>
      )}
      {agents === null && !error && <p className="muted">Loading agents…</p>}
      {agents !== null && online.length === 0 && (
        <div className="empty">
          No agent is online.{' '}
          <Link prefetch={false} href="/agents">
            Add or check your agents
          </Link>
          .
        </div>
      )}
      {agent !== undefined && <AgentImages key={agent.id} agent={agent.id} />}
    </section>
  );
}
