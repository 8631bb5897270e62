/**
 * Search: options checked and turned into one statement with its index settings (`prepareSearch`), run
 * directly, in the store's own transaction or in the caller's (`runSearch`), rows turned into hits.
 */

import type { Sql } from '@prisma/client/runtime/client';
import pg from 'pg';
import { describeValue } from '../core/input-checks.js';
import {
  distanceToSimilarity,
  isMetric,
  type Metric,
  maxDistanceFor,
  typesFor,
  type VectorType,
} from '../core/metric.js';
import { shortenVectorsIn, translateDatabaseError } from '../core/translate-error.js';
import { parseSparseVectorText, parseVectorText } from '../core/vector.js';
import { atPath, type Embedding, vectorSql } from './input.js';
import { argumentError, numberOption, optionsOf, shownKey, shownValue, unknownOption } from './options.js';
import { type PoolQuery, poolQuery, poolTransaction, poolTypes, toPoolQuery } from './pool.js';
import { buildExpressionSearchSql, planExpressionSearch } from './quantized-sql.js';
import { assertMetricSupported, planSearchTuning, type SearchTuning } from './search-settings.js';
import {
  buildExplainSql,
  buildReadSettingsSql,
  buildSearchSql,
  buildSetConfigSql,
  HIT_FIELDS,
  type HitField,
  type SearchSpec,
  settingEntries,
} from './sql.js';
import { checkParameterCount, type RawRow, type StoreContext } from './store-context.js';
import type { SearchOptions, SearchPlan, SearchResult } from './types.js';

