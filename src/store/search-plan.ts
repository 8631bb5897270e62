/**
 * The per-query plan of a search: how it reaches its rows (`'index'`, `'iterative'`, `'partial'`,
 * `'exact'`), chosen from the filter's estimated matching rows, and the settings that go with the choice.
 *
 * - The estimate is cheap: the planner's row estimate of the filter alone (`EXPLAIN (FORMAT JSON)`), and,
 *   when that plan shows an index serving the filter and the estimate is not far above the threshold, a
 *   bounded count (`LIMIT exactRows + 1`: exact below the threshold; jsonb `@>` statistics are too coarse
 *   to trust alone). The threshold grows with the table ({@link exactRowsFor}). Never an unbounded count, never a
 *   count that would scan a whole table. Estimates are cached per filter (SQL text + values) for
 *   `planner.estimateCacheMs`, so repeated tenant filters pay once.
 * - The choice ({@link choosePlan}, pure): unfiltered → `'index'`; at most `exactRows` matching rows →
 *   `'exact'` (rank the filter's rows exactly: recall 1, and on a selective filter far faster than walking
 *   the HNSW graph); a filter implying a configured partial index's predicate → `'partial'`; otherwise
 *   `'iterative'` with `hnsw.max_scan_tuples` sized to the selectivity ({@link scanTuplesFor}).
 */

import type { Sql } from '@prisma/client/runtime/client';
import { PgVectorError } from '../core/errors.js';
import type { AnalyzedFilter, PartialIndexPredicate } from '../core/filter.js';
import type { SearchStrategy } from './recall-profile.js';

/** What a search may ask for: the planner's choice, or one strategy forced. */
export type StrategyOption = 'auto' | SearchStrategy;

/** Every {@link StrategyOption}. */
export const STRATEGY_OPTIONS = [
  'auto',
  'index',
  'iterative',
  'partial',
  'exact',
] as const satisfies readonly StrategyOption[];

/** Where a plan's row estimate comes from. */
export type EstimateSource = 'planner' | 'count' | 'cache' | 'forced' | 'none' | 'guard' | 'statistics';

/** The strategy a search used, the estimate behind it and why (see `SearchResult.plan`). */
export interface SearchPlanChoice {
  readonly strategy: SearchStrategy;
  /** Rows the filter is estimated to match (`null`: not estimated). */
  readonly estimatedRows: number | null;
  /** Rows in the table as the planner knows them (`null`: unknown, e.g. never analyzed). */
  readonly tableRows: number | null;
  /** `estimatedRows / tableRows` (for `'partial'`: relative to the partial index's rows). */
  readonly selectivity: number | null;
  readonly estimateSource: EstimateSource;
  /** Human-readable: why this strategy. */
  readonly reason: string;
  /**
   * An exact plan taken without an estimate (`estimateSource: 'guard'`): filters of this form (the same
   * SQL, other values) matched at most `guard` rows when last counted, so the search ranks at most
   * `guard + 1` of the filter's rows in one statement and counts them; when more match, the search is
   * planned again from an estimate and run again.
   */
  readonly guard?: number;
}

/** The resolved `planner` store option. */
export interface PlannerSettings {
  /**
   * Exact search when the filter matches at most this many rows. When `exactRowsScale` is `'table'` (the
   * default, `exactRows` not given) this is the figure for a table of 100,000 rows, and the search uses
   * {@link exactRowsFor} of the table's rows.
   */
  readonly exactRows: number;
  /** `'fixed'`: `exactRows` was given and holds at every table size; `'table'`: it grows with the table. */
  readonly exactRowsScale: 'fixed' | 'table';
  /** How long a filter's estimate is reused, in milliseconds (0: never). */
  readonly estimateCacheMs: number;
  /**
   * A search that came back short even after an iterative scan is run exactly when the filter (or the
   * table) is estimated at most this many rows; above it the result says the exact run was not affordable.
   */
  readonly exactFallbackRows: number;
}

/** The rows a filter matches, estimated. */
export interface RowEstimate {
  readonly rows: number;
  /** True when `rows` is exact (a bounded count that stopped below its limit). */
  readonly exact: boolean;
  /** Whether an index (not a sequential scan) serves the filter. */
  readonly indexServed: boolean;
  /** `'statistics'`: computed in the store from the table's statistics (see statistics.ts), no statement. */
  readonly source: 'planner' | 'count' | 'statistics';
}

