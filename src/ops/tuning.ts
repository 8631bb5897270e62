/**
 * The ef_search tuner: measures recall@k and latency of the vector index against exact results for a
 * sample of queries, for each value of a ladder of `hnsw.ef_search` (or `ivfflat.probes` when the planner
 * uses an IVFFlat index), and recommends the smallest value that reaches the target recall.
 *
 * Method:
 * 1. Query vectors: sampled from the table (200 by default, `ORDER BY random()` after `setseed`, so a run is
 *    repeatable) or given.
 * 2. Exact top-k per query (at the largest k; a smaller k's are its first rows) in a transaction with index
 *    scans disabled (`SET LOCAL enable_indexscan = off`, bitmap and index-only scans too); EXPLAIN proves the
 *    plan reads the table without any index.
 * 3. For each ladder value and query, in a transaction of its own: `set_config('hnsw.ef_search', v, true)`
 *    (and, for a filtered query on pgvector ≥ 0.8, `hnsw.iterative_scan = relaxed_order`), then the same
 *    `ORDER BY col <op> $q LIMIT k` query, with `enable_seqscan` off so that the index is what is measured;
 *    EXPLAIN proves it uses the vector index, and a second EXPLAIN without the override tells whether the
 *    planner would choose the index on its own at that value. Nothing leaks into the session: every
 *    setting is transaction-local. Without an iterative scan one query at the largest k serves every k
 *    (an index scan returns its rows in order, LIMIT cuts them); with one, each k runs with its own LIMIT.
 * 4. recall@k = the share of the exact top-k the index returned (a row at the same distance as the k-th
 *    exact row counts: ties are not misses), per query; the mean over the queries with a 95% confidence
 *    interval (percentile bootstrap, seeded: {@link recallInterval}); latency p50/p95 of the query alone.
 * 5. Per k, the recommendation is the smallest value ≥ k whose interval's LOWER bound reaches the target.
 *    The value for a database or role is the largest of them, raised to the largest k and to pgvector's
 *    default 40 ({@link persistedEfSearch}): a persisted setting never caps a search. When no value reaches
 *    the target, or only one above {@link HIGH_EF_SEARCH}, the result advises build parameters.
 * 6. `persist: 'index'` writes every measurement as the index's recall profile (its comment, see
 *    `store/recall-profile.ts`); measurements of other k values and strategies already there are kept.
 *
 * Works through plain `pg` against any PostgreSQL with pgvector.
 */

import { raw } from '@prisma/client/runtime/client';
import type pg from 'pg';
import { PgVectorError } from '../core/errors.js';
import { compileFilter, type Filter, type PartialIndexPredicate } from '../core/filter.js';
import { type Metric, operatorFor, parseMetric } from '../core/metric.js';
import { encodeVectorText } from '../core/vector.js';
import { quoteIdentifier } from '../indexes/index-spec.js';
import {
  parseRecallProfile,
  type RecallProfile,
  type RecallProfileEntry,
  readRecallProfile,
  serializeRecallProfile,
  withRecallProfile,
} from '../store/recall-profile.js';
import { type DatabaseTarget, withClient } from './checks/connection.js';

/** The ef_search values tried by default (pgvector accepts 1..1000). */
export const DEFAULT_EF_SEARCH_LADDER: readonly number[] = [10, 20, 40, 80, 160, 320, 640, 1000];
/** The probes values tried by default (values above the index's lists are dropped). */
export const DEFAULT_PROBES_LADDER: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/**
 * Query vectors sampled from the table by default: enough for a 95% interval of about ±0.01 at recall 0.95 on
 * uniform data; on clustered data (per-query recall varies more) about ±0.02, and 600 give ±0.012.
 */
export const DEFAULT_TUNE_SAMPLE = 200;
/** pgvector's default `hnsw.ef_search`: the tuner never persists less (see {@link persistedEfSearch}). */
export const PGVECTOR_DEFAULT_EF_SEARCH = 40;
/** Above this ef_search the tuner advises build parameters even when the target is reached (latency). */
export const HIGH_EF_SEARCH = 200;
/** {@link TuneOptions.refine} measures between two ladder values further apart than this ratio. */
export const REFINE_RATIO = 1.25;
/** At most this many values are added per k by {@link TuneOptions.refine}. */
export const REFINE_MAX_VALUES = 4;
/** Bootstrap resamples for the confidence interval of a recall. */
export const BOOTSTRAP_RESAMPLES = 2000;

/**
 * Where {@link tune} persists: `database` (`ALTER DATABASE … SET`) or `role` (`ALTER ROLE CURRENT_USER SET`)
 * the setting, raised so that it caps no tuned k; `index`: the measured recall profile as the vector index's
 * comment (`COMMENT ON INDEX`), read by a store created with `recall: …`.
 */
export type PersistScope = 'database' | 'role' | 'index';

