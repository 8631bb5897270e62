/**
 * The vector store as a Prisma Client extension: `prisma.$extends(vectorStoreExtension(config))` adds
 * `$vectorStore()`, which returns the store bound to the client it is called on — the root client, or the
 * transaction client inside `$transaction`.
 */

import { Prisma, type PrismaClientExtends } from '@prisma/client/extension';
import type { InternalArgs } from '@prisma/client/runtime/client';
import type { VectorType } from '../core/metric.js';
import { resolveStoreConfig, type VectorStoreConfig } from './config.js';
import { createVectorStore, type VectorStore, type VectorStoreClient } from './vector-store.js';

type None = Record<never, never>;

/** What {@link vectorStoreExtension} returns: an argument for `prisma.$extends`. */
export type VectorStoreExtension<M extends object, T extends VectorType> = (
  client: unknown,
) => PrismaClientExtends<InternalArgs<None, None, None, { $vectorStore(): VectorStore<M, T> }>>;

/**
 * A Prisma Client extension exposing the vector store as `$vectorStore()`. The configuration is validated
 * here, once (`INVALID_CONFIG`); the pgvector version is detected once per extended client.
 *
 * ### Examples
 * ```ts
 * const prisma = new PrismaClient({ adapter }).$extends(
 *   vectorStoreExtension<{ type: 'article' | 'note' }>({ dimensions: 1536 }),
 * );
 * await prisma.$vectorStore().addText('HNSW needs ef_search tuning', { type: 'note' });
 * await prisma.$transaction(async (tx) => {
 *   await tx.$vectorStore().deleteWhere({ type: 'note' }); // in this transaction
 * });
 * ```
 *
 * The SQL is that of {@link createVectorStore}.
 */
export function vectorStoreExtension<
  M extends object = Record<string, unknown>,
  T extends VectorType = 'vector',
>(config: VectorStoreConfig<T> = {}): VectorStoreExtension<M, T> {
  resolveStoreConfig(config);
  let root: VectorStore<M, T> | undefined;
  return Prisma.defineExtension({
    name: 'prisma-pgvector',
    client: {
      /** The vector store on this client (root or transaction). */
      $vectorStore(): VectorStore<M, T> {
        const client = Prisma.getExtensionContext(this) as unknown as VectorStoreClient;
        root ??= createVectorStore<M, T>(client, config);
        return root.withClient(client);
      },
    },
  });
}
