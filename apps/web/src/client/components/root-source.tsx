'use client';
import { shortDigest } from '@tocker/protocol';

/**
 * What a container's root came from: its image as it was named, and the digest that name
 * resolved to (short; the whole on hover), or the host directory it was given instead.
 */
export function RootSource({
  image,
  rootfs,
}: {
  image: { readonly reference: string; readonly digest: string | null } | null;
  rootfs: string | null | undefined;
}) {
  if (image === null)
    return (
      <span className="mono" title={rootfs ?? undefined}>
        {rootfs ?? '–'}
      </span>
    );
  return (
    <span className="mono" data-testid="root-source" title={image.reference}>
      {image.reference}
      {image.digest !== null && (
        <span className="muted" title={image.digest}>
          {' '}
          @{shortDigest(image.digest)}
        </span>
      )}
    </span>
  );
}
