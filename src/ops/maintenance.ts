/**
 * Maintenance of vector tables: `VACUUM (ANALYZE)`, and `REINDEX INDEX CONCURRENTLY` first when deletes and
 * updates have bloated the vector indexes. {@link recommendMaintenance} is the rule (pure, shared with the
 * store's after-bulk-load hook); {@link maintain} measures, applies the rule and reports what it did.
 *
 * The rule, with PostgreSQL's autovacuum defaults as thresholds (`autovacuum_vacuum_scale_factor` 0.2,
 * `autovacuum_analyze_scale_factor` 0.1, both `*_threshold` 50), applied NOW instead of whenever autovacuum
 * gets to it:
 *
 * 1. dead tuples > 50 and > 20 % of live rows (`pg_stat_user_tables.n_dead_tup / n_live_tup`, i.e. since
 *    the last VACUUM) and the table has HNSW/IVFFlat indexes → `REINDEX INDEX CONCURRENTLY` each of them,
 *    then `VACUUM (ANALYZE)`. Why: deleted rows stay in an HNSW graph until VACUUM repairs every neighbour
 *    list that points at them, which is slow for HNSW; pgvector's README: "Vacuuming can take a while for
 *    HNSW indexes. Speed it up by reindexing first." IVFFlat lists keep the dead entries the same way. A
 *    rebuilt index also has no holes, so it is smaller and its recall is that of a fresh build.
 * 2. dead tuples > 50 and > 20 % without vector indexes, or > 50 below 20 % → `VACUUM (ANALYZE)`.
 * 3. rows changed since the last ANALYZE > 50 and > 10 % of live rows, or never analysed → `ANALYZE`
 *    (after a bulk load: the planner's estimates decide between the vector index and a filter-first plan).
 *
 * `pgstattuple` would measure bloat exactly but does not read HNSW/IVFFlat indexes (and is often not
 * installed; PGlite has none), so the rule reads `pg_stat_user_tables`, which every server keeps. Those
 * counters are statistics: another session's changes show up after its stats flush (≤ 1 s idle, PG ≥ 15).
 */

import type pg from 'pg';
import { PgVectorError } from '../core/errors.js';
import { findInvalidIndexes, type InvalidIndex, type PgTarget, withPgClient } from '../indexes/build.js';
import { qualifiedTable, quoteIdentifier } from '../indexes/index-spec.js';

/** A vector index of a table. */
export interface VectorIndexInfo {
  readonly name: string;
  readonly method: 'hnsw' | 'ivfflat';
  readonly sizeBytes: number;
  readonly valid: boolean;
}

/** What {@link recommendMaintenance} reads: `pg_stat_user_tables` plus the table's vector indexes. */
export interface TableStats {
  readonly schema: string;
  readonly table: string;
  /** `n_live_tup`. */
  readonly liveTuples: number;
  /** `n_dead_tup`: dead row versions since the last VACUUM. */
  readonly deadTuples: number;
  /** `n_mod_since_analyze`: rows inserted, updated or deleted since the last ANALYZE. */
  readonly modsSinceAnalyze: number;
  /** Latest of `last_vacuum` / `last_autovacuum`. */
  readonly lastVacuum: Date | null;
  /** Latest of `last_analyze` / `last_autoanalyze`. */
  readonly lastAnalyze: Date | null;
  readonly vectorIndexes: readonly VectorIndexInfo[];
}

export interface MaintenanceThresholds {
  /** Dead / live above which vector indexes are rebuilt before VACUUM. Default 0.2. */
  readonly deadRatio?: number;
  /** Fewest dead tuples that count. Default 50. */
  readonly minDeadTuples?: number;
  /** Changed / live rows above which ANALYZE runs. Default 0.1. */
  readonly analyzeRatio?: number;
  /** Fewest changed rows that count. Default 50. */
  readonly minModsForAnalyze?: number;
}

/** The step to run on a table, the weakest that does the job. */
export type MaintenanceStep = 'none' | 'analyze' | 'vacuum-analyze' | 'reindex-vacuum-analyze';

export interface MaintenanceRecommendation {
  readonly step: MaintenanceStep;
  /** Indexes to `REINDEX INDEX CONCURRENTLY` first (step `reindex-vacuum-analyze`). */
  readonly reindex: readonly string[];
  readonly reasons: readonly string[];
}

