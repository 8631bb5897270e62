/**
 * Check `stale-stats`: tables with embeddings were vacuumed and analyzed after bulk changes
 * (`pg_stat_user_tables`). Thresholds are autovacuum's defaults, so a warning means autovacuum has not caught
 * up (or is off): analyze when more than 50 + 10% of the rows changed since the last ANALYZE, vacuum when
 * more than 50 + 20% of the rows are dead.
 */

import type { DoctorCheck, DoctorFinding } from './types.js';
import { embeddingColumns, finding } from './util.js';

/** Rows changed since the last ANALYZE that make statistics stale: autovacuum's analyze threshold. */
export const ANALYZE_THRESHOLD = { base: 50, scaleFactor: 0.1 } as const;
/** Dead rows that call for a VACUUM: autovacuum's vacuum threshold. */
export const VACUUM_THRESHOLD = { base: 50, scaleFactor: 0.2 } as const;

/** A table's activity counters from `pg_stat_user_tables`. */
export interface TableStats {
  readonly liveRows: number;
  readonly deadRows: number;
  readonly modifiedSinceAnalyze: number;
  /** Last ANALYZE or autoanalyze, if any. */
  readonly lastAnalyzed: Date | null;
}

/**
 * The rule without a database: `fail` when rows exist but the table was never analyzed; `warn` when the
 * changes since the last ANALYZE or the dead rows exceed autovacuum's thresholds; else `pass`.
 *
 * ### Examples
 * ```ts
 * assessTableStats({ liveRows: 500, deadRows: 0, modifiedSinceAnalyze: 500, lastAnalyzed: null });
 * // { status: 'fail', problems: ['never analyzed while it has 500 rows'] }
 * ```
 */
export function assessTableStats(stats: TableStats): {
  status: 'pass' | 'warn' | 'fail';
  problems: string[];
} {
  const problems: string[] = [];
  let status: 'pass' | 'warn' | 'fail' = 'pass';
  if (stats.lastAnalyzed === null && stats.liveRows + stats.modifiedSinceAnalyze > 0) {
    problems.push(`never analyzed while it has ${Math.max(stats.liveRows, stats.modifiedSinceAnalyze)} rows`);
    status = 'fail';
  } else if (
    stats.modifiedSinceAnalyze >
    ANALYZE_THRESHOLD.base + ANALYZE_THRESHOLD.scaleFactor * stats.liveRows
  ) {
    problems.push(
      `${stats.modifiedSinceAnalyze} rows changed since the last ANALYZE (${stats.liveRows} live)`,
    );
    status = 'warn';
  }
  if (stats.deadRows > VACUUM_THRESHOLD.base + VACUUM_THRESHOLD.scaleFactor * stats.liveRows) {
    problems.push(`${stats.deadRows} dead rows (${stats.liveRows} live)`);
    if (status === 'pass') status = 'warn';
  }
  return { status, problems };
}

/** The `stale-stats` check. */
export const staleStatsCheck: DoctorCheck = {
  id: 'stale-stats',
  title: 'VACUUM ANALYZE after bulk changes',
  async run(context) {
    const tables = [...new Set(embeddingColumns(context).map((c) => c.table))];
    if (tables.length === 0) return { findings: [], passMessage: 'no tables with embeddings in scope' };
    // Statistics of this session's own work reach the views at the next flush; make it the next statement
    // (PostgreSQL 15+). It matters on the embedded database, where every connection shares one session.
    if (context.serverVersionNum >= 150_000) await context.client.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await context.client.query<{
      oid: string;
      live: string;
      dead: string;
      modified: string;
      analyzed: Date | null;
    }>(
      `SELECT relid::text AS "oid", n_live_tup AS "live", n_dead_tup AS "dead",
         n_mod_since_analyze AS "modified", greatest(last_analyze, last_autoanalyze) AS "analyzed"
       FROM pg_stat_user_tables WHERE relid = ANY ($1::oid[])`,
      [tables.map((t) => t.oid)],
    );
    const findings: DoctorFinding[] = [];
    for (const table of tables) {
      const row = rows.find((r) => r.oid === table.oid);
      if (row === undefined) continue;
      const stats: TableStats = {
        liveRows: Number(row.live),
        deadRows: Number(row.dead),
        modifiedSinceAnalyze: Number(row.modified),
        lastAnalyzed: row.analyzed,
      };
      const verdict = assessTableStats(stats);
      if (verdict.status === 'pass') {
        findings.push(
          finding(
            'pass',
            table.label,
            `${stats.liveRows} live rows, ${stats.deadRows} dead, ${stats.modifiedSinceAnalyze} changed since the last ANALYZE`,
          ),
        );
        continue;
      }
      findings.push(
        finding(
          verdict.status,
          table.label,
          `${table.label}: ${verdict.problems.join('; ')}: no VACUUM ANALYZE after bulk changes, so the planner works from stale statistics (wrong plans for filtered searches) and dead rows bloat the vector indexes`,
          `VACUUM (ANALYZE) ${table.sql};`,
        ),
      );
    }
    return { findings, passMessage: 'statistics are fresh' };
  },
};
