/**
 * Searches for models above 2,000 dimensions. pgvector indexes `vector` up to 2,000 dimensions; a
 * `vector(3072)` column is indexed through an expression instead, and the search must order by that same
 * expression or the index is not used:
 * - `halfvec`: `USING hnsw (("embedding"::halfvec(3072)) halfvec_cosine_ops)` (up to 4,000 dimensions);
 * - `binary_quantize`: `USING hnsw ((binary_quantize("embedding")::bit(3072)) bit_hamming_ops)` (up to
 *   64,000), one bit per dimension: the index finds `k × rerank` candidates by Hamming distance, and the
 *   full vectors re-rank them.
 *
 * Both searches are two queries in one statement: the inner one walks the expression index (with the
 * filter, so that an iterative scan keeps looking until enough candidates match), the outer one — the
 * store's ordinary search, {@link buildSearchSql}, over the candidates — computes the exact distances of the
 * full vectors, orders by them and keeps k. So `distance` and `similarity` are always the full-precision
 * values, whatever the index stores.
 */

import { raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import { PgVectorError } from '../core/errors.js';
import { distanceSql, type IndexMethod, type Metric, opclassFor, type VectorType } from '../core/metric.js';
import type { ResolvedStoreConfig } from './config.js';
import { buildSearchSql, type SearchSpec } from './sql.js';

/**
 * The expression the store's vector index is built on (see the module comment): `'none'` (the bare column),
 * `'halfvec'` or `'binary_quantize'` — the same names as `IndexSpec.expression` (`migration index
 * --expression`).
 */
export type IndexExpressionOption = 'none' | 'halfvec' | 'binary_quantize';

/** Every {@link IndexExpressionOption}. */
export const INDEX_EXPRESSIONS = [
  'none',
  'halfvec',
  'binary_quantize',
] as const satisfies readonly IndexExpressionOption[];

/**
 * Most dimensions an HNSW / IVFFlat index takes per indexed type (pgvector 0.8's `HNSW_MAX_DIM` 2,000, ×2
 * for halfvec, ×32 for bit); the same figures as `INDEX_DIMENSION_LIMITS` of the index specs (a unit test
 * keeps them equal; the store does not import the tooling).
 */
export const EXPRESSION_INDEX_LIMITS = { vector: 2_000, halfvec: 4_000, bit: 64_000 } as const;

/**
 * Default candidate factor per expression, measured on PostgreSQL 17 / pgvector 0.8.0, 20,000 × 3072
 * clustered rows, HNSW m 16 / ef_construction 64, k 10: `binary_quantize` reached recall 0.67 with 4× the
 * candidates and 0.996 with 10× (p50 1.7 vs 2.8 ms); `halfvec` reached 0.998 with 1× (the exact re-sort
 * of the k rows costs nothing measurable: the vectors are already read).
 */
export const DEFAULT_RERANK = { halfvec: 1, binary_quantize: 10 } as const;

/**
 * The candidate factor of a `binary_quantize` search with a recall target and no `rerank` of its own: 40
 * up to recall 0.95, 80 above — measured on PostgreSQL 17 / pgvector 0.8.0, 100,000 × 3072 clustered rows,
 * HNSW m 16 / ef_construction 64, k 10: recall 0.66 with 10×, 0.85 with 20×, 0.99 with 40×, 0.998 with 60×
 * (the default 10× reached 0.996 on 20,000 rows: the factor a recall needs grows with the table). Below
 * recall 0.8 the default stays. A conservative figure, like ef_search without a profile.
 */
export function rerankForRecall(recall: number): number {
  return recall <= 0.8 ? DEFAULT_RERANK.binary_quantize : recall <= 0.95 ? 40 : 80;
}

/** Largest candidate factor; the candidates are also capped at 1,000 (pgvector's largest `ef_search`). */
export const MAX_RERANK = 100;

/** Most candidates one search asks the index for (`hnsw.ef_search` ≤ 1000). */
export const MAX_CANDIDATES = 1_000;

/** How a search goes through the expression index. */
export interface ExpressionSearchPlan {
  readonly expression: 'halfvec' | 'binary_quantize';
  /** Rows the inner query takes from the index: `min(1000, max(k, k × rerank))`. */
  readonly candidates: number;
}

function configError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_CONFIG', message, fix === undefined ? {} : { fix });
}