/** The defaults of {@link MaintenanceThresholds}: PostgreSQL's autovacuum defaults. */
export const DEFAULT_MAINTENANCE_THRESHOLDS = {
  deadRatio: 0.2,
  minDeadTuples: 50,
  analyzeRatio: 0.1,
  minModsForAnalyze: 50,
} as const satisfies Required<MaintenanceThresholds>;

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

/**
 * The maintenance rule (see the module comment): which step a table needs now, and why. Pure: give it
 * stats from {@link readTableStats}, or counts you track yourself (e.g. after a bulk load: `liveTuples`
 * and `modsSinceAnalyze` = rows just written).
 *
 * ### Examples
 * ```ts
 * recommendMaintenance({ ...stats, liveTuples: 10_000, deadTuples: 3_000 });
 * // { step: 'reindex-vacuum-analyze', reindex: ['documents_embedding_hnsw_idx'], reasons: ['3000 dead tuples = 30% of live rows > 20% …'] }
 * recommendMaintenance({ ...stats, liveTuples: 100_000, modsSinceAnalyze: 100_000 });
 * // { step: 'analyze', … }
 * ```
 */
export function recommendMaintenance(
  stats: TableStats,
  thresholds: MaintenanceThresholds = {},
): MaintenanceRecommendation {
  const t = { ...DEFAULT_MAINTENANCE_THRESHOLDS, ...thresholds };
  const live = Math.max(stats.liveTuples, 0);
  const deadRatio = stats.deadTuples / Math.max(live, 1);
  const usable = stats.vectorIndexes.filter((i) => i.valid);
  if (stats.deadTuples > t.minDeadTuples && deadRatio > t.deadRatio) {
    const head = `${stats.deadTuples} dead tuples = ${pct(deadRatio)} of live rows > ${pct(t.deadRatio)} since the last VACUUM`;
    if (usable.length > 0) {
      return {
        step: 'reindex-vacuum-analyze',
        reindex: usable.map((i) => i.name),
        reasons: [
          `${head}: the vector indexes still hold the deleted/updated rows, and VACUUM repairs an HNSW graph slowly (pgvector's README: reindex first), so REINDEX INDEX CONCURRENTLY ${usable.map((i) => i.name).join(', ')}, then VACUUM (ANALYZE)`,
        ],
      };
    }
    return { step: 'vacuum-analyze', reindex: [], reasons: [`${head}: VACUUM (ANALYZE)`] };
  }
  if (stats.deadTuples > t.minDeadTuples) {
    return {
      step: 'vacuum-analyze',
      reindex: [],
      reasons: [
        `${stats.deadTuples} dead tuples (${pct(deadRatio)} of live rows, under ${pct(t.deadRatio)}: no rebuild needed): VACUUM (ANALYZE)`,
      ],
    };
  }
  const modsRatio = stats.modsSinceAnalyze / Math.max(live, 1);
  if (stats.modsSinceAnalyze > t.minModsForAnalyze && modsRatio > t.analyzeRatio) {
    return {
      step: 'analyze',
      reindex: [],
      reasons: [
        `${stats.modsSinceAnalyze} rows changed since the last ANALYZE (${pct(modsRatio)} of live rows > ${pct(t.analyzeRatio)}): planner estimates are stale`,
      ],
    };
  }
  if (stats.lastAnalyze === null && live > 0) {
    return { step: 'analyze', reindex: [], reasons: ['never analysed: the planner has no statistics'] };
  }
  return {
    step: 'none',
    reindex: [],
    reasons: ['dead tuples and changes since the last ANALYZE are under the thresholds'],
  };
}

interface StatsRow {
  schema: string;
  table: string;
  live: string;
  dead: string;
  mods: string;
  last_vacuum: Date | null;
  last_analyze: Date | null;
}

/**
 * Reads {@link TableStats} for the tables that hold vector data: every table in `schema` (default: the
 * current schema) with a `vector`/`halfvec`/`sparsevec` column or an HNSW/IVFFlat index, or just `table`.
 *
 * ### Examples
 * ```ts
 * const [documents] = await readTableStats(client, { table: 'documents' });
 * ```
 *
 * The SQL it runs (PostgreSQL):
 * ```sql
 * SELECT pg_stat_clear_snapshot()
 * SELECT s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, … FROM pg_stat_user_tables s …
 * SELECT c.relname, am.amname, pg_relation_size(c.oid), i.indisvalid FROM pg_index i … WHERE am.amname IN ('hnsw', 'ivfflat')
 * ```
 */
