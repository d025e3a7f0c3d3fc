import assert from 'node:assert/strict';
import { chmodSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scratchDir } from '../../../packages/runtime/test/scratch.js';
import { openDatabase } from '../src/server/db.js';
import { AgentRegistry } from '../src/server/registry.js';
import { TokenCipher } from '../src/server/token-cipher.js';

const dir = scratchDir('web-secrets');
chmodSync(dir, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

const modeOf = (file: string) => (statSync(file).mode & 0o777).toString(8);

test('the database and its WAL and SHM files are 0600, even in a world-readable directory and for a file made 0644 before', async () => {
  const file = join(dir, 'perms.db');
  writeFileSync(file, '');
  chmodSync(file, 0o644);
  const prisma = openDatabase(file);
  try {
    await prisma.session.create({ data: { secretHash: 'x', expiresAt: new Date() } });
    for (const suffix of ['', '-wal', '-shm'])
      assert.equal(modeOf(`${file}${suffix}`), '600', suffix);
  } finally {
    await prisma.$disconnect();
  }
});

test('agent tokens are sealed (AES-256-GCM, bound to the URL) with a key file of their own, 0600', () => {
  const keyFile = join(dir, 'keys', 'agent-tokens.key');
  const cipher = TokenCipher.open(keyFile);
  assert.equal(modeOf(keyFile), '600');
  const sealed = cipher.seal('the-agent-token', 'http://127.0.0.1:7070');
  assert.ok(TokenCipher.isSealed(sealed) && !sealed.includes('the-agent-token'));
  assert.notEqual(
    cipher.seal('the-agent-token', 'http://127.0.0.1:7070'),
    sealed,
    'a fresh IV each time',
  );
  assert.equal(
    TokenCipher.open(keyFile).unseal(sealed, 'http://127.0.0.1:7070'),
    'the-agent-token',
  );
  assert.throws(() => cipher.unseal(sealed, 'http://127.0.0.1:7071'), /cannot be decrypted/);
  const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}`;
  assert.throws(() => cipher.unseal(tampered, 'http://127.0.0.1:7070'), /cannot be decrypted/);
  assert.throws(
    () => TokenCipher.open(join(dir, 'other.key')).unseal(sealed, 'http://127.0.0.1:7070'),
    /do not belong together/,
  );
  chmodSync(keyFile, 0o644);
  assert.throws(() => TokenCipher.open(keyFile), /may be read by other users \(mode 644\)/);
});

test('a database from before (tokens in the clear) has them sealed when the registry opens it', async () => {
  const prisma = openDatabase(join(dir, 'old.db'));
  try {
    await prisma.agent.create({
      data: { name: 'old', url: 'http://127.0.0.1:9', token: 'cleartext-token-of-old' },
    });
    const cipher = TokenCipher.open(join(dir, 'old.key'));
    const registry = await AgentRegistry.open(prisma, cipher);
    const [row] = await prisma.agent.findMany();
    assert.ok(row && TokenCipher.isSealed(row.token));
    assert.equal(registry.address(row.id).token, 'cleartext-token-of-old');
    registry.close();
  } finally {
    await prisma.$disconnect();
  }
});