/** A row count as the plan's reasons show it: `12,345` (cheaper than `toLocaleString`, which searches pay). */
export function formatRows(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `hnsw.max_scan_tuples` pgvector uses by default. */
export const DEFAULT_MAX_SCAN_TUPLES = 20_000;
/** Largest `hnsw.max_scan_tuples` the planner chooses on its own. */
export const MAX_PLANNED_SCAN_TUPLES = 2_000_000;
/** Candidates an iterative scan may visit per wanted row, over the expected `k / selectivity`. */
export const SCAN_SAFETY_FACTOR = 4;
/** Most filters whose estimates are cached per store. */
export const ESTIMATE_CACHE_SIZE = 256;
/**
 * A filter the planner estimates at this many times the exact threshold or more is not counted (see
 * {@link estimateRows}).
 */
export const COUNT_SKIP_FACTOR = 2;
/** Default `planner.estimateCacheMs`. */
export const DEFAULT_ESTIMATE_CACHE_MS = 30_000;

/**
 * The default `planner.exactRows` for a vector size: 3,000 rows up to 768 dimensions — where an exact ranking
 * of the filter's rows costs about what an iterative HNSW scan costs (measured on PostgreSQL 17 + pgvector
 * 0.8.0, 100,000 × 384 rows: exact p50 9.8 ms at 1,929 rows vs 11.6 ms iterative, 31 ms at 4,952 vs 10 ms;
 * see docs/STORE.md) — scaled down linearly above (the distance work grows with the size), at least 500.
 *
 * ### Examples
 * ```ts
 * defaultExactRows(384);  // 3000
 * defaultExactRows(1536); // 1500
 * ```
 */
export function defaultExactRows(dimensions: number): number {
  const base = 3000;
  return dimensions <= 768 ? base : Math.max(500, Math.round((base * 768) / dimensions));
}

/** Table rows at which the default `exactRows` is {@link defaultExactRows}; it grows above. */
export const EXACT_ROWS_REFERENCE_TABLE = 100_000;
/** Exponent of the growth of the default `exactRows` with the table's rows. */
export const EXACT_ROWS_GROWTH = 0.5;
/** The default `exactRows` grows to at most this multiple of its 100,000-row figure. */
export const EXACT_ROWS_MAX_GROWTH = 7;

/**
 * The `exactRows` a search uses on a table of `tableRows` rows: the given figure when `exactRows` was set,
 * else the default grown with the table, `exactRows × √(tableRows / 100,000)`, from 1× up to 7× (3,000 →
 * 5,200 at 300,000 rows, 9,500 at 1,000,000, 21,000 from 4.9 million on). Why: an exact ranking costs the
 * rows it ranks, an iterative scan walks more of a larger graph for the same recall. Measured on
 * PostgreSQL 17 + pgvector 0.8.0, clustered 384-dim rows (docs/BENCHMARKS.md, "Search at scale"): at
 * 300,000 rows exact over 3,000 B-tree rows took 7.0 ms against 7.4–8.7 ms for iterative scans; at
 * 1,000,000 rows (HNSW m 32 / ef_construction 128) exact over 10,000 rows took 22 ms against 16–20 ms
 * iterative at recall 0.98–0.99 — the crossover near 7,500 — and on the default graph (m 16) 30 ms against
 * 29–48 ms at recall 0.86–0.93. At 200,000 × 1536 exact over 2,000 rows took 14.6 ms.
 *
 * ### Examples
 * ```ts
 * exactRowsFor({ exactRows: 3000, exactRowsScale: 'table', … }, 1_000_000); // 9487
 * exactRowsFor({ exactRows: 3000, exactRowsScale: 'fixed', … }, 1_000_000); // 3000
 * ```
 */
export function exactRowsFor(planner: PlannerSettings, tableRows: number | null): number {
  if (planner.exactRowsScale === 'fixed' || tableRows === null || tableRows <= EXACT_ROWS_REFERENCE_TABLE) {
    return planner.exactRows;
  }
  const growth = Math.min(
    EXACT_ROWS_MAX_GROWTH,
    (tableRows / EXACT_ROWS_REFERENCE_TABLE) ** EXACT_ROWS_GROWTH,
  );
  return Math.round(planner.exactRows * growth);
}

/** The partial-index predicates a filter implies (empty when its analysis has none). */
export function impliedPredicates(filter: AnalyzedFilter): readonly PartialIndexPredicate[] {
  const found = (filter as { readonly partialPredicates?: readonly PartialIndexPredicate[] })
    .partialPredicates;
  return Array.isArray(found) ? found : [];
}

/**
 * `hnsw.max_scan_tuples` for an iterative scan at a selectivity: `k / selectivity × 4` candidates, at least
 * pgvector's default 20,000, at most 2,000,000.
 *
 * ### Examples
 * ```ts
 * scanTuplesFor(10, 0.01);   // 20000 (the default is enough)
 * scanTuplesFor(10, 0.0005); // 80000
 * ```
 */
export function scanTuplesFor(k: number, selectivity: number | null): number {
  if (selectivity === null || !(selectivity > 0)) return DEFAULT_MAX_SCAN_TUPLES;
  const wanted = Math.ceil((k / selectivity) * SCAN_SAFETY_FACTOR);
  return Math.min(MAX_PLANNED_SCAN_TUPLES, Math.max(DEFAULT_MAX_SCAN_TUPLES, wanted));
}

/** What {@link choosePlan} decides from. */
export interface PlanInput {
  readonly requested: StrategyOption;
  /** The filter holds on every row (no filter). */
  readonly unfiltered: boolean;
  /** Partial-index predicates the filter implies. */
  readonly predicates: readonly PartialIndexPredicate[];
  /** The filter's estimate (absent: not estimated, e.g. forced or unfiltered). */
  readonly estimate?: RowEstimate | undefined;
  /** True when the estimate came from the cache. */
  readonly cached?: boolean;
  /** Rows of the partial index's predicate (for `'partial'`). */
  readonly predicateRows?: number | undefined;
  readonly tableRows: number | null;
  readonly planner: PlannerSettings;
}

function ratio(rows: number | null, of: number | null | undefined): number | null {
  if (rows === null || of === null || of === undefined || !(of > 0)) return null;
  return Math.min(1, rows / of);
}

/**
 * Chooses a search's strategy (pure). Throws `INVALID_ARGUMENT` for `'partial'` forced on a filter that
 * implies no configured partial-index predicate.
 *
 * ### Examples
 * ```ts
 * choosePlan({ requested: 'auto', unfiltered: false, predicates: [], tableRows: 300_000, planner,
 *   estimate: { rows: 300, exact: true, indexServed: true, source: 'count' } }).strategy; // 'exact'
 * ```
 */
export function choosePlan(input: PlanInput): SearchPlanChoice {
  const { requested, estimate, tableRows, planner } = input;
  if (requested === 'partial' && input.predicates.length === 0) {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      "strategy 'partial' needs a filter that implies a configured partial index predicate (partialIndexPredicates), and this one implies none",
      { fix: "add the predicate's { key: value } to the filter, or use strategy 'auto' / 'iterative'" },
    );
  }
  const rows = estimate?.rows ?? null;
  const source: EstimateSource =
    estimate === undefined ? 'none' : input.cached === true ? 'cache' : estimate.source;
  if (requested !== 'auto') {
    const selectivity =
      requested === 'partial' ? ratio(rows, input.predicateRows ?? tableRows) : ratio(rows, tableRows);
    return {
      strategy: requested,
      estimatedRows: rows,
      tableRows,
      selectivity,
      estimateSource: estimate === undefined ? 'forced' : source,
      reason: `strategy '${requested}' was asked for`,
    };
  }
  if (input.unfiltered) {
    return {
      strategy: 'index',
      estimatedRows: tableRows,
      tableRows,
      selectivity: 1,
      estimateSource: 'none',
      reason: 'no filter: the vector index serves the search',
    };
  }
  const shown = (n: number | null) => (n === null ? 'unknown' : formatRows(n));
  // Exact only on a trustworthy small figure: a count, or a table that is small as a whole (a planner
  // estimate of a filter no index serves is a guess, and an exact run would then scan the whole table).
  const small =
    rows !== null &&
    rows <= planner.exactRows &&
    (estimate?.source === 'count' ||
      estimate?.exact === true ||
      (tableRows !== null && tableRows <= planner.exactRows));
  if (small) {
    return {
      strategy: 'exact',
      estimatedRows: rows,
      tableRows,
      selectivity: ratio(rows, tableRows),
      estimateSource: source,
      reason: `the filter matches ${estimate?.exact === true ? '' : '~'}${shown(rows)} rows (≤ exactRows ${formatRows(planner.exactRows)}): ranked exactly${estimate?.indexServed === true ? ' over the rows the filter’s index selects' : ''}`,
    };
  }
  const [predicate] = input.predicates;
  if (predicate !== undefined) {
    return {
      strategy: 'partial',
      estimatedRows: rows,
      tableRows,
      selectivity: ratio(rows, input.predicateRows ?? tableRows),
      estimateSource: source,
      reason: `the filter implies the partial index predicate ${predicate.key} = '${predicate.value}': iterative scan of that index`,
    };
  }
  return {
    strategy: 'iterative',
    estimatedRows: rows,
    tableRows,
    selectivity: ratio(rows, tableRows),
    estimateSource: source,
    reason:
      rows === null
        ? 'no estimate of the filter: iterative scan of the vector index'
        : `the filter matches ~${shown(rows)} rows (> exactRows ${formatRows(planner.exactRows)}): iterative scan of the vector index`,
  };
}

