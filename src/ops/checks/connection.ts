/**
 * How the doctor and the tuner reach a database: a `pg` client the caller owns, or a URL they connect to (and
 * disconnect from) themselves. Plain `pg`, not Prisma, so that they run against any PostgreSQL.
 */

import pg from 'pg';
import { quoteIdentifier } from '../../indexes/index-spec.js';

/** A connected `pg` client (`pg.Client` or a `pg.PoolClient`), not inside a transaction. */
export type DatabaseClient = pg.ClientBase;

/** A connected client, or a PostgreSQL URL (Prisma's `?schema=` is honoured as the search_path). */
export type DatabaseTarget = DatabaseClient | string;

/**
 * The startup option (`pg`'s `options`) that sets `search_path` to `schema`, then `public`. The server splits
 * startup options on whitespace, and a backslash escapes the next character: both are escaped here, so a
 * schema named `my schema` or `a\b` arrives whole (unescaped, the connection fails or another schema is used).
 *
 * ### Examples
 * ```ts
 * searchPathOption('my schema'); // '-c search_path="my\\ schema",public'
 * ```
 */
export function searchPathOption(schema: string): string {
  const value = `${quoteIdentifier(schema, 'schema name')},public`;
  return `-c search_path=${value.replace(/[\s\\]/g, (c) => `\\${c}`)}`;
}

/**
 * The `pg` configuration for a URL: Prisma's `?schema=name` parameter (which `pg` does not know) becomes
 * `search_path=name, public` ({@link searchPathOption}).
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
  return { connectionString: u.toString(), options: searchPathOption(schema) };
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