export async function readTableStats(
  target: PgTarget,
  options: { table?: string | undefined; schema?: string | undefined } = {},
): Promise<TableStats[]> {
  return withPgClient(target, async (client) => {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<StatsRow>(
      `SELECT s.schemaname AS schema, s.relname AS table,
              s.n_live_tup::text AS live, s.n_dead_tup::text AS dead, s.n_mod_since_analyze::text AS mods,
              greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
              greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze
         FROM pg_stat_user_tables s
        WHERE s.schemaname = coalesce($1, current_schema())
          AND ($2::text IS NULL OR s.relname = $2)
          AND ($2::text IS NOT NULL OR EXISTS (
                SELECT 1 FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
                 WHERE a.attrelid = s.relid AND a.attnum > 0 AND NOT a.attisdropped
                   AND ty.typname IN ('vector', 'halfvec', 'sparsevec'))
              OR EXISTS (
                SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
                 WHERE i.indrelid = s.relid AND am.amname IN ('hnsw', 'ivfflat')))
        ORDER BY 1, 2`,
      [options.schema ?? null, options.table ?? null],
    );
    const out: TableStats[] = [];
    for (const row of rows) {
      const { rows: idx } = await client.query<{
        name: string;
        method: 'hnsw' | 'ivfflat';
        size: string;
        valid: boolean;
      }>(
        `SELECT c.relname AS name, am.amname AS method, pg_relation_size(c.oid)::text AS size, i.indisvalid AS valid
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
          WHERE i.indrelid = to_regclass($1) AND am.amname IN ('hnsw', 'ivfflat')
          ORDER BY 1`,
        [qualifiedTable(row.table, row.schema)],
      );
      out.push({
        schema: row.schema,
        table: row.table,
        liveTuples: Number(row.live),
        deadTuples: Number(row.dead),
        modsSinceAnalyze: Number(row.mods),
        lastVacuum: row.last_vacuum,
        lastAnalyze: row.last_analyze,
        vectorIndexes: idx.map((i) => ({
          name: i.name,
          method: i.method,
          sizeBytes: Number(i.size),
          valid: i.valid,
        })),
      });
    }
    return out;
  });
}

/** One statement {@link maintain} ran (or planned, with `dryRun`). */
export interface MaintenanceAction {
  /** `rebuild` / `drop`: an invalid index (`rebuildInvalid`); the others: the table's maintenance. */
  readonly action: 'reindex' | 'vacuum-analyze' | 'analyze' | 'rebuild' | 'drop';
  /** The index (reindex) or the table. */
  readonly target: string;
  readonly sql: string;
  readonly reason: string;
  /** Wall time in ms; 0 when planned only. */
  readonly durationMs: number;
  /** `done`, `planned` (dry run), `failed`, or `skipped` (an index whose concurrent build still runs). */
  readonly status: 'done' | 'planned' | 'failed' | 'skipped';
  readonly error?: string;
  /** Index size before and after a reindex, bytes. */
  readonly sizeBefore?: number;
  readonly sizeAfter?: number;
}

export interface TableMaintenance {
  readonly schema: string;
  readonly table: string;
  readonly stats: TableStats;
  readonly recommendation: MaintenanceRecommendation;
  readonly actions: readonly MaintenanceAction[];
}

export interface MaintenanceReport {
  /** False when an action failed or an invalid index was found. */
  readonly ok: boolean;
  readonly tables: readonly TableMaintenance[];
  /**
   * Invalid indexes (failed concurrent builds) in the schema, with the fix — the ones left after
   * `rebuildInvalid`, if it was asked for; otherwise never touched.
   */
  readonly invalidIndexes: readonly InvalidIndex[];
  /** What `rebuildInvalid` did, per invalid index found (empty when not asked). */
  readonly rebuilt: readonly MaintenanceAction[];
}

