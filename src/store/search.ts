/**
 * Search: options checked and turned into one statement with its index settings (`prepareSearch`), run
 * directly, in the store's own transaction or in the caller's (`runSearch`), rows turned into hits.
 */

import { type Sql, sqltag } from '@prisma/client/runtime/client';
import pg from 'pg';
import { partialIndexPredicateSql } from '../core/filter.js';
import { type FilterIndexKeys, filterIndexKeys } from '../core/filter-expressions.js';
import { describeValue } from '../core/input-checks.js';
import {
  distanceToSimilarity,
  isMetric,
  type Metric,
  maxDistanceFor,
  opclassFor,
  typesFor,
  type VectorType,
} from '../core/metric.js';
import { shortenVectorsIn, translateDatabaseError } from '../core/translate-error.js';
import { parseSparseVectorText, parseVectorText } from '../core/vector.js';
import { checkRecall, type IterativeScan } from './config.js';
import { atPath, type Embedding, vectorSql } from './input.js';
import { argumentError, numberOption, optionsOf, shownKey, shownValue, unknownOption } from './options.js';
import { type PoolQuery, poolQuery, poolTypes, type StorePool, toPoolQuery } from './pool.js';
import { buildExpressionSearchSql, planExpressionSearch } from './quantized-sql.js';
import {
  efSearchForRecall,
  loadRecallProfile,
  predicateKey,
  type RecallProfile,
  type SearchStrategy,
} from './recall-profile.js';
import {
  choosePlan,
  estimateKey,
  estimateRows,
  exactRowsFor,
  formatRows,
  impliedPredicates,
  type PlannerSettings,
  planOrdersByIndex,
  type RowEstimate,
  type SearchPlanChoice,
  STRATEGY_OPTIONS,
  type StrategyOption,
  scanTuplesFor,
  TtlCache,
} from './search-plan.js';
import {
  assertMetricSupported,
  DEFAULT_EF_SEARCH,
  ITERATIVE_SCAN_SINCE,
  MAX_EF_SEARCH,
  pgvectorAtLeast,
  planSearchTuning,
  type SearchSettings,
  type SearchTuning,
} from './search-settings.js';
import {
  bindPositional,
  buildApplySettingsSql,
  buildBoundedCountSql,
  buildEstimateSql,
  buildExplainSql,
  buildExpressionIndexesSql,
  buildReadSettingsSql,
  buildSearchSql,
  buildSetConfigSql,
  buildSettingsGate,
  buildStatisticsSql,
  buildTableRowsSql,
  buildTableSchemaSql,
  HIT_FIELDS,
  type HitField,
  PIN_VECTOR_INDEX,
  type SearchSpec,
  type SettingEntry,
  settingEntries,
} from './sql.js';
import { estimateConditions, readStatistics, type TableStatistics } from './statistics.js';
import {
  checkParameterCount,
  type RawRow,
  type ShapeSize,
  type StoreContext,
  type StoreRecallProfiles,
} from './store-context.js';
import type { SearchOptions, SearchPlan, SearchResult } from './types.js';

const SEARCH_OPTION_KEYS = [
  'k',
  'filter',
  'metric',
  'strategy',
  'recall',
  'efSearch',
  'iterativeScan',
  'maxScanTuples',
  'probes',
  'maxDistance',
  'minSimilarity',
  'includeEmbedding',
  'select',
];
const DEFAULT_K = 10;
/** The warning of a search with a recall target and no recall profile to pick its ef_search from. */
export const NO_RECALL_PROFILE_WARNING =
  'no recall profile; run prisma-pgvector tune --persist index (ef_search was chosen by the conservative default)';

/** Searches in a caller's transaction run one at a time per transaction client (their settings are restored). */
const transactionQueues = new WeakMap<object, Promise<unknown>>();

interface PreparedSearch {
  readonly statement: Sql;
  /** The statement with its settings applied by itself (see `buildSettingsGate`): one round trip, no transaction. */
  readonly gated: Sql | undefined;
  readonly tuning: SearchTuning;
  readonly entries: readonly SettingEntry[];
  readonly metric: Metric;
  readonly k: number;
  readonly fields: readonly HitField[];
  readonly warnings: readonly string[];
  readonly plan: SearchPlanChoice;
  /** The strategy the caller asked for (`'auto'` unless forced). */
  readonly requested: StrategyOption;
  readonly where: Sql;
}

/** What `runSearch` returns: the rows, and the setting values the server applied (floors resolved). */
interface SearchRun<R> {
  readonly rows: R[];
  readonly applied: Record<string, unknown> | undefined;
}

/** How a prepared search is changed for its second or third run. */
interface SearchOverride {
  readonly strategy?: SearchStrategy;
  readonly iterativeScan?: IterativeScan;
  readonly reason?: string;
  /** Plan from an estimate even when the filter's form has a guard (its guarded run came back full). */
  readonly noGuard?: boolean;
}

/**
 * A search (see `VectorStore.search`): planned and prepared, run; when it came back short, run once more
 * with an iterative scan (see {@link shortSearchRetry}), and when still short, exactly when the estimate says
 * that is affordable (see {@link exactFallback}). `underfilled` then means that fewer rows match, unless a
 * warning says the exact run was not affordable.
 */
export async function executeSearch<M extends object>(
  ctx: StoreContext,
  query: unknown,
  options: SearchOptions<M, HitField, boolean>,
): Promise<SearchResult<Record<string, unknown>>> {
  let prepared = await prepareSearch(ctx, query, options);
  let run = await runGated(ctx, prepared);
  const guard = prepared.plan.guard;
  if (guard !== undefined && Number(run.rows[0]?._n ?? 0) > guard) {
    // More rows match than the guard ranked: this form is not small for these values; plan from an estimate.
    // Its counts are near or across the threshold: no guard for it again until the shape cache's entry
    // expires, even when a later count is small (a failed guard costs a whole exact ranking).
    shapeCache(ctx).set(prepared.where.text, 'overflowed');
    prepared = await prepareSearch(ctx, query, options, { noGuard: true });
    run = await runGated(ctx, prepared);
  }
  const extra: string[] = [];
  if (run.rows.length < prepared.k) {
    const retry = await shortSearchRetry(ctx, query, options, prepared);
    if (retry !== undefined) {
      prepared = retry;
      run = await runGated(ctx, prepared);
    }
  }
  if (run.rows.length < prepared.k) {
    const fallback = await exactFallback(ctx, query, options, prepared, run.rows.length);
    if (fallback.prepared !== undefined) {
      prepared = fallback.prepared;
      run = await runGated(ctx, prepared);
    }
    if (fallback.warning !== undefined) extra.push(fallback.warning);
  }
  const results = run.rows.map((row) => toHit(ctx, row, prepared));
  return {
    results,
    ...(results.length < prepared.k ? { underfilled: { found: results.length, requested: prepared.k } } : {}),
    settings: appliedSettings(prepared, run.applied),
    warnings: [...prepared.warnings, ...extra],
    plan: prepared.plan,
  };
}

