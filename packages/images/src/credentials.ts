import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TockerError } from '@tocker/runtime';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string }>;
  [other: string]: unknown;
}

/**
 * Registry credentials, as docker keeps them (`{"auths": {"REGISTRY": {"auth":
 * base64(user:password)}}}`), in TOCKER_CONFIG/config.json (default ~/.tocker), mode 0600
 * in a 0700 directory. Other keys of the file are kept as they are.
 */
export function credentialsFile(): string {
  return join(process.env.TOCKER_CONFIG ?? join(homedir(), '.tocker'), 'config.json');
}

function readConfig(): ConfigFile {
  try {
    return JSON.parse(readFileSync(credentialsFile(), 'utf8')) as ConfigFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TockerError(`${credentialsFile()} is not valid JSON`);
  }
}

function writeConfig(config: ConfigFile): void {
  const file = credentialsFile();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const staging = `${file}.${process.pid}`;
  writeFileSync(staging, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(staging, 0o600);
  renameSync(staging, file);
}

export function credentialsFor(registry: string): Credentials | null {
  const auth = readConfig().auths?.[registry]?.auth;
  if (auth === undefined) return null;
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function storeCredentials(registry: string, credentials: Credentials): void {
  const config = readConfig();
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  writeConfig({ ...config, auths: { ...config.auths, [registry]: { auth } } });
}

/** Forgets a registry's credentials; false when there were none. */
export function removeCredentials(registry: string): boolean {
  const config = readConfig();
  if (config.auths?.[registry] === undefined) return false;
  const { [registry]: _removed, ...auths } = config.auths;
  writeConfig({ ...config, auths });
  return true;
}
