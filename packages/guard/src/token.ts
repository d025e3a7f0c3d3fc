import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AgentToken {
  readonly token: string;
  /** True when this start created it: the only time it is printed. */
  readonly generated: boolean;
}

/**
 * A token given in a file (--token-file): not on a command line, where every user's `ps`
 * would show it. Like ssh with its keys, a file others may read is refused.
 */
export function readToken(file: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(file).mode;
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`token file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if ((mode & 0o077) !== 0)
    throw new Error(
      `token file ${file} may be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  return text.trim();
}

/**
 * The token every request must carry: given (--token-file, TOCKER_TOKEN), or generated once and
 * kept in the agent's state directory, readable by root only.
 */
export function loadToken(given: string | undefined, file: string): AgentToken {
  if (given !== undefined) {
    if (given.length < 16) throw new Error('the agent token must be at least 16 characters');
    return { token: given, generated: false };
  }
  try {
    return { token: readFileSync(file, 'utf8').trim(), generated: false };
  } catch {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const token = newToken();
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, generated: true };
  }
}

/** 43 random base64url characters, never starting with "-" (it would read as a flag). */
function newToken(): string {
  for (;;) {
    const token = randomBytes(32).toString('base64url');
    if (!token.startsWith('-')) return token;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time: the comparison must not tell an attacker how much of a guess was right. */
export function tokenMatches(expected: string, given: unknown): boolean {
  return typeof given === 'string' && timingSafeEqual(digest(expected), digest(given));
}