/** Options of {@link tune}. */
export interface TuneOptions {
  /** Table, `name` or `schema.name`. */
  readonly table: string;
  /** Vector column. Default `embedding`. */
  readonly column?: string | undefined;
  /** Metric the application searches with (its operator is used). Default `cosine`. */
  readonly metric?: Metric | undefined;
  /** Rows per query (LIMIT): the k values the application uses, e.g. `[10, 50]`. Default 10. */
  readonly k?: number | readonly number[] | undefined;
  /** Query vectors sampled from the table when `queries` is not given. Default {@link DEFAULT_TUNE_SAMPLE}. */
  readonly sample?: number | undefined;
  /** Query vectors to use instead of sampling (dense vectors). */
  readonly queries?: readonly (readonly number[])[] | undefined;
  /** Seed for the sample, in [-1, 1] (`setseed`), and for the bootstrap. Default 0.42. */
  readonly seed?: number | undefined;
  /**
   * RAW SQL predicate applied to both the exact and the approximate queries, e.g.
   * `metadata->>'type' = 'article'`. From configuration only, NEVER from user input (SQL injection).
   * The measurements are then those of the filtered (`iterative`) strategy.
   */
  readonly filter?: string | undefined;
  /**
   * Filter samples, measured together as the filtered (`iterative`) strategy: each query vector runs with
   * each filter, and the per-query recalls of all of them make one figure per ladder value. A sample is
   * RAW SQL (as `filter`) or a filter of the store's language (`{ type: 'article' }`), compiled as the
   * store compiles it, its values bound. With `filter`, that predicate comes first.
   */
  readonly filters?: readonly (string | Filter)[] | undefined;
  /**
   * The partial vector indexes' predicates, as the store's `partialIndexPredicates`: a filter sample of the
   * store's language with such an equality is compiled as the store compiles it then — in the index's own
   * form — so that the partial index serves it, and `persist: 'index'` writes that index's own recall
   * profile (read by stores with a recall target for searches the partial index serves).
   */
  readonly partialIndexPredicates?: readonly PartialIndexPredicate[] | undefined;
  /** The metadata (`jsonb`) column the store's filters read. Default `metadata`. */
  readonly metadataColumn?: string | undefined;
  /** The creation-time column of `createdAt` filters. Default `created_at`. */
  readonly createdAtColumn?: string | undefined;
  /** ef_search values to try, ascending. Default {@link DEFAULT_EF_SEARCH_LADDER}. */
  readonly efSearchLadder?: readonly number[] | undefined;
  /** probes values to try for IVFFlat, ascending. Default {@link DEFAULT_PROBES_LADDER}. */
  readonly probesLadder?: readonly number[] | undefined;
  /**
   * Measure more values where the ladder is coarse: between the last value whose recall missed the target
   * and the first that reached it, when they are more than {@link REFINE_RATIO} apart, at most
   * {@link REFINE_MAX_VALUES} values spaced evenly on a log scale (see {@link refinementValues}). Default: true
   * with the default ladder, false with a ladder of one's own.
   */
  readonly refine?: boolean | undefined;
  /** Recall@k to reach, in (0, 1], by the lower bound of its 95% interval. Default 0.95. */
  readonly target?: number | undefined;
  /** Persist: the setting for the database or the current role, the profile on the index. Default: nothing. */
  readonly persist?: PersistScope | readonly PersistScope[] | undefined;
}

/** The measurements for one ladder value (at one k). */
export interface TuneStep {
  readonly value: number;
  /** Mean recall@k over the queries, in [0, 1]. */
  readonly recall: number;
  /** Bounds of the 95% confidence interval of `recall` (percentile bootstrap over the per-query recalls). */
  readonly recallLow: number;
  readonly recallHigh: number;
  /** Median latency of the query, in milliseconds. */
  readonly p50Ms: number;
  /** 95th percentile latency, in milliseconds. */
  readonly p95Ms: number;
  /**
   * Whether the planner picks the vector index on its own at this value. Steps are always measured on the
   * index (`enable_seqscan` off in the transaction); on a small table a large ef_search makes the index look
   * as costly as a sequential scan, and the planner then scans the table exactly instead.
   */
  readonly plannerUsesIndex: boolean;
}

/** The ladder and the recommendation for one k. */
export interface TuneForK {
  readonly k: number;
  readonly steps: readonly TuneStep[];
  /** The smallest value ≥ k whose recall's lower bound reaches the target; `undefined` when none does. */
  readonly recommended: number | undefined;
  /**
   * Without a recommendation, what limits it: `graph` (no value's mean recall reaches the target: build
   * parameters), or `queries` (a mean reaches it, its lower bound does not: measure more queries, about
   * {@link TuneForK.queriesNeeded}).
   */
  readonly limitedBy?: 'graph' | 'queries' | undefined;
  /** Queries that would bring the lower bound of the best mean to the target (√n scaling), when `queries`. */
  readonly queriesNeeded?: number | undefined;
}

/** Build parameters to try when ef_search alone does not reach the target, or only at a high cost. */
export interface BuildAdvice {
  readonly reason: string;
  readonly current: { readonly m: number; readonly efConstruction: number };
  readonly m: number;
  readonly efConstruction: number;
  /** Statements that rebuild the index in place with the new parameters (its comment survives). */
  readonly sql: readonly string[];
  /** The same as a new index built by the CLI. */
  readonly command: string;
}

/** What {@link tune} measured and recommends. */
export interface TuneResult {
  /** `schema.table`. */
  readonly table: string;
  readonly column: string;
  readonly metric: Metric;
  /** The largest k tuned (the one {@link TuneResult.steps} belong to). */
  readonly k: number;
  /** Every k tuned, ascending. */
  readonly ks: readonly number[];
  readonly target: number;
  /** The filter samples measured (SQL text; a store filter as its JSON), joined by ` | `; or `undefined`. */
  readonly filter: string | undefined;
  /** The filter samples measured, each as above. */
  readonly filters: readonly string[];
  /** The vector index the planner used. */
  readonly index: string;
  readonly method: 'hnsw' | 'ivfflat';
  /** The setting tuned. */
  readonly setting: 'hnsw.ef_search' | 'ivfflat.probes';
  /** Iterative scan used for a filtered query (pgvector ≥ 0.8), if any. */
  readonly iterativeScan: 'relaxed_order' | undefined;
  readonly pgvectorVersion: string;
  /** Queries measured (those with at least one exact result; with filters, query vectors × filters). */
  readonly queries: number;
  /** How the recall's interval is computed. */
  readonly confidence: {
    readonly level: 0.95;
    readonly method: 'percentile bootstrap over per-query recalls';
    readonly resamples: number;
    readonly rule: 'recallLow >= target';
  };
  /** Plan node types of the exact query (proof it is a sequential scan) and of the approximate one. */
  readonly plans: { readonly exact: readonly string[]; readonly approximate: readonly string[] };
  /** The ladder of the largest k (the same as the last of {@link TuneResult.perK}). */
  readonly steps: readonly TuneStep[];
  /** One ladder and recommendation per k. */
  readonly perK: readonly TuneForK[];
  /**
   * The value for the whole database or role (what `persist: 'database' | 'role'` writes): the largest per-k
   * recommendation, raised to the largest k and to pgvector's default 40 so that it caps no search;
   * `undefined` when some k has no recommendation.
   */
  readonly recommended: number | undefined;
  /** Set when {@link TuneResult.recommended} is above every per-k recommendation, and why. */
  readonly raised: { readonly from: number; readonly reason: string } | undefined;
  /** Build parameters to try: no value reached the target, or only a high ef_search did. */
  readonly buildAdvice: BuildAdvice | undefined;
  /** The statement run when `persist: 'database' | 'role'` was asked and a value was recommended. */
  readonly persisted: { readonly scope: 'database' | 'role'; readonly sql: string } | undefined;
  /** The profile written when `persist: 'index'` was asked (HNSW only). */
  readonly profile: { readonly sql: string; readonly profile: RecallProfile } | undefined;
}

