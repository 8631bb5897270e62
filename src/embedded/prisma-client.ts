import type { PrismaPGlite } from 'pglite-prisma-adapter';
import { loadOptional } from '../core/optional-dependency.js';
import { type EmbeddedDatabase, type EmbeddedDatabaseOptions, openEmbeddedDatabase } from './pglite.js';

/**
 * A generated `PrismaClient` class, or any class built the same way: constructed with a driver adapter
 * factory, disconnected with `$disconnect()`. Keeps this library free of any generated client.
 */
export type PrismaClientConstructor<C extends { $disconnect(): Promise<void> }> = new (options: {
  adapter: PrismaPGlite;
}) => C;

/** A Prisma Client running on an in-process embedded database. */
export interface EmbeddedPrismaClient<C> {
  /** The Prisma Client, connected to {@link EmbeddedPrismaClient.database} through `pglite-prisma-adapter`. */
  readonly prisma: C;
  readonly database: EmbeddedDatabase;
  /** Disconnects the client, then closes the database (flushed, lock released). Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates a Prisma Client on an embedded PGlite database in this process: no server, no URL. The database
 * is opened as by {@link openEmbeddedDatabase} (same options, same locking) and not migrated: apply the
 * migrations first, for example with `prisma migrate deploy` against `prisma-pgvector db`.
 *
 * The adapter's `executeScript` does not wait for the script to finish; do not rely on it (Prisma Client
 * itself does not use it).
 *
 * ### Examples
 * ```ts
 * import { PrismaClient } from './generated/prisma/client.js';
 *
 * const { prisma, close } = await createEmbeddedPrismaClient(PrismaClient, { dataDir: '.data/pglite' });
 * try {
 *   const rows = await prisma.$queryRaw<{ one: number }[]>`SELECT 1 AS one`;
 * } finally {
 *   await close();
 * }
 * ```
 */
export async function createEmbeddedPrismaClient<C extends { $disconnect(): Promise<void> }>(
  PrismaClient: PrismaClientConstructor<C>,
  options: EmbeddedDatabaseOptions = {},
): Promise<EmbeddedPrismaClient<C>> {
  // The adapter is an optional peer dependency, loaded when a client is made rather than with the door.
  const { PrismaPGlite } = await loadOptional(
    ['pglite-prisma-adapter'],
    'createEmbeddedPrismaClient',
    () => import('pglite-prisma-adapter'),
  );
  const database = await openEmbeddedDatabase(options);
  let prisma: C;
  try {
    prisma = new PrismaClient({ adapter: new PrismaPGlite(database.pglite) });
  } catch (error) {
    await database.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    prisma,
    database,
    close() {
      closing ??= (async () => {
        try {
          await prisma.$disconnect();
        } finally {
          await database.close();
        }
      })();
      return closing;
    },
  };
}
