/**
 * Distance metrics: which pgvector operator computes each one, which operator class an index needs for it on
 * each vector type, which index methods support it, and how a raw distance becomes the score we return.
 *
 * Everything here derives from {@link METRICS}, checked against the operator classes that pgvector 0.8.7
 * creates (`vector--0.8.7.sql`).
 *
 * Search must order by the bare distance, ascending, with a LIMIT, or no vector index is used:
 * `ORDER BY embedding <=> $1 LIMIT 10` uses the index, `ORDER BY 1 - (embedding <=> $1) DESC` never does.
 * That is why a minimum similarity becomes a maximum distance ({@link maxDistanceFor}) instead of a filter on
 * the score.
 */

import { raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import { PgVectorError } from './errors.js';

/** pgvector column types a metric can apply to. `bit` is PostgreSQL's own `bit(n)`. */
export type VectorType = 'vector' | 'halfvec' | 'sparsevec' | 'bit';

/** Index access methods pgvector provides. */
export type IndexMethod = 'hnsw' | 'ivfflat';

/** Every {@link VectorType}, in a stable order. */
export const VECTOR_TYPES = [
  'vector',
  'halfvec',
  'sparsevec',
  'bit',
] as const satisfies readonly VectorType[];

/** Both {@link IndexMethod}s, in a stable order. */
export const INDEX_METHODS = ['hnsw', 'ivfflat'] as const satisfies readonly IndexMethod[];

/**
 * How a raw distance becomes the similarity we return (higher is always more similar):
 * - `oneMinus`: `1 − d` (cosine distance in [0, 2] → similarity in [−1, 1]; Jaccard distance in [0, 1] → [0, 1]).
 * - `negate`: `−d` (`<#>` returns the negative inner product, so the inner product itself is `−d`).
 * - `reciprocal`: `1 / (1 + d)` (L2 and L1 distances in [0, ∞) → (0, 1], 1 for identical vectors).
 * - `bitFraction`: `1 − d / dims` (Hamming distance in [0, dims] → the fraction of equal bits, in [0, 1]).
 */
export type ScoreKind = 'oneMinus' | 'negate' | 'reciprocal' | 'bitFraction';

interface OpclassEntry {
  /** Operator class name, as written in `CREATE INDEX … USING hnsw (embedding <opclass>)`. */
  readonly opclass: string;
  /** Index methods that have this operator class. */
  readonly methods: readonly IndexMethod[];
}

interface MetricEntry {
  /** The distance operator; ascending order = most similar first. */
  readonly operator: string;
  /** What the operator returns. */
  readonly distance: string;
  /** Operator class per vector type; a type that is absent does not support the metric. */
  readonly opclasses: Partial<Record<VectorType, OpclassEntry>>;
  readonly score: ScoreKind;
  /** First pgvector version with this operator and its index support. */
  readonly since: string;
}

/**
 * The metric table. One entry per metric: operator, opclass per vector type with the index methods that
 * support it, score conversion and the pgvector version that introduced it.
 *
 * ### Examples
 * ```ts
 * METRICS.cosine.operator;                  // '<=>'
 * METRICS.cosine.opclasses.halfvec.opclass; // 'halfvec_cosine_ops'
 * METRICS.l1.opclasses.vector.methods;      // ['hnsw'] (IVFFlat has no L1 operator class)
 * ```
 */
export const METRICS = {
  cosine: {
    operator: '<=>',
    distance: 'cosine distance, 1 − cos(a, b), in [0, 2]',
    opclasses: {
      vector: { opclass: 'vector_cosine_ops', methods: ['hnsw', 'ivfflat'] },
      halfvec: { opclass: 'halfvec_cosine_ops', methods: ['hnsw', 'ivfflat'] },
      sparsevec: { opclass: 'sparsevec_cosine_ops', methods: ['hnsw'] },
    },
    score: 'oneMinus',
    since: '0.5.0',
  },
  l2: {
    operator: '<->',
    distance: 'Euclidean (L2) distance, in [0, ∞)',
    opclasses: {
      vector: { opclass: 'vector_l2_ops', methods: ['hnsw', 'ivfflat'] },
      halfvec: { opclass: 'halfvec_l2_ops', methods: ['hnsw', 'ivfflat'] },
      sparsevec: { opclass: 'sparsevec_l2_ops', methods: ['hnsw'] },
    },
    score: 'reciprocal',
    since: '0.5.0',
  },
  innerProduct: {
    operator: '<#>',
    distance: 'negative inner product, −(a · b)',
    opclasses: {
      vector: { opclass: 'vector_ip_ops', methods: ['hnsw', 'ivfflat'] },
      halfvec: { opclass: 'halfvec_ip_ops', methods: ['hnsw', 'ivfflat'] },
      sparsevec: { opclass: 'sparsevec_ip_ops', methods: ['hnsw'] },
    },
    score: 'negate',
    since: '0.5.0',
  },
  l1: {
    operator: '<+>',
    distance: 'taxicab (L1) distance, in [0, ∞)',
    opclasses: {
      vector: { opclass: 'vector_l1_ops', methods: ['hnsw'] },
      halfvec: { opclass: 'halfvec_l1_ops', methods: ['hnsw'] },
      sparsevec: { opclass: 'sparsevec_l1_ops', methods: ['hnsw'] },
    },
    score: 'reciprocal',
    since: '0.7.0',
  },
  hamming: {
    operator: '<~>',
    distance: 'Hamming distance (number of differing bits), in [0, dims]',
    opclasses: {
      bit: { opclass: 'bit_hamming_ops', methods: ['hnsw', 'ivfflat'] },
    },
    score: 'bitFraction',
    since: '0.7.0',
  },
  jaccard: {
    operator: '<%>',
    distance: 'Jaccard distance, 1 − |a ∧ b| / |a ∨ b|, in [0, 1]',
    opclasses: {
      bit: { opclass: 'bit_jaccard_ops', methods: ['hnsw'] },
    },
    score: 'oneMinus',
    since: '0.7.0',
  },
} as const satisfies Record<string, MetricEntry>;

/** A distance metric: a key of {@link METRICS}. */
export type Metric = keyof typeof METRICS;

/** A pgvector distance operator. */
export type DistanceOperator = (typeof METRICS)[Metric]['operator'];

/** Every {@link Metric}, in table order. */
export const METRIC_NAMES = Object.keys(METRICS) as readonly Metric[];

function entry(metric: Metric): MetricEntry {
  return METRICS[metric];
}

function quoteList(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.map((i) => `'${i}'`).join(', ');
}

/**
 * True when `value` names a metric.
 *
 * ### Examples
 * ```ts
 * isMetric('cosine'); // true
 * isMetric('dot');    // false
 * ```
 */
export function isMetric(value: unknown): value is Metric {
  return typeof value === 'string' && Object.hasOwn(METRICS, value);
}

/**
 * Checks a metric name that came from configuration (a config file, a CLI flag).
 * Throws `INVALID_CONFIG` listing the valid names otherwise.
 *
 * ### Examples
 * ```ts
 * parseMetric('l2');  // 'l2'
 * parseMetric('dot'); // throws: unknown metric 'dot'; valid metrics: 'cosine', 'l2', …
 * ```
 */
export function parseMetric(value: unknown): Metric {
  if (isMetric(value)) return value;
  const shown = typeof value === 'string' ? `'${value.slice(0, 40)}'` : typeof value;
  throw new PgVectorError(
    'INVALID_CONFIG',
    `unknown metric ${shown}; valid metrics: ${quoteList(METRIC_NAMES)}`,
  );
}

/**
 * The distance operator of a metric.
 *
 * ### Examples
 * ```ts
 * operatorFor('cosine');       // '<=>'
 * operatorFor('innerProduct'); // '<#>' (returns the NEGATIVE inner product)
 * ```
 */
export function operatorFor(metric: Metric): DistanceOperator {
  return METRICS[metric].operator;
}

/**
 * The vector types a metric applies to.
 *
 * ### Examples
 * ```ts
 * typesFor('hamming'); // ['bit']
 * ```
 */
export function typesFor(metric: Metric): readonly VectorType[] {
  return VECTOR_TYPES.filter((t) => entry(metric).opclasses[t] !== undefined);
}

/**
 * The metrics available on a vector type (optionally: through a given index method).
 *
 * ### Examples
 * ```ts
 * metricsFor('bit');              // ['hamming', 'jaccard']
 * metricsFor('vector', 'ivfflat'); // ['cosine', 'l2', 'innerProduct']
 * ```
 */
export function metricsFor(type: VectorType, method?: IndexMethod): readonly Metric[] {
  return METRIC_NAMES.filter((m) => {
    const oc = entry(m).opclasses[type];
    return oc !== undefined && (method === undefined || oc.methods.includes(method));
  });
}

/**
 * The index methods that support a metric on a vector type; empty when the type has no such metric.
 *
 * ### Examples
 * ```ts
 * indexMethodsFor('cosine', 'vector');    // ['hnsw', 'ivfflat']
 * indexMethodsFor('cosine', 'sparsevec'); // ['hnsw']
 * ```
 */
export function indexMethodsFor(metric: Metric, type: VectorType): readonly IndexMethod[] {
  return entry(metric).opclasses[type]?.methods ?? [];
}

/**
 * The operator class an index needs so that the metric's operator can use it. Throws `INVALID_CONFIG` for a
 * combination pgvector does not have, naming the valid choices.
 *
 * ### Examples
 * ```ts
 * opclassFor('cosine', 'vector');          // 'vector_cosine_ops'
 * opclassFor('hamming', 'bit', 'ivfflat'); // 'bit_hamming_ops'
 * opclassFor('cosine', 'bit');             // throws: … 'bit' supports: 'hamming', 'jaccard'
 * opclassFor('l1', 'vector', 'ivfflat');   // throws: … use 'hnsw'
 * ```
 *
 * The generated DDL then reads: `CREATE INDEX … USING hnsw (embedding vector_cosine_ops)`.
 */
export function opclassFor(metric: Metric, type: VectorType, method?: IndexMethod): string {
  const oc = entry(metric).opclasses[type];
  if (oc === undefined) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `metric '${metric}' is not available for type '${type}'; '${type}' supports: ${quoteList(metricsFor(type))}`,
      { fix: `use one of those metrics, or store the embedding as ${quoteList(typesFor(metric))}` },
    );
  }
  if (method !== undefined && !oc.methods.includes(method)) {
    const others = metricsFor(type, method);
    throw new PgVectorError(
      'INVALID_CONFIG',
      `index method '${method}' does not support metric '${metric}' on type '${type}'; ` +
        `'${method}' on '${type}' supports: ${quoteList(others)}`,
      { fix: `use ${quoteList(oc.methods)} for '${metric}'` },
    );
  }
  return oc.opclass;
}