/** The plan of a search (see `VectorStore.explainSearch`): the same statement and settings under EXPLAIN. */
export async function explainSearchPlan<M extends object>(
  ctx: StoreContext,
  query: unknown,
  options: SearchOptions<M, HitField, boolean> & { readonly analyze?: boolean },
): Promise<SearchPlan> {
  const { analyze, ...searchOptions } = optionsOf(options, 'explainSearch options');
  if (analyze !== undefined && typeof analyze !== 'boolean') {
    throw argumentError(`analyze must be true or false, got ${describeValue(analyze)}`);
  }
  const prepared = await prepareSearch(ctx, query, searchOptions);
  const run = await runSearch<Record<string, unknown>>(
    ctx,
    prepared,
    buildExplainSql(prepared.statement, analyze === true),
    'explainSearch',
  );
  const plan = run.rows.map((r) => shortenVectorsIn(String(Object.values(r)[0])));
  const indexes = plan.flatMap((line) => {
    const match = /(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on) (\S+)/.exec(line);
    return match === null ? [] : [match[1] as string];
  });
  return {
    plan,
    indexes,
    settings: appliedSettings(prepared, run.applied),
    choice: prepared.plan,
    warnings: prepared.warnings,
  };
}

/** The settings a search applied: its own, with each floor replaced by the value the server applied. */
function appliedSettings(
  prepared: PreparedSearch,
  applied: Record<string, unknown> | undefined,
): SearchSettings {
  if (applied === undefined || prepared.tuning.floors.length === 0) return prepared.tuning.settings;
  const settings: { -readonly [K in keyof SearchSettings]: SearchSettings[K] } = {
    ...prepared.tuning.settings,
  };
  for (const [name, , floor] of prepared.entries) {
    if (floor === undefined) continue;
    const value = Number(applied[name]);
    if (!Number.isInteger(value)) continue;
    if (name.endsWith('.ef_search')) settings.efSearch = value;
    else if (name.endsWith('.probes')) settings.probes = value;
  }
  return settings;
}

/**
 * The second run of a search that came back with fewer than k rows and no iterative scan: the same search
 * with the store's `filteredIterativeScan` (on pgvector < 0.8, its larger ef_search), when that changes
 * its settings. Why: an HNSW scan yields at most ef_search candidates, and rows deleted or updated since
 * the last VACUUM stay among them (in the graph) until VACUUM removes them; the heap then drops them, and
 * the search comes back short although more rows match (measured on PostgreSQL 17 + pgvector 0.8.0 under
 * concurrent upserts and deletes: k = 50 returned 27-49 rows, k = 20 19). Not for a search that chose
 * its own `iterativeScan`, nor one with `maxDistance` / `minSimilarity` (fewer rows are then expected),
 * nor an exact one (it found every row).
 */
async function shortSearchRetry<M extends object>(
  ctx: StoreContext,
  query: unknown,
  options: SearchOptions<M, HitField, boolean>,
  first: PreparedSearch,
): Promise<PreparedSearch | undefined> {
  const scan = ctx.config.filteredIterativeScan;
  const scanning = first.tuning.settings.iterativeScan;
  if (first.plan.strategy === 'exact') return undefined;
  if (scan === 'off' || (scanning !== undefined && scanning !== 'off')) return undefined;
  if (options.iterativeScan !== undefined || options.maxDistance !== undefined) return undefined;
  if (options.minSimilarity !== undefined) return undefined;
  const again = await prepareSearch(ctx, query, options, {
    iterativeScan: scan,
    ...(first.requested === 'auto' ? {} : { strategy: first.requested as SearchStrategy }),
  });
  const same = JSON.stringify(again.tuning.settings) === JSON.stringify(first.tuning.settings);
  return same ? undefined : again;
}

/**
 * The last run of a search still short after {@link shortSearchRetry}: exact (recall 1, every matching row
 * ranked), when the filter's (or, unfiltered, the table's) estimated rows are at most
 * `planner.exactFallbackRows` — dead HNSW entries after a rolled-back or large write (until VACUUM) can
 * make even an iterative scan stop short on a small table. Above that, a warning says the exact run was
 * not affordable. Not for a forced strategy, nor `maxDistance` / `minSimilarity` (fewer rows are expected).
 */
async function exactFallback<M extends object>(
  ctx: StoreContext,
  query: unknown,
  options: SearchOptions<M, HitField, boolean>,
  last: PreparedSearch,
  found: number,
): Promise<{ prepared?: PreparedSearch; warning?: string }> {
  if (last.plan.strategy === 'exact' || last.requested !== 'auto') return {};
  if (options.maxDistance !== undefined || options.minSimilarity !== undefined) return {};
  const limit = ctx.config.planner.exactFallbackRows;
  const { estimate } = await cachedEstimate(ctx, last.where, limit);
  const rows = Math.round(estimate.rows);
  if (estimate.rows > limit) {
    return {
      warning:
        `the ${last.plan.strategy} scan returned ${found} of ${last.k} rows; an exact run over the ~${formatRows(rows)} ` +
        `estimated rows is above planner.exactFallbackRows (${formatRows(limit)}), so it was not run: ` +
        'more rows may match (dead index entries after large or failed writes stay until VACUUM: run store.maintain())',
    };
  }
  const prepared = await prepareSearch(ctx, query, options, {
    strategy: 'exact',
    reason: `the ${last.plan.strategy} scan returned ${found} of ${last.k} rows (dead index entries since the last VACUUM, or a selective filter): ~${formatRows(rows)} rows ranked exactly`,
  });
  return { prepared };
}

/** Runs the planner's statements through the search's own path: the pool, Prisma, or the caller's transaction. */
function estimateRunner(ctx: StoreContext) {
  const pool = searchPool(ctx);
  return async (statement: Sql, label: string): Promise<Record<string, unknown>[]> => {
    if (pool === undefined) return ctx.query<Record<string, unknown>>(statement, label);
    checkParameterCount(statement, label);
    try {
      return (await poolQuery(pool, toPoolQuery(statement, storePoolTypes(ctx)))) as Record<
        string,
        unknown
      >[];
    } catch (error) {
      throw translateDatabaseError(error, ctx.errorContext(label));
    }
  };
}

