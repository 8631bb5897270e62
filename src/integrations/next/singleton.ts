/**
 * One vector store (and the Prisma Client and `pg.Pool` under it) per server process, also across Next.js's
 * hot reloads in development — Prisma's own Next.js recipe, as a helper the app calls explicitly. The app
 * creates its client and pool in the factory; this module only remembers what the factory returned.
 */

import {
  createVectorStore,
  type StorePool,
  type VectorStore,
  type VectorStoreClient,
  type VectorStoreConfig,
} from '../../index.js';

type VectorType = 'vector' | 'halfvec' | 'sparsevec' | 'bit';

// Production keeps singletons here; development on globalThis, which survives the re-evaluation of modules
// that a hot reload does (a new module scope would open a new pool on every edit).
const productionSingletons = new Map<string, unknown>();

function slotName(key: string): string {
  return `__prismaPgvector:${key}`;
}

function inDevelopment(): boolean {
  return process.env.NODE_ENV !== 'production';
}

/**
 * Returns a getter of the one value `create()` makes under `key`: made on the first call (never at import,
 * so `next build` opens no connection), kept on `globalThis` in development (hot reloads find it again)
 * and in this module in production. For the app's Prisma Client, or anything else that owns a pool.
 * A changed factory takes effect after a restart of `next dev`.
 *
 * ### Examples
 * ```ts
 * export const getPrisma = singleton('prisma', () => new PrismaClient({ adapter: new PrismaPg(pool) }));
 * ```
 */
export function singleton<V>(key: string, create: () => V): () => V {
  if (typeof key !== 'string' || key === '')
    throw new TypeError('singleton(key, create): key must be a string');
  return () => {
    const scope = globalThis as Record<string, unknown>;
    const slot = slotName(key);
    if (inDevelopment()) {
      if (!(slot in scope)) scope[slot] = create();
      return scope[slot] as V;
    }
    if (!productionSingletons.has(key)) productionSingletons.set(key, create());
    return productionSingletons.get(key) as V;
  };
}

/** What the factory of {@link vectorStoreSingleton} returns: the app's client, its pool, the store's settings. */
export interface NextVectorStoreParts<T extends VectorType = 'vector'> {
  /** The app's Prisma Client (`new PrismaClient({ adapter: new PrismaPg(pool) })`). */
  readonly client: VectorStoreClient;
  /** The `pg.Pool` behind the adapter: COPY loads and direct searches (see `VectorStoreConfig.pool`). */
  readonly pool?: StorePool;
  /** The store's configuration (table, dimensions, metric, embedder, …) without `pool`. */
  readonly config?: Omit<VectorStoreConfig<T>, 'pool'>;
}

/**
 * A getter of the app's vector store, made once per process by {@link singleton} (default key
 * `vector-store`): hot reloads in `next dev` reuse the store, its client and its pool. The factory runs
 * on the first request, not at import.
 *
 * ### Examples
 * ```ts
 * // lib/vector-store.ts
 * export const getStore = vectorStoreSingleton<Meta>(() => {
 *   const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 *   return { client: new PrismaClient({ adapter: new PrismaPg(pool) }), pool };
 * });
 * ```
 */
export function vectorStoreSingleton<
  M extends object = Record<string, unknown>,
  T extends VectorType = 'vector',
>(create: () => NextVectorStoreParts<T>, options: { readonly key?: string } = {}): () => VectorStore<M, T> {
  return singleton(options.key ?? 'vector-store', () => {
    const { client, pool, config } = create();
    return createVectorStore<M, T>(client, { ...config, ...(pool ? { pool } : {}) } as VectorStoreConfig<T>);
  });
}