export interface MaintainOptions {
  /** One table; default every table with vector data in the schema. */
  readonly table?: string | undefined;
  /** Default the current schema. */
  readonly schema?: string | undefined;
  /**
   * false (default): every table gets at least `VACUUM (ANALYZE)` — you asked for maintenance;
   * true: only what {@link recommendMaintenance} says (possibly nothing) — for automatic hooks.
   */
  readonly onlyWhenNeeded?: boolean | undefined;
  readonly thresholds?: MaintenanceThresholds | undefined;
  /** Plan and report, run nothing. */
  readonly dryRun?: boolean | undefined;
  /**
   * Rebuild the invalid indexes (in the schema, or of `table`) that failed concurrent builds left:
   * `REINDEX INDEX CONCURRENTLY` each (in place, same name and definition, writes go on), or — for the
   * `…_ccnew` / `…_ccold` leftovers of a failed `REINDEX CONCURRENTLY` — `DROP INDEX CONCURRENTLY`, as
   * PostgreSQL's documentation recommends. An index whose concurrent build is still running (it shows as
   * invalid too, in `pg_stat_progress_create_index`) is skipped.
   */
  readonly rebuildInvalid?: boolean | undefined;
}

/**
 * Maintains the vector tables: measures each ({@link readTableStats}), applies
 * {@link recommendMaintenance}, runs the statements outside any transaction (VACUUM and REINDEX
 * CONCURRENTLY cannot run inside one) and reports per table and index what was done, why and how long it
 * took. Invalid indexes are reported with their fix, and rebuilt only with `rebuildInvalid`. Needs a
 * connection that is not inside a transaction; REINDEX CONCURRENTLY needs about the index's size in free
 * disk space while it runs.
 *
 * ### Examples
 * ```ts
 * const report = await maintain(process.env.DATABASE_URL!, { table: 'documents' });
 * for (const t of report.tables) for (const a of t.actions) console.log(a.action, a.target, a.reason, a.durationMs);
 * ```
 *
 * The SQL it runs (PostgreSQL), for a bloated table:
 * ```sql
 * REINDEX INDEX CONCURRENTLY "public"."documents_embedding_hnsw_idx"
 * VACUUM (ANALYZE) "public"."documents"
 * ```
 * with `rebuildInvalid`, per invalid index (a `…_ccnew` leftover: `DROP INDEX CONCURRENTLY IF EXISTS …`):
 * ```sql
 * SELECT index_relid FROM pg_stat_progress_create_index WHERE index_relid <> 0
 * REINDEX INDEX CONCURRENTLY "public"."documents_embedding_hnsw_idx"
 * ```
 */
export async function maintain(target: PgTarget, options: MaintainOptions = {}): Promise<MaintenanceReport> {
  return withPgClient(target, async (client) => {
    const all = await readTableStats(client, { table: options.table, schema: options.schema });
    if (options.table !== undefined && all.length === 0) {
      throw new PgVectorError('INVALID_CONFIG', `table ${options.table} not found in pg_stat_user_tables`, {
        fix: 'check the table name and the schema / search_path',
      });
    }
    const tables: TableMaintenance[] = [];
    let ok = true;
    for (const stats of all) {
      const recommendation = recommendMaintenance(stats, options.thresholds);
      let step = recommendation.step;
      let reasons = recommendation.reasons;
      if (!options.onlyWhenNeeded && (step === 'none' || step === 'analyze')) {
        step = 'vacuum-analyze';
        reasons = [...reasons, 'maintenance requested: VACUUM (ANALYZE) anyway'];
      }
      const table = qualifiedTable(stats.table, stats.schema);
      const actions: MaintenanceAction[] = [];
      const exec = async (
        action: MaintenanceAction['action'],
        name: string,
        sql: string,
        reason: string,
        sizeOf?: () => Promise<number>,
      ) => {
        if (options.dryRun) {
          actions.push({ action, target: name, sql, reason, durationMs: 0, status: 'planned' });
          return;
        }
        const sizeBefore = sizeOf ? await sizeOf() : undefined;
        const started = performance.now();
        try {
          await client.query(sql);
          const durationMs = Math.round(performance.now() - started);
          const sizes = sizeOf ? { sizeBefore, sizeAfter: await sizeOf() } : {};
          actions.push({ action, target: name, sql, reason, durationMs, status: 'done', ...sizes });
        } catch (error) {
          ok = false;
          actions.push({
            action,
            target: name,
            sql,
            reason,
            durationMs: Math.round(performance.now() - started),
            status: 'failed',
            error: error instanceof Error ? error.message : String(error),
          });
        }
      };
      const reason = reasons.join('; ');
      if (step === 'reindex-vacuum-analyze') {
        for (const index of recommendation.reindex) {
          const qualified = `${quoteIdentifier(stats.schema)}.${quoteIdentifier(index)}`;
          await exec('reindex', index, `REINDEX INDEX CONCURRENTLY ${qualified}`, reason, () =>
            indexSize(client, qualified),
          );
        }
      }
      if (step === 'reindex-vacuum-analyze' || step === 'vacuum-analyze') {
        await exec('vacuum-analyze', stats.table, `VACUUM (ANALYZE) ${table}`, reason);
      } else if (step === 'analyze') {
        await exec('analyze', stats.table, `ANALYZE ${table}`, reason);
      }
      tables.push({
        schema: stats.schema,
        table: stats.table,
        stats,
        recommendation: { ...recommendation, step, reasons },
        actions,
      });
    }
    const schema = options.schema ?? all[0]?.schema;
    const inScope = async () =>
      (await findInvalidIndexes(client, { schema })).filter(
        (i) => options.table === undefined || i.table === options.table,
      );
    let invalidIndexes = await inScope();
    const rebuilt: MaintenanceAction[] = [];
    if (options.rebuildInvalid && invalidIndexes.length > 0) {
      const building = await indexesBeingBuilt(client);
      for (const index of invalidIndexes) {
        const action = await rebuildInvalidIndex(client, index, building, options.dryRun === true);
        if (action.status === 'failed') ok = false;
        rebuilt.push(action);
      }
      if (!options.dryRun) invalidIndexes = await inScope();
    }
    if (invalidIndexes.length > 0) ok = false;
    return { ok, tables, invalidIndexes, rebuilt };
  });
}