function searchPool(ctx: StoreContext): StorePool | undefined {
  return ctx.config.searchVia === 'pool' && !ctx.inTransaction ? ctx.config.pool : undefined;
}

/** The planner settings at a table size: `exactRows` as {@link exactRowsFor} gives it there. */
function plannerAt(planner: PlannerSettings, table: number | null): PlannerSettings {
  const exactRows = exactRowsFor(planner, table);
  return exactRows === planner.exactRows ? planner : { ...planner, exactRows, exactRowsScale: 'fixed' };
}

/** A filter's row estimate, from the store's cache or measured (then cached for `planner.estimateCacheMs`). */
async function cachedEstimate(
  ctx: StoreContext,
  where: Sql,
  limit: number,
  estimateWhere: Sql = where,
  straddles = false,
): Promise<{ estimate: RowEstimate; cached: boolean }> {
  const cache = estimateCache(ctx);
  const key = `${limit}\u0000${estimateKey(where)}`;
  const hit = cache.get(key);
  if (hit !== undefined) return { estimate: hit, cached: true };
  const c = ctx.config;
  const estimate = await estimateRows(
    where,
    limit,
    estimateRunner(ctx),
    { explain: (w) => buildEstimateSql(c, w), count: (w, n) => buildBoundedCountSql(c, w, n) },
    // jsonb containment (`@>`, GIN) has coarse statistics; B-tree-served conditions do not.
    { estimateWhere, trusted: !where.text.includes('@>'), straddles },
  );
  cache.set(key, estimate);
  return { estimate, cached: false };
}

/**
 * Per filter form (its SQL text, without the values): whether its last count was small — a tenant filter
 * seen once with a few hundred rows makes the next tenant's search one guarded exact statement instead of
 * an EXPLAIN, a bounded count and the search.
 */
function shapeCache(ctx: StoreContext): TtlCache<ShapeSize> {
  ctx.shared.shapes ??= new TtlCache<ShapeSize>(ctx.config.planner.estimateCacheMs);
  return ctx.shared.shapes as TtlCache<ShapeSize>;
}

function estimateCache(ctx: StoreContext): TtlCache<RowEstimate> {
  ctx.shared.estimates ??= new TtlCache<RowEstimate>(ctx.config.planner.estimateCacheMs);
  return ctx.shared.estimates as TtlCache<RowEstimate>;
}

/** The table's rows as the planner knows them (`reltuples`; `null` when never analyzed), cached like estimates. */
async function tableRows(ctx: StoreContext, onlyCached: boolean): Promise<number | null> {
  const cache = estimateCache(ctx);
  const hit = cache.get('\u0000table');
  if (hit !== undefined) return hit.rows < 0 ? null : hit.rows;
  if (onlyCached) return null;
  const [row] = await estimateRunner(ctx)(buildTableRowsSql(ctx.config), 'search plan: table rows');
  const rows = row === undefined ? -1 : Number(row.rows);
  cache.set('\u0000table', { rows, exact: false, indexServed: false, source: 'planner' });
  return rows < 0 || !Number.isFinite(rows) ? null : rows;
}

/**
 * The store's recall profile, read once per store (and the stores derived with `withClient`) from the
 * comment of its vector index (see `recall-profile.ts`); `store.refreshRecallProfile()` reads it again.
 */
export async function recallProfileOf(ctx: StoreContext): Promise<RecallProfile | undefined> {
  return (await recallProfilesOf(ctx)).main;
}

/** The recall profiles of the store's vector index and its partial indexes (see {@link recallProfileOf}). */
function recallProfilesOf(ctx: StoreContext): Promise<StoreRecallProfiles> {
  ctx.shared.recallProfiles ??= readProfiles(ctx).catch((error: unknown) => {
    ctx.shared.recallProfiles = undefined;
    throw error;
  });
  return ctx.shared.recallProfiles;
}

async function readProfiles(ctx: StoreContext): Promise<StoreRecallProfiles> {
  const c = ctx.config;
  const run = estimateRunner(ctx);
  const [located] = await run(buildTableSchemaSql(c), 'recall profile');
  if (typeof located?.schema !== 'string' || typeof located.table !== 'string') {
    return { main: undefined, partials: new Map() };
  }
  const opclasses = [opclassFor(c.metric, c.vectorType, c.indexMethod)];
  if (c.vectorType === 'vector' && c.metric !== 'hamming' && c.metric !== 'jaccard') {
    opclasses.push(opclassFor(c.metric, 'halfvec', c.indexMethod));
  }
  const loaded = await loadRecallProfile(
    // The tuner's constant text with positional parameters, as one Prisma statement (each `$n` bound).
    async (text, values) => (await run(bindPositional(text, values), 'recall profile')) as never,
    { schema: located.schema, table: located.table, column: c.columnNames.embedding, opclasses },
  );
  // Keyed once by the configured predicates (as the store writes them: the literal form PostgreSQL prints).
  const partials = new Map<string, RecallProfile>();
  for (const predicate of c.partialIndexPredicates) {
    const literal = partialIndexPredicateSql(c.columns.metadata, predicate).text;
    const profile = loaded.partials?.get(predicateKey(literal));
    if (profile !== undefined) partials.set(predicateId(predicate), profile);
  }
  return { main: loaded.profile, partials };
}

/**
 * The metadata key paths with a valid, non-partial B-tree on their text (`(("metadata" ->> 'k'))`) or on
 * their string expression (`metadataStringExpression`), read once per store from the table's indexes
 * (`store.refreshRecallProfile()` reads them again): equality, `in` and ranges of strings on those keys are
 * written for that B-tree (see `CompileFilterOptions.textIndexKeys` / `stringIndexKeys`). None when the
 * table cannot be read (the containment form is always correct).
 */