function invalid(message: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message);
}

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function ladder(values: readonly number[], name: string, max: number): number[] {
  if (!Array.isArray(values) || values.length === 0) throw invalid(`${name} must be a non-empty list`);
  const checked = values.map((v) => integerIn(v, `${name} values`, 1, max));
  return [...new Set(checked)].sort((a, b) => a - b);
}

/**
 * The recommendation rule: the smallest value (steps in any order) not below `k` whose recall reaches the
 * target — by the lower bound of its 95% interval when the step has one (`recallLow`), else by its mean. A
 * value below k is never recommended: an HNSW scan returns at most ef_search rows.
 *
 * ### Examples
 * ```ts
 * recommendValue([{ value: 10, recall: 0.8 }, { value: 20, recall: 0.96 }, { value: 40, recall: 0.99 }], 0.95); // 20
 * recommendValue([{ value: 20, recall: 0.96, recallLow: 0.94 }, { value: 40, recall: 0.99, recallLow: 0.98 }], 0.95); // 40
 * recommendValue([{ value: 10, recall: 0.8 }], 0.95); // undefined
 * ```
 */
export function recommendValue(
  steps: readonly (Pick<TuneStep, 'value' | 'recall'> & { readonly recallLow?: number })[],
  target: number,
  k = 1,
): number | undefined {
  return [...steps]
    .sort((a, b) => a.value - b.value)
    .find((s) => s.value >= k && (s.recallLow ?? s.recall) >= target)?.value;
}

/**
 * The values {@link TuneOptions.refine} adds: per k, between the largest measured value below the recommended
 * one (by {@link recommendValue}'s rule) and the recommended one, when their ratio is above
 * {@link REFINE_RATIO}: evenly spaced on a log scale, rounded (to 10 from 100 on), not below k (HNSW: a scan
 * returns at most ef_search rows) and not within 5% of a value measured or added already. Nothing for a k
 * without a recommendation.
 *
 * ### Examples
 * ```ts
 * // k 10: 160 missed (lower bound 0.93), 320 reached (0.951)
 * refinementValues(new Map([[10, [{ value: 160, recall: 0.953, recallLow: 0.93 }, { value: 320, recall: 0.965, recallLow: 0.951 }]]]), 0.95, 1, 1000);
 * // [190, 230, 270]
 * ```
 */
export function refinementValues(
  stepsByK: ReadonlyMap<
    number,
    readonly (Pick<TuneStep, 'value' | 'recall'> & { readonly recallLow?: number })[]
  >,
  target: number,
  kFloor: 0 | 1,
  max: number,
): number[] {
  const measured = new Set<number>();
  for (const steps of stepsByK.values()) for (const s of steps) measured.add(s.value);
  const added = new Set<number>();
  for (const [k, steps] of stepsByK) {
    const floor = kFloor === 1 ? k : 1;
    const hit = recommendValue(steps, target, floor);
    if (hit === undefined) continue;
    const below = steps.filter((s) => s.value < hit).map((s) => s.value);
    if (below.length === 0) continue;
    const from = Math.max(Math.max(...below), floor);
    const ratio = hit / from;
    if (!(ratio > REFINE_RATIO)) continue;
    const n = Math.min(REFINE_MAX_VALUES + 1, Math.ceil(Math.log(ratio) / Math.log(REFINE_RATIO)));
    for (let i = 1; i < n; i++) {
      const raw = from * ratio ** (i / n);
      const value = raw >= 100 ? Math.round(raw / 10) * 10 : Math.round(raw);
      // Not within 5% of a value measured or added already (two k's brackets often overlap).
      const near = [...measured, ...added].some((v) => Math.abs(v - value) <= 0.05 * value);
      if (value > from && value < hit && value >= floor && value <= max && !near) added.add(value);
    }
  }
  return [...added].sort((a, b) => a - b);
}

/** A small seeded PRNG (mulberry32): the bootstrap is repeatable for a given seed. */
function prng(seed: number): () => number {
  let t = Math.floor(seed * 0x7fffffff) >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = t;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The mean of per-query recalls and its 95% confidence interval: percentile bootstrap (the 2.5th and 97.5th
 * percentiles of the means of `resamples` resamples with replacement, seeded). When every query has the same
 * recall (typically all 1) the bootstrap collapses to a point; the interval is then the Wilson score interval
 * of n queries at that mean — the widest a variable in [0, 1] with that mean can need — so that 20 perfect
 * queries do not claim more than 20 queries show (low 0.84; 200 give 0.98).
 *
 * ### Examples
 * ```ts
 * recallInterval([1, 0.9, 1, 0.8, 1]); // { mean: 0.94, low: ~0.86, high: 1 }
 * recallInterval(Array(200).fill(1)); // { mean: 1, low: 0.981, high: 1 }
 * ```
 */
export function recallInterval(
  recalls: readonly number[],
  seed = 0.42,
  resamples = BOOTSTRAP_RESAMPLES,
): { mean: number; low: number; high: number } {
  const n = recalls.length;
  if (n === 0) return { mean: 0, low: 0, high: 0 };
  const mean = recalls.reduce((s, r) => s + r, 0) / n;
  if (recalls.every((r) => r === recalls[0])) {
    const z = 1.959964;
    const z2 = z * z;
    const centre = (mean + z2 / (2 * n)) / (1 + z2 / n);
    const half = (z / (1 + z2 / n)) * Math.sqrt((mean * (1 - mean)) / n + z2 / (4 * n * n));
    return {
      mean,
      low: mean === 0 ? 0 : Math.min(mean, Math.max(0, centre - half)),
      high: mean === 1 ? 1 : Math.max(mean, Math.min(1, centre + half)),
    };
  }
  const next = prng(Math.abs(seed) || 0.42);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += recalls[Math.floor(next() * n)]!;
    means[b] = sum / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))]!;
  return { mean, low: Math.min(mean, at(0.025)), high: Math.max(mean, at(0.975)) };
}

