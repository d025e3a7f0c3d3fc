import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { defineConfig } from 'prisma/config';

// The CLI is used only to generate the client and to write migrations (prisma migrate
// diff --from-empty / --from-schema-datamodel); the dashboard applies them itself
// (apps/web/src/server/migrate.ts). The JS engine with an adapter needs no engine
// download; the CLI insists on an adapter, so it gets a scratch database.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () =>
    new PrismaBetterSQLite3({ url: `file:${join(tmpdir(), 'tocker-prisma-cli.db')}` }),
});