export async function filterIndexKeysOf(ctx: StoreContext): Promise<FilterIndexKeys> {
  const known = ctx.shared.filterIndexKeys;
  if (known !== undefined) return known;
  // Declared first: the reading compares itself with the shared state (a refresh may replace it).
  let reading: Promise<FilterIndexKeys> | undefined;
  reading = (async () => {
    const rows = await estimateRunner(ctx)(buildExpressionIndexesSql(ctx.config), 'text indexes');
    const keys = filterIndexKeys(ctx.config.columnNames.metadata, rows);
    // Kept as the sets themselves once read: the next searches compile their filter once, with no await.
    if (ctx.shared.filterIndexKeys === reading) ctx.shared.filterIndexKeys = keys;
    return keys;
  })().catch((error: unknown) => {
    if (ctx.shared.filterIndexKeys === reading) ctx.shared.filterIndexKeys = undefined;
    throw error;
  });
  ctx.shared.filterIndexKeys = reading;
  return reading;
}

/**
 * The table's statistics (statistics.ts), read at most once per `planner.estimateCacheMs` (never with 0):
 * the first search waits for them, later ones use the last copy while a fresh one is read; never read in a
 * caller's transaction. `undefined` when they cannot be read (the planner then estimates with statements,
 * as without them).
 */
async function statisticsOf(ctx: StoreContext): Promise<TableStatistics | undefined> {
  const ttl = ctx.config.planner.estimateCacheMs;
  if (ttl <= 0) return undefined;
  ctx.shared.statistics ??= { value: undefined, until: 0, reading: undefined };
  const state = ctx.shared.statistics;
  const now = Date.now();
  if (now < state.until) return state.value;
  // Not read on a caller's transaction (a statement of ours there, started in the background, could
  // interleave with theirs): the last copy read outside serves, else the statements estimate.
  if (ctx.inTransaction) return state.until > 0 ? state.value : undefined;
  if (state.reading === undefined) {
    const reading = estimateRunner(ctx)(buildStatisticsSql(ctx.config), 'search plan: statistics')
      .then((rows) => readStatistics(ctx.config.columnNames.metadata, rows))
      .catch(() => undefined)
      .then((value) => {
        if (ctx.shared.statistics === state) {
          state.value = value;
          state.until = Date.now() + ttl;
          state.reading = undefined;
        }
        return value;
      });
    state.reading = reading;
    // Read before: the stale copy serves this search.
    if (state.until > 0) return state.value;
  }
  return state.until > 0 ? state.value : state.reading;
}