/**
 * The ef_search to persist for a database or role, from the per-k recommendations: the largest, raised to
 * the largest k (a smaller value caps every search asking for more rows) and to pgvector's default 40 (less
 * saves little and caps any other query of up to 40 rows). `undefined` when some k has no recommendation.
 *
 * ### Examples
 * ```ts
 * persistedEfSearch([{ k: 10, recommended: 20 }, { k: 50, recommended: 80 }]); // { value: 80, raised: undefined }
 * persistedEfSearch([{ k: 10, recommended: 20 }]); // { value: 40, raised: { from: 20, reason: … } }
 * ```
 */
export function persistedEfSearch(
  perK: readonly Pick<TuneForK, 'k' | 'recommended'>[],
): { value: number; raised: TuneResult['raised'] } | undefined {
  if (perK.length === 0 || perK.some((p) => p.recommended === undefined)) return undefined;
  const best = Math.max(...perK.map((p) => p.recommended!));
  const maxK = Math.max(...perK.map((p) => p.k));
  const value = Math.min(1000, Math.max(best, maxK, PGVECTOR_DEFAULT_EF_SEARCH));
  if (value === best) return { value, raised: undefined };
  const reason =
    value === maxK && maxK > PGVECTOR_DEFAULT_EF_SEARCH
      ? `raised from ${best} to k ${maxK}: a smaller hnsw.ef_search caps a search for ${maxK} rows`
      : `raised from ${best} to pgvector's default ${PGVECTOR_DEFAULT_EF_SEARCH}: a smaller value caps every query for more rows than it`;
  return { value, raised: { from: best, reason } };
}

/**
 * Build parameters to advise for an HNSW index (current `m` / `ef_construction`): `m` doubled (at least 16,
 * at most 64) and `ef_construction` at least 2·m, twice the current one and 128 (at most 1000).
 */
export function adviseBuildParameters(current: { m: number; efConstruction: number }): {
  m: number;
  efConstruction: number;
} {
  const m = Math.max(16, Math.min(64, current.m * 2));
  const efConstruction = Math.min(1000, Math.max(2 * m, 2 * current.efConstruction, 128));
  return { m, efConstruction };
}

/** The p-th percentile (nearest rank) of some numbers. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

interface Hit {
  readonly id: string;
  readonly d: number;
}

/**
 * recall@k of one approximate result against the exact one: the share of the exact rows found, where a
 * returned row at a distance no greater than the k-th exact distance counts (ties are not misses).
 */
export function recallAtK(exact: readonly Hit[], approximate: readonly Hit[]): number {
  if (exact.length === 0) return 1;
  const kth = exact[exact.length - 1]!.d;
  const ids = new Set(exact.map((h) => h.id));
  const found = approximate.filter((h) => ids.has(h.id) || h.d <= kth).length;
  return Math.min(found, exact.length) / exact.length;
}

interface PlanNode {
  'Node Type'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const child of node.Plans ?? []) planNodes(child, out);
  return out;
}

function describeNodes(nodes: readonly PlanNode[]): string[] {
  return nodes.map((n) =>
    n['Index Name'] ? `${n['Node Type']} using ${n['Index Name']}` : `${n['Node Type']}`,
  );
}

async function explain(client: pg.ClientBase, text: string, values: unknown[]): Promise<PlanNode[]> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    `EXPLAIN (FORMAT JSON) ${text}`,
    values,
  );
  const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
  if (plan === undefined) throw new Error('EXPLAIN returned no plan');
  return planNodes(plan);
}

function parseTable(table: string): { schema: string | undefined; name: string; sql: string } {
  const parts = table.split('.');
  if (parts.length > 2 || parts.some((p) => p === ''))
    throw invalid(`table must be "name" or "schema.name", got "${table}"`);
  const [a, b] = parts as [string, string | undefined];
  return b === undefined
    ? { schema: undefined, name: a, sql: quoteIdentifier(a, 'table') }
    : { schema: a, name: b, sql: `${quoteIdentifier(a, 'schema')}.${quoteIdentifier(b, 'table')}` };
}

/**
 * Tunes `hnsw.ef_search` (or `ivfflat.probes`) for recall at each k the application uses: see the module
 * comment for the method. Throws `EXTENSION_MISSING` without pgvector, `INVALID_ARGUMENT` for a bad option or
 * an unknown column, and `INDEX_NOT_USED` when no vector index serves the query.
 *
 * `target` is a connected `pg` client (not inside a transaction: each query runs in its own) or a URL.
 *
 * ### Examples
 * ```ts
 * const result = await tune(process.env.DATABASE_URL!, { table: 'documents', k: [10, 50], persist: ['index', 'database'] });
 * result.perK.map((p) => [p.k, p.recommended]); // e.g. [[10, 40], [50, 160]]
 * result.recommended; // 160: the value written for the database, never below the largest k
 * ```
 *
 * The SQL per query and ladder value (PostgreSQL):
 * ```sql
 * BEGIN; SELECT set_config('hnsw.ef_search', '80', true);
 * SELECT ctid::text AS id, ("embedding" <=> $1::vector(1536))::float8 AS d FROM "documents"
 *   ORDER BY "embedding" <=> $1::vector(1536) LIMIT 50;
 * COMMIT;
 * -- with persist: 'database'
 * ALTER DATABASE "app" SET hnsw.ef_search = 160;
 * -- with persist: 'index'
 * COMMENT ON INDEX "public"."documents_embedding_hnsw_idx" IS 'prisma-pgvector:recall-profile {…}';
 * ```
 */
