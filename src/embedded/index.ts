/**
 * The embedded PostgreSQL 18 + pgvector (PGlite, in WASM) for development, tests, CI and demos: in process
 * ({@link openEmbeddedDatabase}, {@link createEmbeddedPrismaClient}) or over the wire protocol
 * ({@link startEmbeddedServer}, `prisma-pgvector db`). See docs/EMBEDDED.md.
 *
 * ### Examples
 * ```ts
 * import { startEmbeddedServer } from 'prisma-pgvector/embedded';
 *
 * const server = await startEmbeddedServer({ port: 0, memory: true });
 * process.env.DATABASE_URL = server.url;
 * ```
 */
export { DEFAULT_DATA_DIR, PGLITE_POSTGRES_MAJOR } from './data-dir.js';
export { type EmbeddedDatabase, type EmbeddedDatabaseOptions, openEmbeddedDatabase } from './pglite.js';
export {
  createEmbeddedPrismaClient,
  type EmbeddedPrismaClient,
  type PrismaClientConstructor,
} from './prisma-client.js';
export {
  DEFAULT_EMBEDDED_PORT,
  DEFAULT_MAX_CONNECTIONS,
  type EmbeddedServer,
  type EmbeddedServerEvent,
  type EmbeddedServerOptions,
  startEmbeddedServer,
  type WatchdogOptions,
} from './server.js';
export { COPY_BUFFER_LIMIT_BYTES } from './wire-guard.js';
