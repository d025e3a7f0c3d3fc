import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const SEALED = /^v1:([A-Za-z0-9_-]+)$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Agent tokens at rest: AES-256-GCM with a key kept in its own file (mode 0600), apart from
 * the database, so that a copy of the database (a backup, a stolen file) is not root on
 * every agent. Each token is bound to its agent's URL: one cannot be moved to another row.
 */
export class TokenCipher {
  private constructor(private readonly key: Buffer) {}

  /** The key in `file`, made on first use; a key file others may read is refused. */
  static open(file: string): TokenCipher {
    try {
      const { mode } = statSync(file);
      if ((mode & 0o077) !== 0)
        throw new Error(
          `key file ${file} may be read by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
        );
      const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
      if (key.length !== 32) throw new Error(`key file ${file} does not hold a 256-bit key`);
      return new TokenCipher(key);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return new TokenCipher(key);
  }

  static isSealed(stored: string): boolean {
    return SEALED.test(stored);
  }

  seal(token: string, url: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(url));
    const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url')}`;
  }

  unseal(stored: string, url: string): string {
    const bytes = Buffer.from(SEALED.exec(stored)?.[1] ?? '', 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES))
        .setAAD(Buffer.from(url))
        .setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new Error(
        `the token of the agent at ${url} cannot be decrypted: the database and the key file do not belong together`,
      );
    }
  }
}