/** A search's options checked, its strategy chosen, turned into its statement, index settings and warnings. */
async function prepareSearch<M extends object>(
  ctx: StoreContext,
  query: unknown,
  input: unknown,
  override: SearchOverride = {},
): Promise<PreparedSearch> {
  const snapshot = optionsOf(input, 'search options');
  const unknownKey = unknownOption(snapshot, SEARCH_OPTION_KEYS);
  const options = snapshot as SearchOptions<M, HitField, boolean>;
  if (unknownKey !== undefined) {
    throw argumentError(
      `unknown search option ${shownKey(unknownKey)}; options are: ${SEARCH_OPTION_KEYS.join(', ')}`,
    );
  }
  for (const name of ['k', 'efSearch', 'maxScanTuples', 'probes'] as const) {
    numberOption(options[name], name, 'an integer');
  }
  numberOption(options.maxDistance, 'maxDistance');
  numberOption(options.minSimilarity, 'minSimilarity');
  if (options.iterativeScan !== undefined && typeof options.iterativeScan !== 'string') {
    throw argumentError(`iterativeScan must be a string, got ${describeValue(options.iterativeScan)}`);
  }
  if (options.includeEmbedding !== undefined && typeof options.includeEmbedding !== 'boolean') {
    throw argumentError(
      `includeEmbedding must be true or false, got ${describeValue(options.includeEmbedding)}`,
    );
  }
  const asked = options.strategy ?? 'auto';
  if (!(STRATEGY_OPTIONS as readonly unknown[]).includes(asked)) {
    throw argumentError(
      `strategy must be one of ${STRATEGY_OPTIONS.map((s) => `'${s}'`).join(', ')}, got ${shownValue(asked)}`,
    );
  }
  const recall =
    options.recall === undefined
      ? ctx.config.recall
      : checkRecall(options.recall, (message) => argumentError(message));
  const c = ctx.config;
  const metric = options.metric ?? c.metric;
  if (!isMetric(metric)) throw argumentError(`unknown metric ${shownValue(metric)}`);
  if (!typesFor(metric).includes(c.vectorType)) {
    throw argumentError(
      `metric '${metric}' is not available for vectorType '${c.vectorType}'; it needs ${typesFor(metric).join(' or ')}`,
    );
  }
  const k = options.k ?? DEFAULT_K;
  const fields = checkSelect(options.select);
  const maxDistance = maxDistanceOf(ctx, options, metric);
  const vector = vectorSql(c, query, 'query', ctx.vectorEncoding, metric === 'cosine');
  // Written for the table's text indexes once they are known; before the first read, validated first (a
  // bad filter never reaches the database), then written again for them.
  const shared = ctx.shared.filterIndexKeys;
  const knownKeys = shared === undefined || shared instanceof Promise ? undefined : shared;
  let filter = ctx.compile(options.filter, knownKeys);
  if (knownKeys === undefined && !filter.everyRow && !filter.noRow) {
    const keys = await filterIndexKeysOf(ctx);
    if (keys.text.size > 0 || keys.string.size > 0) filter = ctx.compile(options.filter, keys);
  }
  const where = filter.where;
  const version = await ctx.pgvectorVersion();
  assertMetricSupported(metric, version);
  if (!Number.isInteger(k) || k < 1 || k > MAX_EF_SEARCH) {
    throw argumentError(`k must be an integer from 1 to ${MAX_EF_SEARCH}, got ${String(k)}`);
  }

  const requested: StrategyOption = override.strategy ?? (asked as StrategyOption);
  let plan = await planStrategy(
    ctx,
    filter,
    requested,
    maxDistance === undefined && override.noGuard !== true,
  );
  const plannerOwnEstimate = PLANNER_OWN_ESTIMATE.has(plan);
  if (override.reason !== undefined) plan = { ...plan, reason: override.reason };
  const strategy = plan.strategy;
  const exact = strategy === 'exact';
  const hnsw = c.indexMethod === 'hnsw';
  const iterativeSince = pgvectorAtLeast(version, ITERATIVE_SCAN_SINCE);
  const warnings: string[] = [];

  // ef_search: the search's own, else the one its recall target needs, else k (the server's when higher).
  let efSearch = options.efSearch;
  if (efSearch === undefined && recall !== undefined && hnsw && !exact) {
    // A partial index is a graph of its own: its own profile, not the table index's.
    efSearch =
      strategy === 'partial'
        ? await partialEfSearchFor(ctx, filter, k, recall, warnings)
        : await efSearchFor(ctx, k, recall, strategy, warnings);
  }
  // A filter that is exactly a partial index's predicate: every row of that index matches, so its scan
  // needs no iterative continuation (nor the re-sort a relaxed one needs) — a plain scan of a smaller graph.
  const wholePartial = strategy === 'partial' && isOnlyPredicate(ctx, filter);
  const iterativeScan: IterativeScan | undefined =
    override.iterativeScan ??
    options.iterativeScan ??
    ((strategy === 'index' && !filter.everyRow) || wholePartial ? 'off' : undefined);
  const maxScanTuples =
    options.maxScanTuples ??
    (hnsw && iterativeSince && (strategy === 'iterative' || (strategy === 'partial' && !wholePartial))
      ? scanTuplesFor(k, plan.selectivity)
      : undefined);

  // Models above 2,000 dimensions: an expression index (halfvec / binary_quantize) serves the search
  // through k × rerank candidates (quantized-sql.ts); the index settings are sized for the candidates.
  const expression = planExpressionSearch(c, metric, k, recall);
  const tuning: SearchTuning = exact
    ? { settings: {}, relaxed: false, warnings: [], floors: [] }
    : planSearchTuning(
        {
          k: expression.plan?.candidates ?? k,
          filtered: strategy === 'iterative' || (strategy === 'partial' && !wholePartial),
          ...(efSearch === undefined ? {} : { efSearch }),
          ...(iterativeScan === undefined ? {} : { iterativeScan }),
          ...(maxScanTuples === undefined ? {} : { maxScanTuples }),
          ...(options.probes === undefined ? {} : { probes: options.probes }),
        },
        {
          indexMethod: c.indexMethod,
          filteredIterativeScan: c.filteredIterativeScan,
          pgvectorVersion: version,
        },
      );
  warnings.push(...tuning.warnings, ...(exact ? [] : expression.warnings));
  if (metric !== c.metric && !exact) {
    warnings.push(
      `metric '${metric}' differs from the store's '${c.metric}', which the vector index was built for: this search cannot use the index and scans the whole table`,
    );
  }
  const spec: SearchSpec = {
    query: vector,
    metric,
    k,
    where,
    fields,
    includeEmbedding: options.includeEmbedding === true,
    maxDistance,
    relaxed: tuning.relaxed,
    ...(exact ? { exact: true } : {}),
    ...(exact && plan.guard !== undefined ? { guard: plan.guard } : {}),
  };
  const build = () =>
    exact || expression.plan === undefined
      ? buildSearchSql(c, spec)
      : buildExpressionSearchSql(c, spec, expression.plan);
  // Also for expression searches: with a filter, PostgreSQL chose a sequential scan that casts every
  // matching row to halfvec (3.5× slower than exact search at 20k × 3072). Not a filter that is exactly a
  // partial index's predicate: PostgreSQL itself prefers that index (the same order from a smaller graph;
  // checked on PostgreSQL 17 + pgvector 0.8.0 from 100k to 1M rows), or, on a table small enough, a
  // sequential scan and a sort, which is exact — one gated statement instead of a transaction of three.
  const settings = settingEntries(tuning.settings, c.indexMethod, tuning.floors);
  // The gated statement the probe below asked about, when it asked: the one that runs unpinned.
  let probed: Sql | undefined;
  let pinned = (strategy === 'partial' && !wholePartial) || (strategy === 'iterative' && !plannerOwnEstimate);
  if (
    pinned &&
    strategy === 'iterative' &&
    c.indexMethod === 'hnsw' &&
    !ctx.inTransaction &&
    expression.plan === undefined &&
    settings.length > 0
  ) {
    // An iterative plan from a count (PostgreSQL's own figure was low, as jsonb containment's often is):
    // when PostgreSQL plans the unpinned statement on the vector index anyway, it runs as one gated
    // statement instead of a transaction of three (asked once per filter and k, see unpinnedOnIndex).
    probed = buildSearchSql(c, { ...spec, gate: buildSettingsGate(settings) });
    pinned = !(await unpinnedOnIndex(ctx, probed, `${k}\u0000${metric}\u0000${estimateKey(where)}`));
  }
  const entries = [...settings, ...(pinned ? PIN_VECTOR_INDEX : [])];
  // Outside a transaction block the statement applies its own settings: one round trip instead of four.
  // An expression search gates its outer query: the one-time filter runs before the candidate scan starts
  // (checked on PostgreSQL 17 + pgvector 0.8.0: session ef_search 10, the bq scan returned its 100 candidates).
  // HNSW only: pgvector reads hnsw.ef_search / iterative_scan / max_scan_tuples when the scan fetches its
  // first tuple (after the gate ran), but ivfflat.probes and ivfflat.iterative_scan in ivfflatbeginscan, at
  // executor start, before any filter is evaluated: an IVFFlat search sets them in a transaction.
  const gated =
    entries.length > 0 && c.indexMethod === 'hnsw' && !pinned && !ctx.inTransaction && !exact
      ? expression.plan === undefined
        ? (probed ?? buildSearchSql(c, { ...spec, gate: buildSettingsGate(entries) }))
        : buildExpressionSearchSql(c, { ...spec, gate: buildSettingsGate(entries) }, expression.plan)
      : undefined;
  // The plain statement only when it runs (no gate) or is explained: built lazily, once.
  let statement = gated === undefined ? build() : undefined;
  return {
    get statement() {
      statement ??= build();
      return statement;
    },
    gated,
    tuning,
    entries,
    metric,
    k,
    fields,
    warnings,
    plan,
    requested,
    where,
  };
}

/** Whether a filter is exactly one configured partial-index predicate (the same SQL and values). */
function isOnlyPredicate(ctx: StoreContext, filter: ReturnType<StoreContext['compile']>): boolean {
  const [predicate, ...more] = impliedPredicates(filter);
  if (predicate === undefined || more.length > 0) return false;
  const only = ctx.compile({ [predicate.key]: predicate.value } as never).where;
  return only.text === filter.where.text && estimateKey(only) === estimateKey(filter.where);
}