export async function tune(target: DatabaseTarget, options: TuneOptions): Promise<TuneResult> {
  if (typeof options?.table !== 'string') throw invalid('table is required');
  const table = parseTable(options.table);
  const columnName = options.column ?? 'embedding';
  const column = quoteIdentifier(columnName, 'column');
  const metric = parseMetric(options.metric ?? 'cosine');
  const kOption = options.k ?? 10;
  const kList = typeof kOption === 'number' ? [kOption] : kOption;
  if (!Array.isArray(kList) || kList.length === 0) throw invalid('k must be a number or a non-empty list');
  const ks = [...new Set(kList.map((k) => integerIn(k, 'k', 1, 1000)))].sort((a, b) => a - b);
  const maxK = ks[ks.length - 1]!;
  const sample = integerIn(options.sample ?? DEFAULT_TUNE_SAMPLE, 'sample', 1, 100_000);
  const seed = options.seed ?? 0.42;
  if (typeof seed !== 'number' || !(seed >= -1 && seed <= 1))
    throw invalid(`seed must be in [-1, 1], got ${seed}`);
  const recallTarget = options.target ?? 0.95;
  if (typeof recallTarget !== 'number' || !(recallTarget > 0 && recallTarget <= 1)) {
    throw invalid(`target must be a recall in (0, 1], got ${String(recallTarget)}`);
  }
  const efLadder = ladder(options.efSearchLadder ?? DEFAULT_EF_SEARCH_LADDER, 'efSearchLadder', 1000);
  const probesLadder = ladder(options.probesLadder ?? DEFAULT_PROBES_LADDER, 'probesLadder', 32_768);
  const persistList =
    options.persist === undefined
      ? []
      : typeof options.persist === 'string'
        ? [options.persist]
        : options.persist;
  for (const scope of persistList) {
    if (scope !== 'database' && scope !== 'role' && scope !== 'index') {
      throw invalid(`persist must be 'database', 'role' or 'index', got ${String(scope)}`);
    }
  }
  const settingScope = persistList.find((p): p is 'database' | 'role' => p !== 'index');
  if (persistList.includes('database') && persistList.includes('role'))
    throw invalid(`persist takes 'database' or 'role', not both`);
  const op = operatorFor(metric);
  const filterSamples = compileFilterSamples(options);
  const filter = filterSamples.length === 0 ? undefined : filterSamples.map((f) => f.label).join(' | ');

  return withClient(target, async (client) => {
    const ext = await client.query<{ v: string }>(
      `SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`,
    );
    const pgvectorVersion = ext.rows[0]?.v;
    if (pgvectorVersion === undefined) {
      throw new PgVectorError('EXTENSION_MISSING', 'pgvector is not installed in this database', {
        fix: 'run `prisma-pgvector doctor` for the install steps',
      });
    }
    const col = await client.query<{ type: string; ns: string; rel: string; rows: number }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS "type", n.nspname AS "ns", c.relname AS "rel",
              greatest(c.reltuples, 0)::float8 AS "rows"
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`,
      [table.sql, columnName],
    );
    const colRow = col.rows[0];
    if (colRow === undefined) throw invalid(`column ${options.table}.${columnName} not found`);
    const type = colRow.type;
    const param = `$1::${type}`;
    // One case per query vector and filter sample (or per query vector without filters).
    const samples: (FilterSample | undefined)[] = filterSamples.length === 0 ? [undefined] : filterSamples;
    const annSql = (limit: number, f: FilterSample | undefined) =>
      `SELECT ctid::text AS id, (${column} ${op} ${param})::float8 AS d FROM ${table.sql}${f === undefined ? '' : ` WHERE (${f.sql})`} ORDER BY ${column} ${op} ${param} LIMIT ${limit}`;
    const exactSql = (f: FilterSample | undefined) =>
      `SELECT ctid::text AS id, (${column} ${op} ${param})::float8 AS d FROM ${table.sql} WHERE ${column} IS NOT NULL${f === undefined ? '' : ` AND (${f.sql})`} ORDER BY ${column} ${op} ${param} LIMIT ${maxK}`;
    const bind = (q: string, f: FilterSample | undefined) => [q, ...(f?.values ?? [])];

    // 1. Query vectors.
    let queries: string[];
    if (options.queries !== undefined) {
      if (options.queries.length === 0) throw invalid('queries must not be empty');
      queries = options.queries.map((q) => encodeVectorText(q));
    } else {
      await client.query('BEGIN');
      try {
        await client.query('SELECT setseed($1)', [seed]);
        const { rows } = await client.query<{ v: string }>(
          `SELECT ${column}::text AS v FROM ${table.sql} WHERE ${column} IS NOT NULL ORDER BY random() LIMIT ${sample}`,
        );
        queries = rows.map((r) => r.v);
      } finally {
        await client.query('COMMIT');
      }
      if (queries.length === 0) throw invalid(`${options.table}.${columnName} has no vectors to sample`);
    }

    // 2. Exact results at the largest k (those at a smaller k are their first rows), index scans off; the
    // plan must not touch an index.
    const cases: { q: string; f: FilterSample | undefined; e: Hit[] }[] = [];
    let exactPlan: string[] = [];
    for (const f of samples) {
      for (const [i, q] of queries.entries()) {
        await client.query(
          'BEGIN; SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_bitmapscan = off',
        );
        try {
          if (i === 0) {
            const nodes = await explain(client, exactSql(f), bind(q, f));
            exactPlan = describeNodes(nodes);
            if (
              nodes.some((n) => n['Index Name'] !== undefined || /Index|Bitmap/.test(n['Node Type'] ?? ''))
            ) {
              throw new Error(`the exact query still uses an index: ${exactPlan.join(' > ')}`);
            }
          }
          cases.push({ q, f, e: (await client.query<Hit>(exactSql(f), bind(q, f))).rows });
        } finally {
          await client.query('COMMIT');
        }
      }
    }

    // 3. Which index serves the approximate query (and so which setting to tune).
    const iterativeScan =
      filter !== undefined && versionAtLeast(pgvectorVersion, '0.8.0')
        ? ('relaxed_order' as const)
        : undefined;
    // The vector index is forced (enable_seqscan off) so that every step measures the index; whether the
    // planner would choose it on its own at that value is reported per step (on a small table it may not).
    const setup = (name: string, value: number, method: 'hnsw' | 'ivfflat', force = true) => {
      const parts = [`set_config('${name}', '${value}', true)`];
      if (iterativeScan !== undefined)
        parts.push(`set_config('${method}.iterative_scan', '${iterativeScan}', true)`);
      if (force) parts.push(`set_config('enable_seqscan', 'off', true)`);
      return `BEGIN; SELECT ${parts.join(', ')}`;
    };
    await client.query(setup('hnsw.ef_search', efLadder[0]!, 'hnsw'));
    let annNodes: PlanNode[];
    try {
      annNodes = await explain(client, annSql(maxK, samples[0]), bind(queries[0]!, samples[0]));
    } finally {
      await client.query('COMMIT');
    }
    const indexNames = annNodes.map((n) => n['Index Name']).filter((n): n is string => n !== undefined);
    const indexes = await client.query<{
      name: string;
      method: string;
      lists: string | null;
      m: string | null;
      efc: string | null;
      comment: string | null;
    }>(
      `SELECT c.relname AS "name", am.amname AS "method",
         (SELECT substr(o, 7) FROM unnest(c.reloptions) o WHERE o LIKE 'lists=%') AS "lists",
         (SELECT substr(o, 3) FROM unnest(c.reloptions) o WHERE o LIKE 'm=%') AS "m",
         (SELECT substr(o, 17) FROM unnest(c.reloptions) o WHERE o LIKE 'ef_construction=%') AS "efc",
         obj_description(c.oid, 'pg_class') AS "comment"
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
       WHERE i.indrelid = to_regclass($1) AND c.relname = ANY ($2::text[]) AND am.amname IN ('hnsw', 'ivfflat')`,
      [table.sql, indexNames],
    );
    const used = indexes.rows[0];
    if (used === undefined) {
      throw new PgVectorError(
        'INDEX_NOT_USED',
        `no vector index serves ORDER BY ${columnName} ${op} $q LIMIT ${maxK} on ${options.table}${filter ? ` WHERE ${filter}` : ''} (plan: ${describeNodes(annNodes).join(' > ')})`,
        {
          fix: `run \`prisma-pgvector doctor --metric ${metric}\`: create an index with the ${metric} operator class, and ANALYZE the table`,
        },
      );
    }
    const method = used.method as 'hnsw' | 'ivfflat';
    if (persistList.includes('index') && method !== 'hnsw') {
      throw invalid(
        `persist 'index' writes a recall profile of hnsw.ef_search; ${used.name} is an IVFFlat index (persist 'database' or 'role' instead)`,
      );
    }
    if (persistList.includes('index') && filter !== undefined && iterativeScan === undefined) {
      throw invalid(
        `persist 'index' with a filter records the iterative-scan strategy, which needs pgvector >= 0.8 (this server has ${pgvectorVersion})`,
      );
    }
    const setting = method === 'hnsw' ? 'hnsw.ef_search' : 'ivfflat.probes';
    const lists = Number(used.lists ?? 100);
    const values = method === 'hnsw' ? efLadder : probesLadder.filter((p) => p <= lists);
    if (values.length === 0) throw invalid(`probesLadder has no value ≤ the index's lists (${lists})`);
    if (method === 'ivfflat' && !values.includes(lists) && probesLadder.some((p) => p > lists))
      values.push(lists);

    // 4. Measure each ladder value. Without an iterative scan the rows of LIMIT k are the first k of LIMIT
    // max(k) (an index scan returns them in order), so one query at the largest k measures every k; an
    // iterative scan stops at LIMIT rows, so each k is measured with its own LIMIT.
    const measured = cases.filter((m) => m.e.length > 0);
    if (measured.length === 0)
      throw invalid(`no query has any exact result${filter ? ` with the filter ${filter}` : ''}`);
    // Warm-up: load the index pages once, untimed.
    await client.query(setup(setting, values[values.length - 1]!, method));
    try {
      for (const m of measured.slice(0, 5)) await client.query(annSql(maxK, m.f), bind(m.q, m.f));
    } finally {
      await client.query('COMMIT');
    }
    const runs: number[][] = iterativeScan === undefined ? [ks] : ks.map((k) => [k]);
    const stepsByK = new Map<number, TuneStep[]>(ks.map((k) => [k, []]));
    const measureValue = async (value: number) => {
      await client.query(setup(setting, value, method, false));
      let chosen: PlanNode[];
      try {
        chosen = await explain(client, annSql(maxK, measured[0]!.f), bind(measured[0]!.q, measured[0]!.f));
      } finally {
        await client.query('COMMIT');
      }
      const plannerUsesIndex = chosen.some((n) => n['Index Name'] === used.name);
      for (const run of runs) {
        const limit = run[run.length - 1]!;
        const recalls = new Map<number, number[]>(run.map((k) => [k, []]));
        const times: number[] = [];
        for (const m of measured) {
          await client.query(setup(setting, value, method));
          try {
            const start = performance.now();
            const { rows } = await client.query<Hit>(annSql(limit, m.f), bind(m.q, m.f));
            times.push(performance.now() - start);
            for (const k of run) recalls.get(k)!.push(recallAtK(m.e.slice(0, k), rows.slice(0, k)));
          } finally {
            await client.query('COMMIT');
          }
        }
        for (const k of run) {
          const ci = recallInterval(recalls.get(k)!, seed);
          stepsByK.get(k)!.push({
            value,
            recall: ci.mean,
            recallLow: ci.low,
            recallHigh: ci.high,
            p50Ms: percentile(times, 50),
            p95Ms: percentile(times, 95),
            plannerUsesIndex,
          });
        }
      }
    };
    for (const value of values) await measureValue(value);
    // 4b. Refine: between the last value that missed the target and the first that reached it, when they
    // are far apart (the default ladder doubles), so that the recommendation is not up to twice the needed value.
    const ownLadder = method === 'hnsw' ? options.efSearchLadder : options.probesLadder;
    if (options.refine ?? ownLadder === undefined) {
      const extra = refinementValues(
        stepsByK,
        recallTarget,
        method === 'hnsw' ? 1 : 0,
        method === 'hnsw' ? 1000 : lists,
      );
      for (const value of extra) await measureValue(value);
      for (const steps of stepsByK.values()) steps.sort((a, b) => a.value - b.value);
    }
    const perK: TuneForK[] = ks.map((k) => {
      const steps = stepsByK.get(k)!;
      // ef_search below k caps the rows; probes are lists, not rows.
      const minValue = method === 'hnsw' ? k : 1;
      const recommended = recommendValue(steps, recallTarget, minValue);
      if (recommended !== undefined) return { k, steps, recommended };
      const reached = steps.filter((s) => s.value >= minValue && s.recall >= recallTarget);
      if (reached.length === 0) return { k, steps, recommended, limitedBy: 'graph' as const };
      const best = reached.reduce((a, b) => (b.recall > a.recall ? b : a));
      const n = measured.length;
      const queriesNeeded =
        best.recall > recallTarget
          ? Math.min(
              100_000,
              Math.ceil(n * ((best.recall - best.recallLow) / (best.recall - recallTarget)) ** 2),
            )
          : undefined;
      return { k, steps, recommended, limitedBy: 'queries' as const, queriesNeeded };
    });
    const forDatabase =
      method === 'hnsw'
        ? persistedEfSearch(perK)
        : perK.every((p) => p.recommended !== undefined)
          ? { value: Math.max(...perK.map((p) => p.recommended!)), raised: undefined }
          : undefined;

    // 5. Build advice (HNSW): no value reached the target at some k, or only a high one did.
    let buildAdvice: BuildAdvice | undefined;
    if (method === 'hnsw') {
      const current = { m: Number(used.m ?? 16), efConstruction: Number(used.efc ?? 64) };
      const missed = perK.filter((p) => p.limitedBy === 'graph');
      const high = perK.filter((p) => p.recommended !== undefined && p.recommended > HIGH_EF_SEARCH);
      let reason: string | undefined;
      if (missed.length > 0) {
        const best = (p: TuneForK) => Math.max(...p.steps.map((s) => s.recallLow));
        reason = `no ef_search up to ${values[values.length - 1]} reached recall ${recallTarget} at ${missed.map((p) => `k ${p.k} (best lower bound ${best(p).toFixed(3)})`).join(', ')}: the graph (m ${current.m}, ef_construction ${current.efConstruction}) limits recall`;
      } else if (high.length > 0) {
        const p = high[high.length - 1]!;
        const at = p.steps.find((s) => s.value === p.recommended)!;
        const base = p.steps.find((s) => s.value >= Math.max(p.k, PGVECTOR_DEFAULT_EF_SEARCH)) ?? p.steps[0]!;
        reason = `recall ${recallTarget} at k ${p.k} needs ef_search ${p.recommended} (> ${HIGH_EF_SEARCH}): p50 ${at.p50Ms.toFixed(2)} ms vs ${base.p50Ms.toFixed(2)} ms at ef_search ${base.value}; a denser graph reaches it with a smaller ef_search`;
      }
      if (reason !== undefined) {
        const next = adviseBuildParameters(current);
        const name = `${quoteIdentifier(colRow.ns, 'schema')}.${quoteIdentifier(used.name, 'index')}`;
        buildAdvice = {
          reason,
          current,
          ...next,
          sql: [
            `ALTER INDEX ${name} SET (m = ${next.m}, ef_construction = ${next.efConstruction})`,
            `REINDEX INDEX CONCURRENTLY ${name}`,
          ],
          command: `prisma-pgvector build-index --table ${colRow.rel} --schema ${colRow.ns} --column ${columnName} --metric ${metric} --m ${next.m} --ef-construction ${next.efConstruction} --concurrently`,
        };
      }
    }

    // 6. Persist: the setting (never capping a tuned k), the profile on the index.
    let persisted: TuneResult['persisted'];
    if (settingScope !== undefined && forDatabase !== undefined) {
      let sql: string;
      if (settingScope === 'database') {
        const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
        sql = `ALTER DATABASE ${quoteIdentifier(rows[0]!.db, 'database')} SET ${setting} = ${forDatabase.value}`;
      } else {
        sql = `ALTER ROLE CURRENT_USER SET ${setting} = ${forDatabase.value}`;
      }
      await client.query(sql);
      persisted = { scope: settingScope, sql };
    }
    let profile: TuneResult['profile'];
    const strategy = filter === undefined ? 'index' : iterativeScan !== undefined ? 'iterative' : undefined;
    if (persistList.includes('index') && strategy !== undefined) {
      const fresh: RecallProfileEntry[] = perK.flatMap((p) =>
        p.steps.map((s) => ({
          k: p.k,
          strategy,
          efSearch: s.value,
          recall: s.recall,
          recallLow: s.recallLow,
          queries: measured.length,
        })),
      );
      // Measurements of other strategies and k values already on the index are kept.
      const previous = readRecallProfile(used.comment).profile;
      const kept =
        previous?.index === used.name
          ? previous.entries.filter((e) => !(e.strategy === strategy && ks.includes(e.k)))
          : [];
      const value: RecallProfile = {
        version: 1,
        index: used.name,
        rows: Math.round(colRow.rows),
        measuredAt: new Date().toISOString(),
        entries: [...kept, ...fresh],
      };
      const comment = withRecallProfile(used.comment, serializeRecallProfile(value));
      const name = `${quoteIdentifier(colRow.ns, 'schema')}.${quoteIdentifier(used.name, 'index')}`;
      // The server quotes the comment (%L): COMMENT takes no bind parameters.
      const { rows } = await client.query<{ sql: string }>(
        `SELECT format('COMMENT ON INDEX %s IS %L', $1::text, $2::text) AS sql`,
        [name, comment],
      );
      const sql = rows[0]!.sql;
      await client.query(sql);
      profile = { sql, profile: parseRecallProfile(comment)! };
    }

    return {
      table: `${colRow.ns}.${colRow.rel}`,
      column: columnName,
      metric,
      k: maxK,
      ks,
      target: recallTarget,
      filter,
      filters: filterSamples.map((f) => f.label),
      index: used.name,
      method,
      setting,
      iterativeScan,
      pgvectorVersion,
      queries: measured.length,
      confidence: {
        level: 0.95,
        method: 'percentile bootstrap over per-query recalls',
        resamples: BOOTSTRAP_RESAMPLES,
        rule: 'recallLow >= target',
      },
      plans: { exact: exactPlan, approximate: describeNodes(annNodes) },
      steps: perK[perK.length - 1]!.steps,
      perK,
      recommended: forDatabase?.value,
      raised: forDatabase?.raised,
      buildAdvice,
      persisted,
      profile,
    };
  });
}

