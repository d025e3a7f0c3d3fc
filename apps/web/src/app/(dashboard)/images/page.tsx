'use client';
import { Suspense } from 'react';
import { ImagesView } from '../../../client/components/images-view';

export default function ImagesPage() {
  return (
    <Suspense fallback={<p className="muted">Loading images…</p>}>
      <ImagesView />
    </Suspense>
  );
}
