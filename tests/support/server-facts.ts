import pg from 'pg';
import { pgvectorAtLeast } from '../../src/store/search-settings.js';

/**
 * What the server a test runs on is, read from that server: tests derive versions, plans and settings they
 * expect from these facts, never from the embedded engine's (PostgreSQL 18.6, pgvector 0.8.7).
 */
export interface ServerFacts {
  /** `server_version_num`, e.g. 170012. */
  readonly versionNum: number;
  /** The major version, e.g. 17. */
  readonly major: number;
  /** pgvector installed in this database (`extversion`), else undefined. */
  readonly pgvector: string | undefined;
  /** pgvector the server offers (`default_version` of `pg_available_extensions`), else undefined. */
  readonly pgvectorAvailable: string | undefined;
  /** Iterative index scans (`hnsw.iterative_scan`, `ivfflat.iterative_scan`): pgvector ≥ 0.8.0. */
  readonly iterativeScan: boolean;
}

/**
 * Reads {@link ServerFacts} through `client` (a `pg` client, pool or URL).
 *
 * ### Examples
 * ```ts
 * const facts = await readServerFacts(db.url);
 * expect(report.summary.pgvectorVersion).toBe(facts.pgvector);
 * ```
 */
export async function readServerFacts(client: pg.ClientBase | pg.Pool | string): Promise<ServerFacts> {
  if (typeof client === 'string') {
    const c = new pg.Client({ connectionString: client });
    await c.connect();
    try {
      return await readServerFacts(c);
    } finally {
      await c.end();
    }
  }
  const { rows } = await client.query<{ num: number; installed: string | null; available: string | null }>(
    `SELECT current_setting('server_version_num')::int AS num,
            (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
            (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available`,
  );
  const row = rows[0];
  if (row === undefined) throw new Error('readServerFacts: no row');
  const pgvector = row.installed ?? undefined;
  const version = pgvector ?? row.available ?? undefined;
  return {
    versionNum: row.num,
    major: Math.floor(row.num / 10_000),
    pgvector,
    pgvectorAvailable: row.available ?? undefined,
    iterativeScan: version !== undefined && pgvectorAtLeast(version, '0.8.0'),
  };
}