/** A filter sample as SQL: its text (placeholders from `$2`: `$1` is the query vector) and values. */
interface FilterSample {
  readonly label: string;
  readonly sql: string;
  readonly values: readonly unknown[];
}

function compileFilterSamples(options: TuneOptions): FilterSample[] {
  const list: (string | Filter)[] = [];
  if (typeof options.filter === 'string' && options.filter.trim() !== '') list.push(options.filter.trim());
  if (options.filters !== undefined) {
    if (!Array.isArray(options.filters)) throw invalid('filters must be a list');
    list.push(...options.filters);
  }
  const metadataColumn = raw(quoteIdentifier(options.metadataColumn ?? 'metadata', 'column'));
  const createdAtColumn = raw(quoteIdentifier(options.createdAtColumn ?? 'created_at', 'column'));
  return list.map((f) => {
    if (typeof f === 'string') {
      if (f.trim() === '') throw invalid('a filter sample must not be empty');
      return { label: f.trim(), sql: f.trim(), values: [] };
    }
    // The store's compiler (its values bound); its `$n` placeholders move up one for the query vector.
    const compiled = compileFilter(f, {
      metadataColumn,
      createdAtColumn,
      ...(options.partialIndexPredicates === undefined
        ? {}
        : { partialIndexPredicates: options.partialIndexPredicates }),
    });
    const sql = compiled.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + 1}`);
    return { label: JSON.stringify(f), sql, values: compiled.values };
  });
}

function versionAtLeast(version: string, wanted: string): boolean {
  const a = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const b = wanted.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * The tuner's result as a table for people: per k, one row per ladder value (value, mean recall with its 95%
 * interval, p50, p95), the recommendation per k, then the value for the database (raised when it would cap
 * a k), build advice, and what was persisted.
 *
 * ### Examples
 * ```ts
 * console.log(formatTuneResult(await tune(url, { table: 'documents', k: [10, 50] })));
 * // k = 10
 * // ef_search  recall  95% CI          p50 ms  p95 ms
 * //        10   0.712  [0.690, 0.733]    0.41    0.80
 * // …
 * // Recommended: hnsw.ef_search = 160 for k 10, 50 (…)
 * ```
 */
export function formatTuneResult(result: TuneResult): string {
  const name = result.method === 'hnsw' ? 'ef_search' : 'probes';
  const lines = [
    `Tuning ${result.setting} for ${result.table}.${result.column} (index ${result.index}, ${result.metric}, k = ${result.ks.join(', ')}, ${result.queries} queries${result.filter ? `, WHERE ${result.filter}` : ''}${result.iterativeScan ? `, iterative scan ${result.iterativeScan}` : ''})`,
    `Exact plan: ${result.plans.exact.join(' > ')}; approximate plan: ${result.plans.approximate.join(' > ')}`,
    `Recall: mean recall@k against exact search, 95% CI by ${result.confidence.method} (${result.confidence.resamples} resamples); a value is recommended when the CI's lower bound reaches ${result.target}.`,
  ];
  for (const p of result.perK) {
    lines.push('', `k = ${p.k}`, `${name.padStart(9)}  recall  95% CI          p50 ms  p95 ms`);
    for (const s of p.steps) {
      const notes = [
        s.value < p.k && result.method === 'hnsw' ? `caps k ${p.k}` : '',
        s.plannerUsesIndex ? '' : 'planner prefers a seq scan here',
        s.value === p.recommended ? '<- recommended' : '',
      ].filter((n) => n !== '');
      lines.push(
        `${String(s.value).padStart(9)}  ${s.recall.toFixed(3).padStart(6)}  [${s.recallLow.toFixed(3)}, ${s.recallHigh.toFixed(3)}]  ${s.p50Ms.toFixed(2).padStart(6)}  ${s.p95Ms.toFixed(2).padStart(6)}${notes.length > 0 ? `  (${notes.join('; ')})` : ''}`,
      );
    }
    if (p.recommended === undefined) {
      const best = Math.max(...p.steps.map((s) => s.recallLow));
      lines.push(
        `k ${p.k}: no ${name} value reached recall ${result.target} (best lower bound ${best.toFixed(3)})${p.limitedBy === 'queries' ? `: a mean recall reaches it, its 95% lower bound does not — measure more queries (--sample ${p.queriesNeeded ?? 'more'})` : ''}`,
      );
    } else {
      const step = p.steps.find((s) => s.value === p.recommended)!;
      lines.push(
        `k ${p.k}: ${name} ${p.recommended} (recall ${step.recall.toFixed(3)}, 95% CI [${step.recallLow.toFixed(3)}, ${step.recallHigh.toFixed(3)}], p50 ${step.p50Ms.toFixed(2)} ms)`,
      );
    }
  }
  lines.push('');
  if (result.recommended === undefined) {
    lines.push(
      `No ${name} value reached recall ${result.target} at every k: ${result.perK.every((p) => p.limitedBy !== 'graph') ? 'measure more queries' : result.method === 'hnsw' ? 'rebuild the index with larger m / ef_construction (below)' : 'rebuild the index with more lists'}, or lower the target. Nothing persisted as a setting.`,
    );
  } else {
    lines.push(
      `Recommended: ${result.setting} = ${result.recommended} for k ${result.ks.join(', ')}${result.raised ? ` (${result.raised.reason})` : ''}`,
    );
    lines.push(
      result.persisted === undefined
        ? `Persist it: --persist database|role (ALTER DATABASE <db> SET ${result.setting} = ${result.recommended}), or --persist index to record the profile for a store created with { recall: ${result.target} }.`
        : `Persisted: ${result.persisted.sql} (new connections get it)`,
    );
  }
  if (result.buildAdvice !== undefined) {
    const a = result.buildAdvice;
    lines.push(
      '',
      `Build advice: ${a.reason}.`,
      `  Rebuild with m ${a.m}, ef_construction ${a.efConstruction} (now ${a.current.m}, ${a.current.efConstruction}), then tune again:`,
      ...a.sql.map((sql) => `    ${sql};`),
      `  or build a new index: ${a.command}`,
      '  (and record the new parameters in the index migration: prisma-pgvector migration index, or drift reports them)',
    );
  }
  if (result.profile !== undefined) {
    lines.push(
      '',
      `Recall profile: ${result.profile.profile.entries.length} measurements written as the comment of index ${result.index} (a store created with { recall: ${result.target} } reads it).`,
    );
  }
  return lines.join('\n');
}
