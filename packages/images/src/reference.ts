import { TockerError } from '@tocker/runtime';

/**
 * An image reference as users write it (`busybox`, `library/alpine:3.20`,
 * `localhost:5000/team/app@sha256:…`), parsed and completed the way docker does: Docker
 * Hub is the registry when none is named, its one-word repositories live under
 * `library/`, and the tag is `latest` unless a tag or a digest is given.
 */
export interface ImageReference {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string | null;
  readonly digest: string | null;
}

export const DEFAULT_REGISTRY = 'docker.io';
const DEFAULT_TAG = 'latest';

// The grammar of the distribution project's reference package.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const REGISTRY =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

export function parseReference(text: string): ImageReference {
  const invalid = (why: string) =>
    new TockerError(`image reference ${JSON.stringify(text)}: ${why}`);
  if (text === '' || text.length > 512) throw invalid('must be 1 to 512 characters');
  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid('the digest must be sha256: and 64 hex digits');
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid('a tag is letters, digits, _ . - (at most 128)');
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  const namesRegistry =
    parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = namesRegistry ? first : DEFAULT_REGISTRY;
  if (namesRegistry && !REGISTRY.test(registry)) throw invalid(`${registry} is not a registry`);
  const path = namesRegistry ? parts.slice(1) : parts;
  if (path.length === 0 || !path.every((part) => PATH_COMPONENT.test(part)))
    throw invalid('a repository is lowercase letters, digits and separators (. _ __ -) between /');
  const repository =
    registry === DEFAULT_REGISTRY && path.length === 1 ? `library/${path[0]}` : path.join('/');
  return { registry, repository, tag: tag ?? (digest === null ? DEFAULT_TAG : null), digest };
}

/** The name an image is stored under: `docker.io/library/busybox:latest`. */
export function canonicalName(reference: ImageReference): string {
  const name = `${reference.registry}/${reference.repository}`;
  return reference.digest !== null
    ? `${name}@${reference.digest}`
    : `${name}:${reference.tag ?? DEFAULT_TAG}`;
}

/** The stored name `text` would be, or null for text that is no image reference. */
export function canonicalNameOrNull(text: string): string | null {
  try {
    return canonicalName(parseReference(text));
  } catch {
    return null;
  }
}

/** The name as people say it: `busybox:latest`, `localhost:5000/team/app:1.0`. */
export function familiarName(name: string): string {
  const prefix = `${DEFAULT_REGISTRY}/`;
  if (!name.startsWith(prefix)) return name;
  const rest = name.slice(prefix.length);
  return rest.startsWith('library/') && !rest.slice('library/'.length).includes('/')
    ? rest.slice('library/'.length)
    : rest;
}
