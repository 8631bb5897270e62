/**
 * HNSW build time and size on a loaded table: the session's default `maintenance_work_mem` against a larger
 * one (`SET LOCAL` in the build's transaction, so nothing leaks into the shared session), interleaved.
 * The build is the migration's index (cosine, m = 16, ef_construction = 64). The last build is kept.
 */

import type pg from 'pg';
import { hnswIndexSql } from './engine.js';
import { interleave, now, type Summary, summarize } from './stats.js';

export const LARGE_MAINTENANCE_WORK_MEM = '1GB';

export interface IndexBuildResult {
  readonly dims: number;
  readonly rows: number;
  readonly rounds: number;
  readonly defaultMaintenanceWorkMem: string;
  readonly largeMaintenanceWorkMem: string;
  readonly buildSeconds: { readonly default: Summary; readonly large: Summary };
  /** default build time ÷ large build time (> 1: the larger setting is faster). */
  readonly speedup: number;
  readonly indexBytes: { readonly default: number; readonly large: number };
  readonly notices: { readonly default: string[]; readonly large: string[] };
  readonly parallelWorkers: string;
}

/** Runs the build comparison; leaves the index in place. */
export async function benchIndexBuild(opts: {
  readonly client: pg.Client;
  readonly table: string;
  readonly dims: number;
  readonly rows: number;
  readonly rounds: number;
  readonly embedded: boolean;
  readonly log: (line: string) => void;
}): Promise<IndexBuildResult> {
  const { client, table, dims, rounds, log } = opts;
  const index = `${table}_embedding_hnsw_idx`;
  const { rows: shown } = await client.query<{ m: string; w: string }>(
    `SELECT current_setting('maintenance_work_mem') AS m, current_setting('max_parallel_maintenance_workers') AS w`,
  );
  const bytes = { default: 0, large: 0 };
  const notices = { default: [] as string[], large: [] as string[] };
  let current: 'default' | 'large' = 'default';
  const onNotice = (n: { message?: string }) => {
    const list = notices[current];
    if (n.message !== undefined && !n.message.endsWith('skipping') && !list.includes(n.message))
      list.push(n.message);
  };
  client.on('notice', onNotice);
  const seconds = await interleave(rounds, ['default', 'large'] as const, async (which, round) => {
    current = which;
    await client.query(`DROP INDEX IF EXISTS "${index}"`);
    const start = now();
    await client.query('BEGIN');
    if (which === 'large')
      await client.query(`SET LOCAL maintenance_work_mem = '${LARGE_MAINTENANCE_WORK_MEM}'`);
    await client.query(hnswIndexSql(table));
    await client.query('COMMIT');
    const s = (now() - start) / 1000;
    const { rows } = await client.query<{ b: string }>(`SELECT pg_relation_size('"${index}"') AS b`);
    bytes[which] = Number(rows[0]?.b);
    log(
      `    ${dims}d round ${round + 1} build (${which} maintenance_work_mem): ${s.toFixed(1)} s, ${(bytes[which] / 2 ** 20).toFixed(1)} MiB`,
    );
    return s;
  });
  client.off('notice', onNotice);
  const d = summarize(seconds.default);
  const l = summarize(seconds.large);
  return {
    dims,
    rows: opts.rows,
    rounds,
    defaultMaintenanceWorkMem: shown[0]!.m,
    largeMaintenanceWorkMem: LARGE_MAINTENANCE_WORK_MEM,
    buildSeconds: { default: d, large: l },
    speedup: d.median / l.median,
    indexBytes: bytes,
    notices,
    parallelWorkers: opts.embedded
      ? `max_parallel_maintenance_workers = ${shown[0]!.w}, but PGlite is a single process: no parallel workers, builds are single-threaded`
      : `max_parallel_maintenance_workers = ${shown[0]!.w} (session default, unchanged)`,
  };
}
