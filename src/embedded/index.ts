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
 *
 * PGlite (`@electric-sql/pglite`, `-pgvector`, `-socket`) and `pglite-prisma-adapter` are optional peer
 * dependencies: importing this door loads none of them; each function loads what it needs when called and
 * throws `PgVectorError` `MISSING_DEPENDENCY` (naming the packages and versions to install) when one is missing.
 */
import { EMBEDDED_PACKAGES, loadOptional } from '../core/optional-dependency.js';
import type { EmbeddedDatabase, EmbeddedDatabaseOptions } from './pglite.js';
import type { EmbeddedPrismaClient, PrismaClientConstructor } from './prisma-client.js';
import type { EmbeddedServer, EmbeddedServerOptions } from './server.js';

export { DEFAULT_DATA_DIR, PGLITE_POSTGRES_MAJOR } from './data-dir.js';
export type { EmbeddedDatabase, EmbeddedDatabaseOptions } from './pglite.js';
export type { EmbeddedPrismaClient, PrismaClientConstructor } from './prisma-client.js';
export type {
  EmbeddedServer,
  EmbeddedServerEvent,
  EmbeddedServerOptions,
  WatchdogOptions,
} from './server.js';
export { DEFAULT_EMBEDDED_PORT, DEFAULT_MAX_CONNECTIONS } from './server-defaults.js';
export { COPY_BUFFER_LIMIT_BYTES } from './wire-guard.js';

/**
 * Opens PostgreSQL 18 + pgvector in this process (PGlite); see `openEmbeddedDatabase` in ./pglite.ts.
 *
 * ### Examples
 * ```ts
 * const database = await openEmbeddedDatabase({ dataDir: '.data/pglite' });
 * await database.pglite.query('CREATE EXTENSION IF NOT EXISTS vector');
 * await database.close();
 * ```
 */
export async function openEmbeddedDatabase(options?: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const pglite = await loadOptional(EMBEDDED_PACKAGES, 'openEmbeddedDatabase', () => import('./pglite.js'));
  return pglite.openEmbeddedDatabase(options);
}

/**
 * Serves the embedded database over the PostgreSQL wire protocol; see `startEmbeddedServer` in ./server.ts.
 *
 * ### Examples
 * ```ts
 * const server = await startEmbeddedServer({ port: 0, memory: true });
 * process.env.DATABASE_URL = server.url;
 * ```
 */
export async function startEmbeddedServer(options?: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const server = await loadOptional(EMBEDDED_PACKAGES, 'startEmbeddedServer', () => import('./server.js'));
  return server.startEmbeddedServer(options);
}

/**
 * A Prisma Client on an in-process embedded database; see `createEmbeddedPrismaClient` in
 * ./prisma-client.ts (it loads `pglite-prisma-adapter`).
 *
 * ### Examples
 * ```ts
 * const { prisma, close } = await createEmbeddedPrismaClient(PrismaClient, { memory: true });
 * ```
 */
export async function createEmbeddedPrismaClient<C extends { $disconnect(): Promise<void> }>(
  PrismaClient: PrismaClientConstructor<C>,
  options?: EmbeddedDatabaseOptions,
): Promise<EmbeddedPrismaClient<C>> {
  const client = await loadOptional(
    EMBEDDED_PACKAGES,
    'createEmbeddedPrismaClient',
    () => import('./prisma-client.js'),
  );
  return client.createEmbeddedPrismaClient(PrismaClient, options);
}
