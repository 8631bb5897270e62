import { defineConfig } from 'prisma/config';
import { useOfflineSchemaEngine } from './engine/setup.mjs';

// Where Prisma's native schema engine cannot be downloaded (offline machines, CI here), point the CLI at the
// bridge to Prisma's own WASM schema engine. Does nothing when PRISMA_SCHEMA_ENGINE_BINARY is already set or
// when a native engine is installed. See README "Offline schema engine".
useOfflineSchemaEngine();

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres',
    ...(process.env.SHADOW_DATABASE_URL ? { shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL } : {}),
  },
});
