'use client';
import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { type ReactNode, useId } from 'react';
import { useAgents } from '../agents';

/**
 * A page about one agent's things (its images, its networks): its title, the choice of
 * the agent (kept in the URL, the first online one by default), and what to show when no
 * agent is online. `children` renders the chosen agent's part.
 */
export function AgentPage({
  title,
  children,
}: {
  title: string;
  children: (agent: number) => ReactNode;
}) {
  const router = useRouter();
  const path = usePathname();
  const params = useSearchParams();
  const titleId = useId();
  const { agents, error } = useAgents();
  const online = (agents ?? []).filter((agent) => agent.online);
  const agent = online.find((each) => each.id === Number(params.get('agent'))) ?? online[0];

  return (
    <section aria-labelledby={titleId}>
      <div className="page-head">
        <h1 id={titleId}>{title}</h1>
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
      {agent !== undefined && children(agent.id)}
    </section>
  );
}
