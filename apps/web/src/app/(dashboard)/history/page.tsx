'use client';
import { Suspense } from 'react';
import { HistoryView } from '../../../client/components/history';

export default function HistoryPage() {
  return (
    <Suspense fallback={<p className="muted">Loading history…</p>}>
      <HistoryView />
    </Suspense>
  );
}