/**
 * Finds the metric and vector type an operator class belongs to, e.g. to check that an existing index
 * matches the configured metric. `undefined` for an operator class that is not pgvector's.
 *
 * ### Examples
 * ```ts
 * metricForOpclass('halfvec_ip_ops'); // { metric: 'innerProduct', type: 'halfvec' }
 * metricForOpclass('jsonb_path_ops'); // undefined
 * ```
 */
export function metricForOpclass(opclass: string): { metric: Metric; type: VectorType } | undefined {
  for (const metric of METRIC_NAMES) {
    for (const type of VECTOR_TYPES) {
      if (entry(metric).opclasses[type]?.opclass === opclass) return { metric, type };
    }
  }
  return undefined;
}

/**
 * The distance expression `<column> <op> <query>`: the one place an operator becomes SQL. Use it bare in
 * `ORDER BY … ASC LIMIT n` so that an index can serve the query.
 *
 * ### Examples
 * ```ts
 * const q = vectorParam(embedding, 'vector', 1536, 'binary');
 * sql`SELECT id FROM documents ORDER BY ${distanceSql('cosine', raw('"embedding"'), q)} LIMIT 10`;
 * ```
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * SELECT id FROM documents ORDER BY "embedding" <=> $1::vector(1536) LIMIT 10
 * ```
 */