/** The strategy of a search: forced, or chosen from the filter's estimate (see `search-plan.ts`). */
async function planStrategy(
  ctx: StoreContext,
  filter: ReturnType<StoreContext['compile']>,
  requested: StrategyOption,
  allowGuard: boolean,
): Promise<SearchPlanChoice> {
  const configured = ctx.config.planner;
  const predicates = impliedPredicates(filter);
  const unfiltered = filter.everyRow;
  if (requested === 'auto' && filter.noRow) {
    return {
      strategy: 'exact',
      estimatedRows: 0,
      tableRows: await tableRows(ctx, true),
      selectivity: 0,
      estimateSource: 'none',
      reason: 'the filter matches no row',
    };
  }
  if (requested !== 'auto' || unfiltered) {
    // No statement is spent on a forced or unfiltered plan: the cache may still know the figures.
    const table = await tableRows(ctx, true);
    const planner = plannerAt(configured, table);
    const known = unfiltered
      ? undefined
      : estimateCache(ctx).get(`${planner.exactRows}\u0000${estimateKey(filter.where)}`);
    return choosePlan({
      requested,
      unfiltered,
      predicates,
      estimate: unfiltered ? undefined : known,
      cached: known !== undefined,
      tableRows: table,
      planner,
    });
  }
  // The table's rows (cached like estimates): the exact threshold grows with them.
  const table = await tableRows(ctx, false);
  const planner = plannerAt(configured, table);
  const fromStatistics = await statisticsPlan(ctx, filter, predicates, table, planner);
  if (fromStatistics !== undefined) return fromStatistics;
  const shapes = shapeCache(ctx);
  const shape = filter.where.text;
  const seen = shapes.get(shape);
  const cachedFigure = estimateCache(ctx).get(`${planner.exactRows}\u0000${estimateKey(filter.where)}`);
  if (allowGuard && cachedFigure === undefined && predicates.length === 0 && seen === 'small') {
    return {
      strategy: 'exact',
      estimatedRows: null,
      tableRows: table,
      selectivity: null,
      estimateSource: 'guard',
      reason: `filters of this form matched at most exactRows (${formatRows(planner.exactRows)}) rows when last counted: ranked exactly in one statement that also counts the rows (planned again if more match)`,
      guard: planner.exactRows,
    };
  }
  const { estimate, cached } = await cachedEstimate(
    ctx,
    filter.where,
    planner.exactRows,
    filter.estimateWhere,
    // Counted (or estimated) above the threshold before, or its guard overflowed: near the threshold.
    seen === 'overflowed' || seen === 'large',
  );
  // Read again: a concurrent search of this form may have overflowed its guard meanwhile.
  if (!cached && shapes.get(shape) !== 'overflowed') {
    const small = estimate.indexServed && estimate.exact && estimate.rows <= planner.exactRows;
    shapes.set(shape, small ? 'small' : 'large');
  }
  let predicateRows: number | undefined;
  const [predicate] = predicates;
  if (predicate !== undefined && estimate.rows > planner.exactRows) {
    const only = ctx.compile({ [predicate.key]: predicate.value } as never);
    predicateRows = (await cachedEstimate(ctx, only.where, planner.exactRows)).estimate.rows;
  }
  const choice = choosePlan({
    requested,
    unfiltered,
    predicates,
    estimate,
    cached,
    predicateRows,
    tableRows: table,
    planner,
  });
  // PostgreSQL plans the search from about the same figure (the type tests are written as inequalities,
  // which it guesses hold on 99.5% of rows).
  if (estimate.source === 'planner') PLANNER_OWN_ESTIMATE.add(choice);
  return choice;
}

/**
 * A plan from the table's statistics, with no statement (see statistics.ts), for a filter of conditions on
 * indexed expressions that implies no partial index: exact when the figure is at most `exactRows` on a
 * B-tree-served condition and its upper bound at most twice that (no guard), iterative when the figure is
 * above `exactRows` (the figure PostgreSQL's EXPLAIN gives; B-tree statistics are trusted above the
 * threshold). Otherwise, or without statistics: undefined (estimated with statements).
 */
async function statisticsPlan(
  ctx: StoreContext,
  filter: ReturnType<StoreContext['compile']>,
  predicates: readonly unknown[],
  table: number | null,
  planner: PlannerSettings,
): Promise<SearchPlanChoice | undefined> {
  const conditions = filter.conditions;
  if (conditions === undefined || predicates.length > 0 || table === null || !(table > 0)) return undefined;
  const statistics = await statisticsOf(ctx);
  const figure = statistics === undefined ? undefined : estimateConditions(conditions, statistics, table);
  if (figure === undefined) return undefined;
  const rows = Math.round(figure.rows);
  const threshold = formatRows(planner.exactRows);
  // Exact when the figure is within the threshold and its bound within twice it: a figure off by its bound
  // then costs at most an exact ranking of 2 × exactRows rows — about two iterative scans, where exact and
  // iterative cost the same at exactRows — and needs neither a guard (~0.4 µs per ranked row) nor a count.
  if (figure.indexed && figure.rows <= planner.exactRows && figure.upper <= 2 * planner.exactRows) {
    return {
      strategy: 'exact',
      estimatedRows: rows,
      tableRows: table,
      selectivity: Math.min(1, figure.rows / table),
      estimateSource: 'statistics',
      reason: `the table's statistics put the filter at ~${formatRows(rows)} rows (≤ exactRows ${threshold}; at most ${formatRows(figure.upper)}): ranked exactly over the rows the filter's index selects`,
    };
  }
  if (rows <= planner.exactRows) return undefined;
  const choice = choosePlan({
    requested: 'auto',
    unfiltered: false,
    predicates: [],
    estimate: { rows, exact: false, indexServed: figure.indexed, source: 'statistics' },
    tableRows: table,
    planner,
  });
  // PostgreSQL estimates the same figure from the same statistics: it prefers the vector index itself.
  PLANNER_OWN_ESTIMATE.add(choice);
  return choice;
}

/**
 * Whether PostgreSQL plans a search statement (unpinned, gated) as a scan of the vector index in its order —
 * then pinning it (`enable_seqscan` / `enable_bitmapscan` off, in a transaction) changes nothing but costs
 * two round trips. From `EXPLAIN (FORMAT JSON)` of the statement itself (the plan its run will use: the
 * same text and values), remembered by `key` (the filter's SQL and values, k, metric) for
 * `planner.estimateCacheMs`.
 * 100,000 rows, a 10% containment filter PostgreSQL puts at ~5,000 rows (so it is counted): it still plans
 * the HNSW scan.
 */