const SEARCH_OPTION_KEYS = [
  'k',
  'filter',
  'metric',
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

/** Searches in a caller's transaction run one at a time per transaction client (their settings are restored). */
const transactionQueues = new WeakMap<object, Promise<unknown>>();

interface PreparedSearch {
  readonly statement: Sql;
  readonly tuning: SearchTuning;
  readonly metric: Metric;
  readonly k: number;
  readonly fields: readonly HitField[];
  readonly warnings: readonly string[];
}

/**
 * A search (see `VectorStore.search`): prepared, run, and run once more with an iterative scan when it came
 * back short (see {@link shortSearchRetry}).
 */
export async function executeSearch<M extends object>(
  ctx: StoreContext,
  query: unknown,
  options: SearchOptions<M, HitField, boolean>,
): Promise<SearchResult<Record<string, unknown>>> {
  let prepared = await prepareSearch(ctx, query, options);
  let rows = await runSearch<RawRow>(ctx, prepared, prepared.statement, 'search');
  const retry = rows.length < prepared.k ? await shortSearchRetry(ctx, query, options, prepared) : undefined;
  if (retry !== undefined) {
    prepared = retry;
    rows = await runSearch<RawRow>(ctx, prepared, prepared.statement, 'search');
  }
  const results = rows.map((row) => toHit(ctx, row, prepared));
  return {
    results,
    ...(results.length < prepared.k ? { underfilled: { found: results.length, requested: prepared.k } } : {}),
    settings: prepared.tuning.settings,
    warnings: prepared.warnings,
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
  const rows = await runSearch<Record<string, unknown>>(
    ctx,
    prepared,
    buildExplainSql(prepared.statement, analyze === true),
    'explainSearch',
  );
  const plan = rows.map((r) => shortenVectorsIn(String(Object.values(r)[0])));
  const indexes = plan.flatMap((line) => {
    const match = /(?:Index(?: Only)? Scan(?: Backward)? using|Bitmap Index Scan on) (\S+)/.exec(line);
    return match === null ? [] : [match[1] as string];
  });
  return { plan, indexes, settings: prepared.tuning.settings };
}

/**
 * The second run of a search that came back with fewer than k rows and no iterative scan: the same search
 * with the store's `filteredIterativeScan` (on pgvector < 0.8, its larger ef_search), when that changes
 * its settings. Why: an HNSW scan yields at most ef_search candidates, and rows deleted or updated since
 * the last VACUUM stay among them (in the graph) until VACUUM removes them; the heap then drops them, and
 * the search comes back short although more rows match (measured on PostgreSQL 17 + pgvector 0.8.0 under
 * concurrent upserts and deletes: k = 50 returned 27-49 rows, k = 20 19). Not for a search that chose
 * its own `iterativeScan`, nor one with `maxDistance` / `minSimilarity` (fewer rows are then expected).
 */
async function shortSearchRetry<M extends object>(
  ctx: StoreContext,
  query: unknown,
  options: SearchOptions<M, HitField, boolean>,
  first: PreparedSearch,
): Promise<PreparedSearch | undefined> {
  const scan = ctx.config.filteredIterativeScan;
  if (scan === 'off' || first.tuning.settings.iterativeScan !== undefined) return undefined;
  if (options.iterativeScan !== undefined || options.maxDistance !== undefined) return undefined;
  if (options.minSimilarity !== undefined) return undefined;
  const again = await prepareSearch(ctx, query, { ...options, iterativeScan: scan });
  const same = JSON.stringify(again.tuning.settings) === JSON.stringify(first.tuning.settings);
  return same ? undefined : again;
}

/** A search's options checked and turned into its statement, index settings and warnings. */
async function prepareSearch<M extends object>(
  ctx: StoreContext,
  query: unknown,
  input: unknown,
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
  const filter = ctx.compile(options.filter);
  const where = filter.where;
  const version = await ctx.pgvectorVersion();
  assertMetricSupported(metric, version);
  // Models above 2,000 dimensions: an expression index (halfvec / binary_quantize) serves the search
  // through k × rerank candidates (quantized-sql.ts); the index settings are sized for the candidates.
  const expression = planExpressionSearch(c, metric, k);
  const tuning = planSearchTuning(
    {
      k: expression.plan?.candidates ?? k,
      filtered: !filter.everyRow,
      ...(options.efSearch === undefined ? {} : { efSearch: options.efSearch }),
      ...(options.iterativeScan === undefined ? {} : { iterativeScan: options.iterativeScan }),
      ...(options.maxScanTuples === undefined ? {} : { maxScanTuples: options.maxScanTuples }),
      ...(options.probes === undefined ? {} : { probes: options.probes }),
    },
    {
      indexMethod: c.indexMethod,
      filteredIterativeScan: c.filteredIterativeScan,
      pgvectorVersion: version,
    },
  );
  const warnings = [...tuning.warnings, ...expression.warnings];
  if (metric !== c.metric) {
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
  };
  const statement =
    expression.plan === undefined
      ? buildSearchSql(c, spec)
      : buildExpressionSearchSql(c, spec, expression.plan);
  return { statement, tuning, metric, k, fields, warnings };
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

/** Runs a search statement with its settings: directly, in an own transaction, or in the caller's. */
async function runSearch<R>(
  ctx: StoreContext,
  prepared: PreparedSearch,
  statement: Sql,
  operation: string,
): Promise<R[]> {
  const entries = settingEntries(prepared.tuning.settings, ctx.config.indexMethod);
  const metric = prepared.metric;
  const pool = ctx.config.searchVia === 'pool' && !ctx.inTransaction ? ctx.config.pool : undefined;
  checkParameterCount(statement, operation);
  if (pool !== undefined) {
    const types = storePoolTypes(ctx);
    const statements = [
      ...(entries.length === 0 ? [] : [toPoolQuery(buildSetConfigSql(entries), types)]),
      toPoolQuery(statement, types),
    ];
    try {
      if (statements.length === 1) return (await poolQuery(pool, statements[0] as PoolQuery)) as R[];
      return (await poolTransaction(pool, statements)) as R[];
    } catch (error) {
      throw translateDatabaseError(error, ctx.errorContext(operation, metric));
    }
  }
  if (entries.length === 0) return ctx.query<R>(statement, operation, ctx.client, metric);
  if (!ctx.inTransaction) {
    return ctx.transaction(operation, async (tx) => {
      await ctx.query(buildSetConfigSql(entries), `${operation}: settings`, tx, metric);
      return ctx.query<R>(statement, operation, tx, metric);
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
    await ctx.query(buildSetConfigSql(entries), `${operation}: settings`, client, metric);
    const rows = await ctx.query<R>(statement, operation, client, metric);
    await ctx.query(
      buildSetConfigSql(names.map((name) => [name, current?.[name] ?? null] as const)),
      `${operation}: restoring settings`,
      client,
    );
    return rows;
  });
  transactionQueues.set(
    client,
    run.catch(() => undefined),
  );
  return run;
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
