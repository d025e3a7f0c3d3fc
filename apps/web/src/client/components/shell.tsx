'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { useAgents } from '../agents';
import { useConnected } from '../connection';

const SECTIONS = [
  { href: '/containers', label: 'Containers' },
  { href: '/launch', label: 'Launch' },
  { href: '/images', label: 'Images' },
  { href: '/networks', label: 'Networks' },
  { href: '/history', label: 'History' },
  { href: '/agents', label: 'Agents' },
] as const;

async function signOut() {
  await fetch('/api/logout', { method: 'POST' }).catch(() => undefined);
  window.location.assign('/login');
}

/** The frame of every signed-in page: navigation, and what is unreachable right now. */
export function Shell({ children }: { children: ReactNode }) {
  const path = usePathname();
  const connected = useConnected();
  const { agents } = useAgents();
  const offline = (agents ?? []).filter((agent) => !agent.online);
  const offlineNames = offline
    .map((agent) => `${agent.name}${agent.problem ? ` (${agent.problem})` : ''}`)
    .join(', ');
  return (
    <>
      <header className="topbar">
        <Link href="/containers" className="logo" prefetch={false}>
          tocker
        </Link>
        <nav aria-label="Sections">
          {SECTIONS.map((section) => (
            <Link
              key={section.href}
              href={section.href}
              // Prefetching all sections at load renders every other page on the server
              // while this one is still connecting; a section is fetched in ~50 ms when clicked.
              prefetch={false}
              aria-current={path.startsWith(section.href) ? 'page' : undefined}
            >
              {section.label}
              {section.href === '/agents' && offline.length > 0 && (
                <span
                  className="count warn"
                  data-testid="agents-offline"
                  title={`Offline: ${offlineNames}`}
                >
                  <span className="sr-only"> (offline: </span>
                  {offline.length}
                  <span className="sr-only">)</span>
                </span>
              )}
            </Link>
          ))}
        </nav>
        <button type="button" className="small ghost" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {connected === false && (
        <div className="banner bad" role="status">
          Lost the connection to the dashboard server: reconnecting…
        </div>
      )}
      {/* An agent that stays away should not cover every page: the banner is the Agents
          page's, the count next to "Agents" everyone's. */}
      {connected !== false && offline.length > 0 && path.startsWith('/agents') && (
        <div className="banner warn" role="status">
          Offline: {offlineNames}. It comes back by itself when the agent does.
        </div>
      )}
      <main className="page">{children}</main>
    </>
  );
}
