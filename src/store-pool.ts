/**
 * The store's direct path to the application's `pg.Pool` (the one given to `@prisma/adapter-pg`): binary
 * COPY for bulk loads (`store-copy.ts`) and, unless `searchVia: 'prisma'`, searches — the same SQL and
 * parameters the store would hand to `$queryRaw`, without Prisma's raw-query layer in between.
 */

import type { Sql } from '@prisma/client/runtime/client';

/**
 * The part of a `pg.Pool` the store uses: pass the pool your `PrismaPg` adapter was built with, so that the
 * store shares its connections and settings.
 *
 * ### Examples
 * ```ts
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
 * const store = createVectorStore(prisma, { pool });
 * ```
 */
export interface StorePool {
  connect(): Promise<StorePoolClient>;
  query(config: PoolQuery): Promise<{ rows: unknown[] }>;
}

/** The part of a `pg.PoolClient` the store uses. */
export interface StorePoolClient {
  query(text: string): Promise<unknown>;
  query(config: PoolQuery): Promise<{ rows: unknown[] }>;
  query<S extends { submit(connection: never): void }>(stream: S): S;
  release(destroy?: boolean | Error): void;
}

/** A query as `pg` takes it, with the store's type parsers. */
export interface PoolQuery {
  readonly text: string;
  readonly values: unknown[];
  readonly types: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
}

const TIMESTAMP_OID = 1114;
const NAIVE_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/;

/**
 * `pg`'s type parsers, except `timestamp` (without time zone): read as UTC, as Prisma reads its `DateTime`
 * columns (`pg` would read it in the process's local time zone).
 */
export function poolTypes(defaults: PoolQuery['types']): PoolQuery['types'] {
  return {
    getTypeParser(oid, format) {
      const parse = defaults.getTypeParser(oid, format);
      if (oid !== TIMESTAMP_OID || format === 'binary') return parse;
      return (value: string) =>
        NAIVE_TIMESTAMP.test(value) ? new Date(`${value.replace(' ', 'T')}Z`) : parse(value);
    },
  };
}

/**
 * A Prisma `Sql` as a `pg` query: the same text and values, with Dates sent as UTC ISO strings (a
 * `timestamp` column keeps the UTC wall time, as Prisma writes it; `pg` would send local time).
 */
export function toPoolQuery(statement: Sql, types: PoolQuery['types']): PoolQuery {
  return {
    text: statement.text,
    values: statement.values.map((v) => (v instanceof Date ? v.toISOString() : v)),
    types,
  };
}

/**
 * Runs `work` in one transaction on a connection of `pool`: `BEGIN`, then `COMMIT` — or `ROLLBACK` when
 * `work` throws or `commit(result)` says no. The connection goes back to the pool, or is destroyed when
 * even the rollback failed (the server then rolls back as the connection closes).
 */
export async function inPoolTransaction<R>(
  pool: StorePool,
  work: (client: StorePoolClient) => Promise<R>,
  commit: (result: R) => boolean = () => true,
): Promise<R> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query(commit(result) ? 'COMMIT' : 'ROLLBACK');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    }
  } finally {
    client.release(broken ?? false);
  }
}

/**
 * Runs `statements` in one transaction on a connection of `pool` and returns the last one's rows: how a
 * search with its `set_config(…, true)` settings runs on the pool.
 */
export function poolTransaction(pool: StorePool, statements: readonly PoolQuery[]): Promise<unknown[]> {
  return inPoolTransaction(pool, async (client) => {
    let rows: unknown[] = [];
    for (const statement of statements) rows = (await client.query(statement)).rows;
    return rows;
  });
}