async function unpinnedOnIndex(ctx: StoreContext, statement: Sql, key: string): Promise<boolean> {
  ctx.shared.unpinned ??= new TtlCache<boolean>(ctx.config.planner.estimateCacheMs);
  const cache = ctx.shared.unpinned as TtlCache<boolean>;
  const known = cache.get(key);
  if (known !== undefined) return known;
  let onIndex = false;
  try {
    const rows = await estimateRunner(ctx)(
      sqltag`EXPLAIN (FORMAT JSON) ${statement}`,
      'search plan: vector index',
    );
    onIndex = planOrdersByIndex(rows);
  } catch {
    // Unreadable: pin, as without asking.
  }
  cache.set(key, onIndex);
  return onIndex;
}

/**
 * Plans chosen from PostgreSQL's own row estimate (no count): an iterative plan of these needs no pin
 * (`PIN_VECTOR_INDEX`), since the same estimate makes PostgreSQL prefer the vector index scan itself — so
 * it runs as one gated statement instead of a transaction of three.
 */
const PLANNER_OWN_ESTIMATE = new WeakSet<SearchPlanChoice>();

/**
 * The ef_search a recall target needs at k for a strategy: from the store's recall profile, or without
 * one the conservative default `max(2k, 100)` up to recall 0.95 (`max(4k, 200)` above), at most 1000 —
 * with a warning saying there is no profile.
 */
async function efSearchFor(
  ctx: StoreContext,
  k: number,
  recall: number,
  strategy: SearchStrategy,
  warnings: string[],
): Promise<number> {
  const profile = (await recallProfilesOf(ctx)).main;
  return efSearchFromProfile(profile, k, recall, strategy === 'index' ? 'index' : 'iterative', warnings, {
    missing: NO_RECALL_PROFILE_WARNING,
    whose: 'the recall profile',
  });
}

/**
 * The ef_search a recall target needs on the partial index a filter's plan scans: from that index's own
 * recall profile (`tune --partial-index k=v --filter '{"k":"v"}' --persist index` writes it on the partial
 * index), else the conservative default, with a warning. Not the table index's profile: a partial index is
 * a graph of its own, much smaller (at 1M rows the whole index's ef_search 1000 made a 10k-row partial scan
 * 5× slower than ef 40, both at recall 1.0).
 */
async function partialEfSearchFor(
  ctx: StoreContext,
  filter: ReturnType<StoreContext['compile']>,
  k: number,
  recall: number,
  warnings: string[],
): Promise<number> {
  const [predicate] = impliedPredicates(filter);
  const profiles = await recallProfilesOf(ctx);
  const profile = predicate === undefined ? undefined : profiles.partials.get(predicateId(predicate));
  const key = predicate?.key ?? 'key';
  const value = predicate?.value ?? 'value';
  return efSearchFromProfile(profile, k, recall, 'iterative', warnings, {
    missing: `no recall profile on the partial index of ${predicate === undefined ? 'the filter' : `${key} = '${value}'`}; run prisma-pgvector tune --partial-index ${key}=${value} --filter '{"${key}":"${value}"}' --persist index (ef_search was chosen by the conservative default)`,
    whose: "the partial index's recall profile",
  });
}

/**
 * The ef_search of a recall target from a profile (see `efSearchForRecall`), never below pgvector's default
 * 40; without a profile the conservative default. Either way short of the target, a warning says so.
 */
function efSearchFromProfile(
  profile: RecallProfile | undefined,
  k: number,
  recall: number,
  strategy: 'index' | 'iterative',
  warnings: string[],
  say: { readonly missing: string; readonly whose: string },
): number {
  if (profile === undefined) {
    warnings.push(say.missing);
    return conservativeEfSearch(k, recall);
  }
  const choice = efSearchForRecall(profile, k, recall, strategy);
  if (!choice.reached) {
    warnings.push(
      `${say.whose} has no ef_search reaching recall ${recall} at k ${k}${choice.reason === undefined ? '' : ` (${choice.reason})`}: used ${choice.efSearch}`,
    );
  }
  // A recall target never lowers ef_search below pgvector's default 40: a profile can reach its target
  // lower (a small partial index), but on its lower bound over the tuner's queries, not another sample's. At
  // 100,000 rows the 1% partial index's profile chose 20 (lower bound 0.961 over 600 queries); the bench's
  // own 100 queries then measured 0.945 at 20, and 0.984 at 40, for 0.1 ms more.
  return Math.max(choice.efSearch, DEFAULT_EF_SEARCH);
}

/** The key of a configured partial-index predicate in `StoreRecallProfiles.partials`. */
function predicateId(predicate: { readonly key: string; readonly value: string }): string {
  return `${predicate.key}\u0000${predicate.value}`;
}

/**
 * The ef_search used for a recall target without a recall profile: `max(2k, 100)` up to recall 0.95,
 * `max(4k, 200)` above, at most 1000.
 *
 * ### Examples
 * ```ts
 * conservativeEfSearch(10, 0.95); // 100
 * conservativeEfSearch(100, 0.99); // 400
 * ```
 */
export function conservativeEfSearch(k: number, recall: number): number {
  const ef = recall <= 0.95 ? Math.max(2 * k, 100) : Math.max(4 * k, 200);
  return Math.min(MAX_EF_SEARCH, ef);
}

function checkSelect(select: readonly HitField[] | undefined): readonly HitField[] {
  if (select === undefined) return HIT_FIELDS;
  if (!Array.isArray(select)) {
    throw argumentError(`select must be an array of ${HIT_FIELDS.join(', ')}, got ${describeValue(select)}`);
  }
  const fields = Array.from(select as readonly unknown[]);
  for (const field of fields) {
    if (!(HIT_FIELDS as readonly unknown[]).includes(field)) {
      throw argumentError(`select: unknown field ${shownValue(field)}; fields are: ${HIT_FIELDS.join(', ')}`);
    }
  }
  return HIT_FIELDS.filter((f) => fields.includes(f));
}

function maxDistanceOf<M extends object>(
  ctx: StoreContext,
  options: SearchOptions<M, HitField, boolean>,
  metric: Metric,
): number | undefined {
  const { maxDistance, minSimilarity } = options;
  if (maxDistance !== undefined && minSimilarity !== undefined) {
    throw argumentError('pass maxDistance or minSimilarity, not both');
  }
  if (maxDistance !== undefined) {
    if (typeof maxDistance !== 'number' || Number.isNaN(maxDistance)) {
      throw argumentError(`maxDistance must be a number, got ${shownValue(maxDistance)}`);
    }
    return maxDistance === Number.POSITIVE_INFINITY ? undefined : maxDistance;
  }
  if (minSimilarity === undefined) return undefined;
  try {
    const d = maxDistanceFor(metric, minSimilarity, ctx.config.dimensions);
    return d === Number.POSITIVE_INFINITY ? undefined : d;
  } catch (error) {
    throw atPath(error, 'minSimilarity');
  }
}