/**
 * Checks `indexExpression` and `rerank` against the column (validated before): `halfvec` needs a `vector`
 * column of at most 4,000 dimensions and a metric with a halfvec operator class for the index method;
 * `binary_quantize` a `vector` or `halfvec` column of at most 64,000 (any dense metric re-ranks);
 * `rerank` an integer from 1 to {@link MAX_RERANK}, only with an expression. Throws `INVALID_CONFIG`.
 *
 * ### Examples
 * ```ts
 * resolveIndexExpression('halfvec', undefined, { vectorType: 'vector', dimensions: 3072, metric: 'cosine', indexMethod: 'hnsw' });
 * // { indexExpression: 'halfvec', rerank: 1 }
 * resolveIndexExpression('halfvec', undefined, { vectorType: 'vector', dimensions: 5000, … }); // throws
 * ```
 */
export function resolveIndexExpression(
  expression: unknown,
  rerank: unknown,
  column: {
    readonly vectorType: VectorType;
    readonly dimensions: number;
    readonly metric: Metric;
    readonly indexMethod: IndexMethod;
  },
): { readonly indexExpression: IndexExpressionOption; readonly rerank: number } {
  const value = expression ?? 'none';
  if (typeof value !== 'string' || !(INDEX_EXPRESSIONS as readonly string[]).includes(value)) {
    throw configError(
      `indexExpression must be one of ${INDEX_EXPRESSIONS.map((e) => `'${e}'`).join(', ')}, got ${
        typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value
      }`,
    );
  }
  const indexExpression = value as IndexExpressionOption;
  if (indexExpression === 'none') {
    if (rerank !== undefined) {
      throw configError(
        'rerank is the candidate factor of an expression index search; indexExpression is none',
        "set indexExpression: 'binary_quantize' (or 'halfvec'), or remove rerank",
      );
    }
    return { indexExpression, rerank: 1 };
  }
  const { vectorType, dimensions, metric, indexMethod } = column;
  if (indexExpression === 'halfvec') {
    if (vectorType !== 'vector') {
      throw configError(
        `indexExpression 'halfvec' casts a vector column to halfvec; vectorType is '${vectorType}'`,
        vectorType === 'halfvec' ? 'index the halfvec column directly (no indexExpression)' : undefined,
      );
    }
    if (dimensions > EXPRESSION_INDEX_LIMITS.halfvec) {
      throw configError(
        `indexExpression 'halfvec': ${dimensions} dimensions, a halfvec index takes at most ${EXPRESSION_INDEX_LIMITS.halfvec}`,
        "use indexExpression 'binary_quantize' (up to 64,000 dimensions, re-ranked by the full vectors)",
      );
    }
    // Throws INVALID_CONFIG naming the valid metrics when halfvec has no operator class for this one.
    opclassFor(metric, 'halfvec', indexMethod);
  } else {
    if (vectorType !== 'vector' && vectorType !== 'halfvec') {
      throw configError(
        `indexExpression 'binary_quantize' needs a vector or halfvec column; vectorType is '${vectorType}'`,
      );
    }
    if (dimensions > EXPRESSION_INDEX_LIMITS.bit) {
      throw configError(
        `indexExpression 'binary_quantize': ${dimensions} dimensions, a bit index takes at most ${EXPRESSION_INDEX_LIMITS.bit}`,
      );
    }
    opclassFor('hamming', 'bit', indexMethod);
  }
  const factor = rerank ?? DEFAULT_RERANK[indexExpression];
  if (typeof factor !== 'number' || !Number.isInteger(factor) || factor < 1 || factor > MAX_RERANK) {
    throw configError(
      `rerank must be an integer from 1 to ${MAX_RERANK}, got ${typeof factor === 'number' ? String(factor) : typeof factor}`,
      `${DEFAULT_RERANK.binary_quantize} (the default for binary_quantize) reached recall 0.996 at 3072 dimensions`,
    );
  }
  return { indexExpression, rerank: factor };
}

/**
 * Whether the store's expression index serves a search with this metric, and how many candidates it
 * takes; plus a warning when the column has more dimensions than any index on it can take and no
 * expression is configured (every search is then an exact, sequential scan).
 *
 * ### Examples
 * ```ts
 * planExpressionSearch(config3072bq, 'cosine', 10); // { plan: { expression: 'binary_quantize', candidates: 100 }, warnings: [] }
 * planExpressionSearch(config3072bq, 'cosine', 10, 0.95); // candidates 400 (rerankForRecall), with a warning
 * planExpressionSearch(config3072, 'cosine', 10);   // { plan: undefined, warnings: ['vector(3072): no index …'] }
 * ```
 */
