'use client';
import { Suspense } from 'react';
import { NetworksView } from '../../../client/components/networks-view';

export default function NetworksPage() {
  return (
    <Suspense fallback={<p className="muted">Loading networks…</p>}>
      <NetworksView />
    </Suspense>
  );
}
