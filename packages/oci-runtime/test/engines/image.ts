import { join } from 'node:path';
import { ImageStore, importDirectory, saveImages } from '@tocker/images';
import { prepareDefaultImage } from '../../../runtime/src/image.js';

/** The name the engines know the test image by (no registry: `--pull never` everywhere). */
export const BUSYBOX = 'localhost/busybox:tocker-test';

/**
 * The busybox tree set-up prepares, as an OCI archive (oci-layout, index.json, blobs) that
 * `podman load` and `ctr images import` take: written by tocker's own `save`, through an
 * image store of its own in `dir`.
 */
export async function busyboxArchive(dir: string): Promise<string> {
  const store = ImageStore.open(join(dir, 'store'));
  await importDirectory(store, prepareDefaultImage(), BUSYBOX, { Cmd: ['sh'] });
  const archive = join(dir, 'busybox-oci.tar');
  await saveImages(store, [BUSYBOX], archive);
  return archive;
}
