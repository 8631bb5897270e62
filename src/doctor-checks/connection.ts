/**
 * How the doctor and the tuner reach a database: a `pg` client the caller owns, or a URL they connect to (and
 * disconnect from) themselves. Plain `pg`, not Prisma, so that they run against any PostgreSQL.
 */

import pg from 'pg';

/** A connected `pg` client (`pg.Client` or a `pg.PoolClient`), not inside a transaction. */
export type DatabaseClient = pg.ClientBase;

/** A connected client, or a PostgreSQL URL (Prisma's `?schema=` is honoured as the search_path). */
export type DatabaseTarget = DatabaseClient | string;

/**
 * The `pg` configuration for a URL: Prisma's `?schema=name` parameter (which `pg` does not know) becomes
 * `search_path=name, public`.
 *
 * ### Examples
 * ```ts
 * pgConfigForUrl('postgresql://u:p@h/db?schema=app');
 * // { connectionString: 'postgresql://u:p@h/db', options: '-c search_path="app",public' }
 * ```
 */
export function pgConfigForUrl(url: string): pg.ClientConfig {
  const u = new URL(url);
  const schema = u.searchParams.get('schema');
  if (schema === null) return { connectionString: url };
  u.searchParams.delete('schema');
  return {
    connectionString: u.toString(),
    options: `-c search_path="${schema.replaceAll('"', '""')}",public`,
  };
}

/**
 * Runs `work` with a client: the given one (left connected), or a new one on the URL (closed afterwards).
 *
 * ### Examples
 * ```ts
 * const version = await withClient(process.env.DATABASE_URL!, (c) => c.query('SHOW server_version'));
 * ```
 */
export async function withClient<T>(
  target: DatabaseTarget,
  work: (client: DatabaseClient) => Promise<T>,
): Promise<T> {
  if (typeof target !== 'string') return work(target);
  const client = new pg.Client(pgConfigForUrl(target));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