interface ExplainNode {
  readonly 'Node Type'?: unknown;
  readonly 'Plan Rows'?: unknown;
  readonly Plans?: readonly ExplainNode[];
}

/**
 * Reads `EXPLAIN (FORMAT JSON)` output (the rows of {@link buildEstimateSql}, as text or parsed JSON):
 * the top node's `Plan Rows` and whether an index scan serves the filter.
 */
export function readExplainEstimate(rows: readonly Record<string, unknown>[]): {
  rows: number;
  indexServed: boolean;
} {
  let value: unknown = rows[0] === undefined ? undefined : Object.values(rows[0])[0];
  if (typeof value === 'string') value = JSON.parse(value);
  const top = (Array.isArray(value) ? value[0] : value) as { Plan?: ExplainNode } | undefined;
  const plan = top?.Plan;
  if (plan === undefined || typeof plan['Plan Rows'] !== 'number') {
    throw new PgVectorError('DATABASE_ERROR', 'cannot read the planner estimate (EXPLAIN FORMAT JSON)');
  }
  let indexServed = false;
  const walk = (node: ExplainNode) => {
    const type = String(node['Node Type'] ?? '');
    if (/Index/.test(type)) indexServed = true;
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return { rows: plan['Plan Rows'], indexServed };
}

/**
 * Whether `EXPLAIN (FORMAT JSON)` output (as text or parsed) shows an index scan that returns rows in an
 * `Order By` — a vector index scan serving the search's ordering — under nothing but a Limit, subquery
 * scans and the outer re-sort of a relaxed iterative scan.
 */
export function planOrdersByIndex(rows: readonly Record<string, unknown>[]): boolean {
  let value: unknown = rows[0] === undefined ? undefined : Object.values(rows[0])[0];
  if (typeof value === 'string') value = JSON.parse(value);
  const top = (Array.isArray(value) ? value[0] : value) as { Plan?: Record<string, unknown> } | undefined;
  const walk = (node: Record<string, unknown> | undefined): boolean => {
    if (node === undefined) return false;
    const type = String(node['Node Type'] ?? '');
    if (type === 'Index Scan' && node['Order By'] !== undefined) return true;
    if (!['Limit', 'Subquery Scan', 'Sort', 'Result'].includes(type)) return false;
    // InitPlans (the settings gate's one-time filter) run once, before the scan.
    const children = ((node.Plans ?? []) as Record<string, unknown>[]).filter(
      (child) => child['Parent Relationship'] !== 'InitPlan',
    );
    return children.length === 1 && walk(children[0]);
  };
  return walk(top?.Plan);
}

/** A small LRU of values with a time to live. */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly size = ESTIMATE_CACHE_SIZE,
  ) {}

  get(key: string, now = Date.now()): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    if (hit.until <= now) return undefined;
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: string, value: V, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, until: now + this.ttlMs });
    while (this.entries.size > this.size) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The cache key of a statement's filter: its SQL text and values. */