/** A failed `REINDEX CONCURRENTLY` leaves the new copy (`_ccnew`) or the old index (`_ccold`) behind. */
const REINDEX_LEFTOVER = /_cc(new|old)\d*$/;

/** Oids of the indexes a `CREATE INDEX` / `REINDEX` is building right now. */
async function indexesBeingBuilt(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client.query<{ oid: string }>(
    'SELECT index_relid::text AS oid FROM pg_stat_progress_create_index WHERE index_relid <> 0',
  );
  return new Set(rows.map((r) => r.oid));
}

/**
 * Rebuilds one invalid index, or drops a REINDEX leftover, outside any transaction; never throws: the
 * action says what happened.
 */
async function rebuildInvalidIndex(
  client: pg.Client,
  index: InvalidIndex,
  building: ReadonlySet<string>,
  dryRun: boolean,
): Promise<MaintenanceAction> {
  const qualified = `${quoteIdentifier(index.schema)}.${quoteIdentifier(index.name)}`;
  const leftover = REINDEX_LEFTOVER.test(index.name);
  const action: MaintenanceAction['action'] = leftover ? 'drop' : 'rebuild';
  const sql = leftover
    ? `DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`
    : `REINDEX INDEX CONCURRENTLY ${qualified}`;
  const reason = leftover
    ? `invalid leftover of a failed REINDEX CONCURRENTLY on ${index.table}: dropped (PostgreSQL's recovery for _ccnew/_ccold)`
    : `invalid (a failed or cancelled concurrent build) on ${index.table}: searches cannot use it, every write still maintains it; rebuilt in place without blocking writes`;
  const base = { action, target: index.name, sql, reason };
  const { rows } = await client.query<{ oid: string }>('SELECT to_regclass($1)::oid::text AS oid', [
    qualified,
  ]);
  const oid = rows[0]?.oid;
  if (oid !== undefined && oid !== null && building.has(oid)) {
    return {
      ...base,
      reason: `${reason} — skipped: its concurrent build is still running (pg_stat_progress_create_index)`,
      durationMs: 0,
      status: 'skipped',
    };
  }
  if (dryRun) return { ...base, durationMs: 0, status: 'planned' };
  const started = performance.now();
  const sizeBefore = leftover ? undefined : await indexSize(client, qualified);
  try {
    await client.query(sql);
    const durationMs = Math.round(performance.now() - started);
    const sizes = leftover ? {} : { sizeBefore, sizeAfter: await indexSize(client, qualified) };
    return { ...base, durationMs, status: 'done', ...sizes };
  } catch (error) {
    return {
      ...base,
      durationMs: Math.round(performance.now() - started),
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

async function indexSize(client: pg.Client, qualified: string): Promise<number> {
  const { rows } = await client.query<{ size: string }>(
    'SELECT pg_relation_size(to_regclass($1))::text AS size',
    [qualified],
  );
  return Number(rows[0]?.size ?? 0);
}
