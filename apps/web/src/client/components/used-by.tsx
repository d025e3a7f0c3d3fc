'use client';
import type { ContainerRef } from '@tocker/protocol';
import Link from 'next/link';
import { shortId } from '../format';

/** The containers an image or a volume is used by (or on a network), each a link to its page. */
export function UsedBy({
  agent,
  containers,
}: {
  agent: number;
  containers: readonly ContainerRef[];
}) {
  if (containers.length === 0) return <span className="muted">none</span>;
  return (
    <span className="used-by">
      {containers.map((container) => (
        <Link key={container.id} prefetch={false} href={`/containers/${agent}/${container.id}`}>
          {container.name ?? shortId(container.id)}
        </Link>
      ))}
    </span>
  );
}