export function estimateKey(where: Sql): string {
  return `${where.text}\u0000${JSON.stringify(where.values, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;
}

/** How {@link estimateRows} may read a filter. */
export interface EstimateOptions {
  /** The filter to EXPLAIN instead (`AnalyzedFilter.estimateWhere`: without type tests); counts use `where`. */
  readonly estimateWhere?: Sql;
  /**
   * The planner's figure is trustworthy above the threshold: no condition is a jsonb containment (`@>`),
   * whose statistics are coarse — every condition is served by B-tree statistics.
   */
  readonly trusted?: boolean;
  /**
   * The filter's form was above the threshold before (its last estimate, or its guard overflowed): its
   * values straddle the threshold, and with `trusted` a planner figure above {@link NEAR_THRESHOLD_FACTOR} ×
   * the threshold is taken as is, not counted.
   */
  readonly straddles?: boolean;
}

/**
 * For a form whose counts straddle the threshold (see {@link EstimateOptions.straddles}): a B-tree-served
 * estimate above this share of the threshold is not counted. Near the threshold exact and iterative plans
 * cost about the same, and the count, which reads up to threshold + 1 rows, costs about as much again: at
 * 1M rows a 1% date range (10,000 rows, threshold 9,500) was counted on 36 of 100 searches.
 */
export const NEAR_THRESHOLD_FACTOR = 0.5;

/** Runs a statement of the estimator: through the search's own client path (pool, Prisma, transaction). */
export type EstimateRunner = (statement: Sql, label: string) => Promise<Record<string, unknown>[]>;

/** Builders of the estimator's statements (from `sql.ts`). */
export interface EstimateStatements {
  readonly explain: (where: Sql) => Sql;
  readonly count: (where: Sql, limit: number) => Sql;
}

/**
 * Estimates the rows a filter matches: the planner's estimate and, when an index serves the filter and the
 * estimate is below {@link COUNT_SKIP_FACTOR} × `limit`, a count bounded at `limit + 1` rows.
 */
export async function estimateRows(
  where: Sql,
  limit: number,
  run: EstimateRunner,
  statements: EstimateStatements,
  options: EstimateOptions = {},
): Promise<RowEstimate> {
  const planned = readExplainEstimate(
    await run(statements.explain(options.estimateWhere ?? where), 'search plan: estimate'),
  );
  // Never a count without an index (it would scan the table).
  if (!planned.indexServed) {
    return { rows: planned.rows, exact: false, indexServed: false, source: 'planner' };
  }
  // B-tree statistics (histograms of expression indexes, MCVs) estimate a range or an equality well: above
  // the threshold the count, which near a large threshold costs about what the exact search would (at 1M
  // rows, 9,500 heap rows), is not needed to say "more".
  if (options.trusted === true && planned.rows > limit) {
    return { rows: planned.rows, exact: false, indexServed: true, source: 'planner' };
  }
  // Far above the threshold, the count could only say "more": PostgreSQL's estimates err low far more
  // often than high (independence of ANDed conditions, default selectivities), and a jsonb `@>` estimate
  // from a 100-entry histogram reads a 0.1% value as 1–2% at worst, not as 2 × exactRows (6% of 100,000
  // rows); a filter it overestimates still gets k rows from the iterative scan and its exact fallback.
  if (planned.rows >= COUNT_SKIP_FACTOR * Math.max(limit, 1)) {
    return { rows: planned.rows, exact: false, indexServed: true, source: 'planner' };
  }
  if (
    options.trusted === true &&
    options.straddles === true &&
    planned.rows > NEAR_THRESHOLD_FACTOR * limit
  ) {
    return { rows: planned.rows, exact: false, indexServed: true, source: 'planner' };
  }
  const [row] = await run(statements.count(where, limit + 1), 'search plan: bounded count');
  const counted = Number(row?.rows);
  if (!Number.isFinite(counted)) {
    return { rows: planned.rows, exact: false, indexServed: true, source: 'planner' };
  }
  return counted <= limit
    ? { rows: counted, exact: true, indexServed: true, source: 'count' }
    : { rows: Math.max(planned.rows, counted), exact: false, indexServed: true, source: 'count' };
}