/** Runs a search: its self-applying statement directly when it has one, else as {@link runSearch} does. */
async function runGated(ctx: StoreContext, prepared: PreparedSearch): Promise<SearchRun<RawRow>> {
  if (prepared.gated === undefined) return runSearch<RawRow>(ctx, prepared, prepared.statement, 'search');
  const pool = searchPool(ctx);
  let rows: (RawRow & { _settings?: unknown })[];
  if (pool !== undefined) {
    checkParameterCount(prepared.gated, 'search');
    try {
      rows = (await poolQuery(pool, toPoolQuery(prepared.gated, storePoolTypes(ctx)))) as RawRow[];
    } catch (error) {
      throw translateDatabaseError(error, ctx.errorContext('search', prepared.metric));
    }
  } else {
    rows = await ctx.query<RawRow>(prepared.gated, 'search', ctx.client, prepared.metric);
  }
  const reported = rows[0]?._settings;
  let applied: Record<string, unknown> | undefined;
  if (typeof reported === 'string') {
    const values = reported.split(',');
    const floors = prepared.entries.filter(([, , floor]) => floor !== undefined);
    applied = Object.fromEntries(floors.map(([name], i) => [name, values[i]]));
  }
  return { rows, applied };
}

/**
 * Runs a search statement with its settings: directly (no settings: an exact search), in an own
 * transaction, or in the caller's. Through the pool, `BEGIN` and the settings travel in one message.
 */
async function runSearch<R>(
  ctx: StoreContext,
  prepared: PreparedSearch,
  statement: Sql,
  operation: string,
): Promise<SearchRun<R>> {
  const entries = prepared.entries;
  const metric = prepared.metric;
  const pool = searchPool(ctx);
  checkParameterCount(statement, operation);
  const apply = entries.length === 0 ? undefined : buildApplySettingsSql(entries);
  if (pool !== undefined) {
    try {
      const types = storePoolTypes(ctx);
      if (apply === undefined) {
        return { rows: (await poolQuery(pool, toPoolQuery(statement, types))) as R[], applied: undefined };
      }
      return (await poolSearch(pool, apply.text, toPoolQuery(statement, types))) as SearchRun<R>;
    } catch (error) {
      throw translateDatabaseError(error, ctx.errorContext(operation, metric));
    }
  }
  if (apply === undefined) {
    return { rows: await ctx.query<R>(statement, operation, ctx.client, metric), applied: undefined };
  }
  if (!ctx.inTransaction) {
    return ctx.transaction(operation, async (tx) => {
      const [applied] = await ctx.query<Record<string, unknown>>(apply, `${operation}: settings`, tx, metric);
      return { rows: await ctx.query<R>(statement, operation, tx, metric), applied };
    });
  }
  // In the caller's transaction: read the current values, set ours, search, put theirs back. Searches on
  // the same transaction client are queued so that they cannot interleave between set and restore.
  const client = ctx.client;
  const previous = transactionQueues.get(client) ?? Promise.resolve();
  const run = previous.then(async () => {
    const names = entries.map(([name]) => name);
    const [current] = await ctx.query<Record<string, string | null>>(
      buildReadSettingsSql(names),
      `${operation}: settings`,
      client,
    );
    const [applied] = await ctx.query<Record<string, unknown>>(
      apply,
      `${operation}: settings`,
      client,
      metric,
    );
    const rows = await ctx.query<R>(statement, operation, client, metric);
    await ctx.query(
      buildSetConfigSql(names.map((name) => [name, current?.[name] ?? null] as const)),
      `${operation}: restoring settings`,
      client,
    );
    return { rows, applied };
  });
  transactionQueues.set(
    client,
    run.catch(() => undefined),
  );
  return run;
}

/**
 * A search in a transaction of its own on one pool connection, in three round trips: `BEGIN` and the
 * settings in one simple-protocol message (the settings statement has no parameters), the search, `COMMIT`.
 * On an error the transaction is rolled back; a connection that cannot roll back is discarded.
 */
async function poolSearch(pool: StorePool, apply: string, statement: PoolQuery): Promise<SearchRun<unknown>> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on?.('error', onError);
  let broken: Error | undefined;
  try {
    const begun = await client.query(`BEGIN; ${apply}`);
    const results = (Array.isArray(begun) ? begun : [begun]) as { rows?: Record<string, unknown>[] }[];
    const applied = results[results.length - 1]?.rows?.[0];
    const rows = (await client.query(statement)).rows;
    await client.query('COMMIT');
    return { rows, applied };
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    const reported = typeof (lost as { severity?: unknown } | undefined)?.severity === 'string';
    throw reported ? lost : error;
  } finally {
    client.removeListener?.('error', onError);
    client.release(lost ?? broken ?? false);
  }
}

/** `pg`'s type parsers with `timestamp` read as UTC (see {@link poolTypes}); built once per store. */
function storePoolTypes(ctx: StoreContext): PoolQuery['types'] {
  ctx.shared.poolTypes ??= poolTypes(pg.types);
  return ctx.shared.poolTypes;
}

function toHit(ctx: StoreContext, row: RawRow, prepared: PreparedSearch): Record<string, unknown> {
  const distance = Number(row.distance);
  const hit: Record<string, unknown> = {
    id: String(row.id),
    distance,
    similarity: Number.isFinite(distance)
      ? distanceToSimilarity(prepared.metric, distance, ctx.config.dimensions)
      : Number.NaN,
  };
  if (prepared.fields.includes('content')) hit.content = row.content;
  if (prepared.fields.includes('metadata')) hit.metadata = row.metadata ?? null;
  if (prepared.fields.includes('createdAt')) hit.createdAt = row.createdAt;
  if (row.embedding !== undefined) hit.embedding = parseEmbedding(ctx, row.embedding);
  return hit;
}

export function parseEmbedding(ctx: StoreContext, value: unknown): Embedding<VectorType> {
  const text = String(value);
  switch (ctx.config.vectorType) {
    case 'bit':
      return text as Embedding<VectorType>;
    case 'sparsevec':
      return parseSparseVectorText(text) as Embedding<VectorType>;
    default:
      return parseVectorText(text) as Embedding<VectorType>;
  }
}