export function planExpressionSearch(
  config: ResolvedStoreConfig,
  metric: Metric,
  k: number,
  recall?: number,
): { readonly plan: ExpressionSearchPlan | undefined; readonly warnings: readonly string[] } {
  const expression = config.indexExpression;
  if (expression === 'none') {
    const type = config.vectorType;
    const limit = type === 'vector' || type === 'halfvec' ? EXPRESSION_INDEX_LIMITS[type] : undefined;
    if (limit === undefined || config.dimensions <= limit) return { plan: undefined, warnings: [] };
    return {
      plan: undefined,
      warnings: [
        `${type}(${config.dimensions}): no index can serve this column (pgvector indexes ${type} up to ${limit} dimensions), so every search is an exact sequential scan; ` +
          `build an expression index (migration index --expression ${config.dimensions <= EXPRESSION_INDEX_LIMITS.halfvec && type === 'vector' ? 'halfvec' : 'binary_quantize'}) and configure indexExpression to match`,
      ],
    };
  }
  // The index was built for the store's metric (halfvec) or is served by Hamming candidates re-ranked
  // with it (binary_quantize); another metric searches exactly, with the store's usual warning.
  if (metric !== config.metric) return { plan: undefined, warnings: [] };
  const factor =
    expression === 'binary_quantize' && recall !== undefined && !config.rerankGiven
      ? Math.max(config.rerank, rerankForRecall(recall))
      : config.rerank;
  const candidates = Math.min(MAX_CANDIDATES, Math.max(k, k * factor));
  const warnings =
    factor === config.rerank
      ? []
      : [
          `recall ${recall}: binary_quantize candidates ${factor}× k (${candidates}) instead of the default ${config.rerank}×, a conservative factor (100,000 × 3072 clustered rows: 0.66 at 10×, 0.99 at 40×); set rerank to measure your own`,
        ];
  return { plan: { expression, candidates }, warnings };
}

/**
 * The search through an expression index: the inner query orders by the indexed expression (the filter
 * inside it) and keeps `candidates` rows; the outer query is {@link buildSearchSql} over them, with the
 * exact distance of the full vectors (so `maxDistance` and the re-sort apply to exact distances). The query
 * vector is bound twice: once for the index's order, once for the exact distance.
 *
 * ### Examples
 * ```ts
 * buildExpressionSearchSql(config, spec, { expression: 'binary_quantize', candidates: 100 });
 * ```
 *
 * The generated SQL (PostgreSQL), `vector(3072)`, k 10, a filter:
 * ```sql
 * SELECT "id" AS "id", …, "embedding" <=> $3::vector(3072) AS "distance"
 * FROM (SELECT "id", "content", "metadata", "created_at", "embedding" FROM "documents"
 *       WHERE "embedding" IS NOT NULL AND ("metadata" @> $1::jsonb)
 *       ORDER BY binary_quantize("embedding")::bit(3072) <~> binary_quantize($2::vector(3072)) LIMIT 100) AS "candidates"
 * WHERE "embedding" IS NOT NULL ORDER BY "distance" LIMIT 10
 * -- halfvec: ORDER BY "embedding"::halfvec(3072) <=> $2::vector(3072)::halfvec(3072) LIMIT 10
 * ```
 */
export function buildExpressionSearchSql(
  config: ResolvedStoreConfig,
  spec: SearchSpec,
  plan: ExpressionSearchPlan,
): Sql {
  const c = config.columns;
  const d = raw(String(config.dimensions));
  const order =
    plan.expression === 'halfvec'
      ? distanceSql(spec.metric, sql`${c.embedding}::halfvec(${d})`, sql`${spec.query}::halfvec(${d})`)
      : distanceSql(
          'hamming',
          sql`binary_quantize(${c.embedding})::bit(${d})`,
          sql`binary_quantize(${spec.query})`,
        );
  const filter =
    spec.where.text === 'TRUE' && spec.where.values.length === 0 ? sql`` : sql` AND ${spec.where}`;
  const inner = sql`SELECT ${c.id}, ${c.content}, ${c.metadata}, ${c.createdAt}, ${c.embedding} FROM ${config.table} WHERE ${c.embedding} IS NOT NULL${filter} ORDER BY ${order} LIMIT ${raw(String(plan.candidates))}`;
  return buildSearchSql(
    { ...config, table: sql`(${inner}) AS "candidates"` },
    { ...spec, where: raw('TRUE'), relaxed: false },
  );
}