export function distanceSql(metric: Metric, column: Sql, query: Sql): Sql {
  return sql`${column} ${raw(operatorFor(metric))} ${query}`;
}

function requireDims(dims: number | undefined): number {
  if (dims === undefined || !Number.isInteger(dims) || dims < 1) {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      `hamming similarity needs the bit length (dims), got ${dims}`,
    );
  }
  return dims;
}

function requireFinite(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PgVectorError('INVALID_ARGUMENT', `${name} must be a finite number, got ${String(value)}`);
  }
}

/**
 * Turns a raw distance returned by the metric's operator into the similarity we return (higher = more
 * similar). See {@link ScoreKind} for each formula; `dims` is required for `hamming` only.
 *
 * ### Examples
 * ```ts
 * distanceToSimilarity('cosine', 0.25);       // 0.75
 * distanceToSimilarity('innerProduct', -3.5); // 3.5
 * distanceToSimilarity('l2', 1);              // 0.5
 * distanceToSimilarity('hamming', 8, 64);     // 0.875
 * ```
 */
export function distanceToSimilarity(metric: Metric, distance: number, dims?: number): number {
  requireFinite('distance', distance);
  switch (entry(metric).score) {
    case 'oneMinus':
      return 1 - distance;
    case 'negate':
      return -distance;
    case 'reciprocal':
      return 1 / (1 + distance);
    case 'bitFraction':
      return 1 - distance / requireDims(dims);
  }
}

/**
 * The inverse of {@link distanceToSimilarity}: the largest distance whose similarity is still
 * `>= minSimilarity`, so that a minimum-similarity filter is written `distance <= x` and the query keeps its
 * index-friendly `ORDER BY distance`. Returns `Infinity` when every distance qualifies (e.g. `l2` with
 * `minSimilarity <= 0`) and a negative number when none can (e.g. `l2` with `minSimilarity > 1`).
 *
 * ### Examples
 * ```ts
 * maxDistanceFor('cosine', 0.8);       // 0.19999999999999996 (1 − 0.8)
 * maxDistanceFor('innerProduct', 0.5); // -0.5
 * maxDistanceFor('l2', 0.5);           // 1
 * maxDistanceFor('hamming', 0.75, 64); // 16
 * ```
 *
 * The generated SQL then reads: `WHERE embedding <=> $1 <= $2 ORDER BY embedding <=> $1 LIMIT 10`.
 */
export function maxDistanceFor(metric: Metric, minSimilarity: number, dims?: number): number {
  requireFinite('minSimilarity', minSimilarity);
  switch (entry(metric).score) {
    case 'oneMinus':
      return 1 - minSimilarity;
    case 'negate':
      return -minSimilarity;
    case 'reciprocal':
      return minSimilarity <= 0 ? Number.POSITIVE_INFINITY : 1 / minSimilarity - 1;
    case 'bitFraction':
      return (1 - minSimilarity) * requireDims(dims);
  }
}
