export {
  importDirectory,
  importTarball,
  type LoadedImage,
  loadImages,
  type RunConfig,
  saveImages,
} from './archive.js';
export { ImageCatalog } from './catalog.js';
export {
  type Credentials,
  credentialsFile,
  removeCredentials,
  storeCredentials,
} from './credentials.js';
export type { ImageConfig, ImageManifest } from './oci.js';
export { PullProgress } from './progress.js';
export {
  canonicalName,
  canonicalNameOrNull,
  familiarName,
  type ImageReference,
  parseReference,
} from './reference.js';
export { type PullEvent, type PullOptions, pullImage } from './registry.js';
export { ImageStore, type StoredImage, type StoredLayer } from './store.js';
