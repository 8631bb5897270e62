/**
 * Configuration of a vector store: which table and columns hold the documents, the embedding's type and
 * size, the metric its index was built for, and the knobs of bulk loads and filtered searches. Validated once,
 * when the store is created; every identifier is checked and quoted here, so that SQL builders only ever
 * receive quoted identifiers.
 */

import { raw, type Sql } from '@prisma/client/runtime/client';
import { type Embedder, HashingEmbedder } from '../core/embedder.js';
import { PgVectorError } from '../core/errors.js';
import { type PartialIndexPredicate, partialIndexPredicateSql } from '../core/filter.js';
import { describeValue, quoted } from '../core/input-checks.js';
import {
  INDEX_METHODS,
  type IndexMethod,
  isMetric,
  METRIC_NAMES,
  type Metric,
  opclassFor,
  VECTOR_TYPES,
  type VectorType,
} from '../core/metric.js';
import { MAX_DIMENSIONS } from '../core/vector.js';
import type { StorePool } from './pool.js';
import { type IndexExpressionOption, resolveIndexExpression } from './quantized-sql.js';
import { DEFAULT_ESTIMATE_CACHE_MS, defaultExactRows, type PlannerSettings } from './search-plan.js';

/** How vectors travel to the server; `'auto'` picks per driver adapter (see {@link VectorStoreConfig}). */
export type VectorEncodingOption = 'auto' | 'binary' | 'text';

/**
 * pgvector's iterative index scans (pgvector ≥ 0.8): `'off'`, `'strict_order'` (results exactly in distance
 * order) or `'relaxed_order'` (better recall, slightly out of order; the store re-sorts them).
 */
export type IterativeScan = 'off' | 'strict_order' | 'relaxed_order';

/** Every {@link IterativeScan} value. */
export const ITERATIVE_SCANS = [
  'off',
  'strict_order',
  'relaxed_order',
] as const satisfies readonly IterativeScan[];

/**
 * SQL type of the id column: `text` (the `documents` table), `uuid`, `int` (`integer`, e.g. `SERIAL`) or
 * `bigint`. The store's API takes and returns ids as strings whatever the type (`'42'`, never `42`): they
 * are sent as untyped parameters (PostgreSQL reads them as the column's type), compared as
 * `= ANY($1::uuid[])` and so on, and read back as `"id"::text`.
 */
export type IdType = 'text' | 'uuid' | 'int' | 'bigint';

/** Every {@link IdType}. */
export const ID_TYPES = ['text', 'uuid', 'int', 'bigint'] as const satisfies readonly IdType[];

/** Column names of the documents table. */
export interface ColumnNames {
  /** Primary key, text. Default `id`. */
  readonly id: string;
  /** The chunk of text. Default `content`. */
  readonly content: string;
  /** `jsonb` metadata, nullable. Default `metadata`. */
  readonly metadata: string;
  /** The vector column (`vector(n)`, `halfvec(n)`, `sparsevec(n)` or `bit(n)`), nullable. Default `embedding`. */
  readonly embedding: string;
  /** Creation time with a default. Default `created_at`. */
  readonly createdAt: string;
}

/** Options of the transactions the store opens itself (never on a caller's transaction). */
export interface StoreTransactionOptions {
  /** Milliseconds to wait for a connection and `BEGIN`. Default 10 000. */
  readonly maxWait?: number;
  /** Milliseconds a transaction may stay open (bulk loads are long). Default 300 000. */
  readonly timeout?: number;
}

/**
 * Configuration of {@link createVectorStore}. Every field is optional; the defaults match the `Document`
 * model of `prisma/schema.prisma` and its migrations.
 *
 * ### Examples
 * ```ts
 * createVectorStore(prisma); // documents table, vector(1536), cosine, HNSW
 * createVectorStore(prisma, {
 *   schema: 'search',
 *   table: 'chunks',
 *   columns: { createdAt: 'inserted_at' },
 *   dimensions: 768,
 *   vectorType: 'halfvec',
 *   partialIndexPredicates: [],
 *   embedder: myEmbedder,
 * });
 * ```
 */
export interface VectorStoreConfig<T extends VectorType = VectorType> {
  /** Table name. Default `documents`. */
  readonly table?: string;
  /** Schema of the table. Default: none (the connection's `search_path`). */
  readonly schema?: string;
  /** Column names; the missing ones keep their defaults. */
  readonly columns?: Partial<ColumnNames>;
  /** SQL type of the id column (see {@link IdType}). Default `text`. */
  readonly idType?: IdType;
  /** Dimensions of the embedding column (`vector(1536)` → 1536; for `bit`, the number of bits). Default 1536. */
  readonly dimensions?: number;
  /** Type of the embedding column. Default `vector`. */
  readonly vectorType?: T;
  /**
   * The metric the vector index was built for (its operator class). Searches use it unless told otherwise;
   * a search with another metric cannot use the index. Default `cosine` (`vector_cosine_ops`).
   */
  readonly metric?: Metric;
  /** The vector index's access method: decides which settings tune a search. Default `hnsw`. */
  readonly indexMethod?: IndexMethod;
  /**
   * For models above 2,000 dimensions (pgvector indexes `vector` up to 2,000): the expression the vector
   * index is built on, which searches then order by. `'halfvec'` — `("embedding"::halfvec(3072))
   * halfvec_cosine_ops`, up to 4,000 dimensions; `'binary_quantize'` — `(binary_quantize("embedding")::bit(3072))
   * bit_hamming_ops`, up to 64,000: `k × rerank` candidates by Hamming distance, re-ranked by the full
   * vectors with `metric`. Distances returned are always the full vectors' (see `quantized-sql.ts`).
   * Build the index with `migration index --expression halfvec|binary_quantize`. Default `'none'`.
   */
  readonly indexExpression?: IndexExpressionOption;
  /**
   * Candidate factor of an `indexExpression` search: the index yields `k × rerank` rows (at most 1,000),
   * the full vectors keep the best k. Default 10 for `binary_quantize`, 1 for `halfvec` (exact re-sort).
   */
  readonly rerank?: number;
  /**
   * Predicates of the partial vector indexes on the table, so that a filter `{ [key]: value }` is written as
   * the literal predicate and the planner can use the partial index. Default `[{ key: 'type', value: 'article' }]`
   * (the `documents_embedding_article_hnsw_idx` migration); pass `[]` when the table has none.
   */
  readonly partialIndexPredicates?: readonly PartialIndexPredicate[];
  /** Most rows per `INSERT` statement of a bulk write (also capped by 65 535 bind parameters). Default 500. */
  readonly batchSize?: number;
  /** A bulk write of at least this many rows ends with `ANALYZE`. `Infinity` turns it off. Default 1000. */
  readonly analyzeThreshold?: number;
  /**
   * After a bulk write of at least `analyzeThreshold` rows that ran in the store's own transaction, run
   * `VACUUM (ANALYZE)` once it has committed (the playbook's "VACUUM ANALYZE after bulk inserts"; VACUUM
   * cannot run inside a transaction). In a caller's transaction the store runs `ANALYZE` and sets
   * `vacuumRecommended` instead. Default true.
   */
  readonly vacuumAfterBulk?: boolean;
  /**
   * Turns texts into vectors for `addText`, `addTexts` and `searchText`. Its `dimensions` must equal
   * `dimensions`. Default: a {@link HashingEmbedder} of the store's dimensions (dense types only).
   */
  readonly embedder?: Embedder;
  /**
   * How vectors are sent. `'binary'` (pgvector's binary format, 4 + 4·dims bytes) works through
   * `@prisma/adapter-pg`; `'text'` works through every adapter (`pglite-prisma-adapter` needs it). `'auto'`
   * (default) reads the client's driver adapter name: binary for `@prisma/adapter-pg`, text otherwise.
   */
  readonly vectorEncoding?: VectorEncodingOption;
  /**
   * Iterative scan used by filtered searches that do not choose one, so that they return k rows when k rows
   * match. Default `relaxed_order` (the store re-sorts the rows by distance).
   */
  readonly filteredIterativeScan?: IterativeScan;
  /** Options of the transactions the store opens. */
  readonly transactionOptions?: StoreTransactionOptions;
  /**
   * The per-query planner of filtered searches (see `search-plan.ts` and docs/STORE.md):
   * - `exactRows`: a filter matching at most this many rows is ranked exactly (recall 1). Default 3,000 up
   *   to 768 dimensions, less above (`defaultExactRows`: 1,500 at 1,536), on a table of 100,000 rows, growing
   *   with the table above (`exactRowsFor`: × √(rows / 100,000), 9,500 at 1,000,000 rows, at most 7×); a figure given here holds at
   *   every size; 0 turns exact plans off.
   * - `estimateCacheMs`: how long a filter's row estimate is reused. Default 30,000; 0: never.
   * - `exactFallbackRows`: a search still short after its iterative retry runs exactly when at most this many
   *   rows are estimated. Default 10 × `exactRows` (at least 10,000).
   */
  readonly planner?: PlannerOptions;
  /**
   * The recall@k searches should reach, 0 < r ≤ 1 (e.g. 0.95): the store then picks `hnsw.ef_search` per k
   * and strategy from the index's recall profile (`prisma-pgvector tune --persist index`), or a conservative
   * default without one (see docs/STORE.md). A search's own `recall` or `efSearch` wins. Default: none.
   */
  readonly recall?: number;
  /**
   * The `pg.Pool` your `@prisma/adapter-pg` adapter was built with (`new PrismaPg(pool)`). With it:
   * - `addMany`, `addTexts` and `upsertMany` load rows with binary `COPY … FROM STDIN` on one of its connections (one
   *   transaction, streamed; several times faster than INSERTs). A server or proxy that refuses COPY is
   *   detected on the first load and INSERTs are used.
   * - `search`, `searchText` and `explainSearch` send their SQL straight to the pool (`searchVia`), skipping
   *   Prisma's raw-query layer (≈ 0.3 ms per query): same statements, same parameters, same results.
   *
   * In a caller's transaction (`withClient(tx)`) the store always goes through Prisma: the pool's
   * connections are outside that transaction. Default: none (everything through Prisma).
   */
  readonly pool?: StorePool;
  /**
   * Where searches go when a `pool` is given: `'pool'` (default) or `'prisma'` (`$queryRaw`, e.g. to keep
   * them in Prisma's query logs and `$extends` query hooks). Without a `pool`, always `'prisma'`.
   */
  readonly searchVia?: SearchVia;
}

/** The `planner` option (see {@link VectorStoreConfig.planner}). */
export interface PlannerOptions {
  readonly exactRows?: number;
  readonly estimateCacheMs?: number;
  readonly exactFallbackRows?: number;
}

/** Where searches are sent (see {@link VectorStoreConfig.searchVia}). */
export type SearchVia = 'pool' | 'prisma';

/** A validated configuration with every default filled in and every identifier quoted. */
export interface ResolvedStoreConfig {
  /** `"schema"."table"` or `"table"`, as SQL. */
  readonly table: Sql;
  /** The same, as text, for messages. */
  readonly tableName: string;
  /** Quoted column identifiers. */
  readonly columns: { readonly [K in keyof ColumnNames]: Sql };
  /** Unquoted column names (`id` is compared with server error fields). */
  readonly columnNames: ColumnNames;
  readonly idType: IdType;
  readonly dimensions: number;
  readonly vectorType: VectorType;
  readonly metric: Metric;
  readonly indexMethod: IndexMethod;
  /** The expression the vector index is built on; `'none'` for the bare column. */
  readonly indexExpression: IndexExpressionOption;
  /** Candidate factor of an expression search (1 with `'none'`). */
  readonly rerank: number;
  /** Whether `rerank` was given (a recall target then leaves it alone) or is the default. */
  readonly rerankGiven: boolean;
  readonly partialIndexPredicates: readonly PartialIndexPredicate[];
  readonly batchSize: number;
  readonly analyzeThreshold: number;
  readonly vacuumAfterBulk: boolean;
  readonly embedder: Embedder | undefined;
  readonly vectorEncoding: VectorEncodingOption;
  readonly filteredIterativeScan: IterativeScan;
  readonly transactionOptions: Required<StoreTransactionOptions>;
  readonly pool: StorePool | undefined;
  /** `'pool'` only when a pool is given. */
  readonly searchVia: SearchVia;
  readonly planner: PlannerSettings;
  /** The store's recall target, or `undefined`. */
  readonly recall: number | undefined;
}

/** PostgreSQL's limit on bind parameters in one statement (the protocol counts them in an int16). */
export const MAX_BIND_PARAMETERS = 65_535;

/** Default column names (the `Document` model). */
export const DEFAULT_COLUMNS: ColumnNames = {
  id: 'id',
  content: 'content',
  metadata: 'metadata',
  embedding: 'embedding',
  createdAt: 'created_at',
};

/** The defaults of {@link VectorStoreConfig}, matching `prisma/schema.prisma`. */
export const STORE_DEFAULTS = {
  table: 'documents',
  dimensions: 1536,
  vectorType: 'vector',
  metric: 'cosine',
  indexMethod: 'hnsw',
  partialIndexPredicates: [{ key: 'type', value: 'article' }],
  batchSize: 500,
  analyzeThreshold: 1000,
  vacuumAfterBulk: true,
  vectorEncoding: 'auto',
  filteredIterativeScan: 'relaxed_order',
  transactionOptions: { maxWait: 10_000, timeout: 300_000 },
} as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const MAX_IDENTIFIER_LENGTH = 63;
const CONFIG_KEYS = [
  'table',
  'schema',
  'columns',
  'idType',
  'dimensions',
  'vectorType',
  'metric',
  'indexMethod',
  'indexExpression',
  'rerank',
  'partialIndexPredicates',
  'batchSize',
  'analyzeThreshold',
  'vacuumAfterBulk',
  'pool',
  'searchVia',
  'embedder',
  'vectorEncoding',
  'filteredIterativeScan',
  'transactionOptions',
  'planner',
  'recall',
] as const satisfies readonly (keyof VectorStoreConfig)[];

function booleanSetting(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw configError(`${name} must be true or false, got ${shown(value)}`);
  return value;
}

function configError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_CONFIG', message, fix === undefined ? {} : { fix });
}

/** A setting's value for a message; never throws (BigInts, symbols, objects without a prototype). */
function shown(value: unknown): string {
  if (typeof value === 'string') return quoted(value, 80);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return describeValue(value);
}

/** A key for a message: `'dimension'`, or JSON-quoted when it is not a plain word. */
function shownKey(key: string): string {
  return /^[\w$]{1,40}$/.test(key) ? `'${key}'` : quoted(key);
}

/** Own enumerable properties of an object, each read once: what is validated is what is used. */
function snapshot(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value));
}

/**
 * Checks an identifier from configuration (letters, digits, `_`, `$`, not starting with a digit or `$`, at
 * most 63 characters — PostgreSQL's limit) and returns it double-quoted. Quoting keeps the exact case:
 * `quoteIdentifier('createdAt')` is `"createdAt"`, the column Prisma creates for a field without `@map`.
 * Throws `INVALID_CONFIG` naming the setting otherwise.
 *
 * ### Examples
 * ```ts
 * quoteIdentifier('documents', 'table');   // '"documents"'
 * quoteIdentifier('my table', 'table');    // throws INVALID_CONFIG
 * ```
 */
export function quoteIdentifier(name: unknown, setting: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER_LENGTH) {
    throw configError(
      `${setting} must be an identifier of letters, digits, _ and $ (not starting with a digit or $), ` +
        `at most ${MAX_IDENTIFIER_LENGTH} characters; got ${shown(name)}`,
    );
  }
  return `"${name}"`;
}

function positiveInteger(value: unknown, setting: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw configError(`${setting} must be an integer from 1 to ${max}, got ${shown(value)}`);
  }
  return value;
}

function oneOf<V extends string>(value: unknown, allowed: readonly V[], setting: string): V {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as V;
  throw configError(
    `${setting} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${shown(value)}`,
  );
}

function resolveColumns(columns: unknown): ColumnNames {
  if (columns === undefined) return DEFAULT_COLUMNS;
  const proto: unknown =
    typeof columns === 'object' && columns !== null ? Object.getPrototypeOf(columns) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw configError(`columns must be an object of column names, got ${shown(columns)}`);
  }
  const given = snapshot(columns as object);
  const unknownKey = Object.keys(given).find((k) => !Object.hasOwn(DEFAULT_COLUMNS, k));
  if (unknownKey !== undefined) {
    throw configError(
      `unknown column setting ${shownKey(unknownKey)}; columns are: ${Object.keys(DEFAULT_COLUMNS).join(', ')}`,
    );
  }
  const merged = { ...DEFAULT_COLUMNS };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) merged[key as keyof ColumnNames] = value as string;
  }
  const names = Object.values(merged);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw configError(`column '${duplicate}' is configured for two purposes`);
  return merged;
}

function resolveEmbedder(
  embedder: unknown,
  dimensions: number,
  vectorType: VectorType,
): Embedder | undefined {
  if (embedder === undefined) {
    return vectorType === 'vector' || vectorType === 'halfvec'
      ? new HashingEmbedder({ dimensions })
      : undefined;
  }
  const e = embedder as Partial<Embedder> | null;
  if (typeof e !== 'object' || e === null || typeof e.embed !== 'function') {
    throw configError('embedder must be an object with `dimensions` and `embed(texts)`');
  }
  if (vectorType !== 'vector' && vectorType !== 'halfvec') {
    throw configError(`an embedder produces dense vectors; vectorType '${vectorType}' cannot store them`);
  }
  if (e.dimensions !== dimensions) {
    throw configError(
      `embedder.dimensions (${shown(e.dimensions)}) differs from dimensions (${dimensions})`,
      'configure the store with the dimensions of the embedding model, and the column to match',
    );
  }
  return embedder as Embedder;
}

function resolveTransactionOptions(options: unknown): Required<StoreTransactionOptions> {
  const defaults = STORE_DEFAULTS.transactionOptions;
  if (options === undefined) return { ...defaults };
  if (typeof options !== 'object' || options === null) {
    throw configError(`transactionOptions must be an object, got ${shown(options)}`);
  }
  const o = snapshot(options) as StoreTransactionOptions;
  const unknownKey = Object.keys(o).find((k) => k !== 'maxWait' && k !== 'timeout');
  if (unknownKey !== undefined)
    throw configError(`unknown transactionOptions setting ${shownKey(unknownKey)}`);
  return {
    maxWait: positiveInteger(o.maxWait ?? defaults.maxWait, 'transactionOptions.maxWait', 2 ** 31 - 1),
    timeout: positiveInteger(o.timeout ?? defaults.timeout, 'transactionOptions.timeout', 2 ** 31 - 1),
  };
}

/**
 * Validates a {@link VectorStoreConfig} and fills in the defaults. Throws `INVALID_CONFIG` naming the first
 * bad setting: an unknown key, an identifier that is not a plain SQL identifier, dimensions outside the
 * type's range, a metric the vector type or index method does not have, a bad partial-index predicate, an
 * embedder of other dimensions.
 *
 * ### Examples
 * ```ts
 * resolveStoreConfig({}).tableName;                    // 'documents'
 * resolveStoreConfig({ schema: 'app' }).table.text;    // '"app"."documents"'
 * resolveStoreConfig({ metric: 'hamming' });           // throws: 'hamming' is not available for type 'vector'
 * ```
 */
export function resolveStoreConfig(input: VectorStoreConfig = {}): ResolvedStoreConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw configError(`the store configuration must be an object, got ${shown(input)}`);
  }
  const config = snapshot(input) as VectorStoreConfig;
  const unknownKey = Object.keys(config).find((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
  if (unknownKey !== undefined) {
    throw configError(`unknown setting ${shownKey(unknownKey)}; settings are: ${CONFIG_KEYS.join(', ')}`);
  }
  const tableName = config.table ?? STORE_DEFAULTS.table;
  const quotedTable = quoteIdentifier(tableName, 'table');
  const quotedSchema = config.schema === undefined ? undefined : quoteIdentifier(config.schema, 'schema');
  const columnNames = resolveColumns(config.columns);
  const columns = {
    id: raw(quoteIdentifier(columnNames.id, 'columns.id')),
    content: raw(quoteIdentifier(columnNames.content, 'columns.content')),
    metadata: raw(quoteIdentifier(columnNames.metadata, 'columns.metadata')),
    embedding: raw(quoteIdentifier(columnNames.embedding, 'columns.embedding')),
    createdAt: raw(quoteIdentifier(columnNames.createdAt, 'columns.createdAt')),
  };

  const vectorType = oneOf(config.vectorType ?? STORE_DEFAULTS.vectorType, VECTOR_TYPES, 'vectorType');
  const dimensions = positiveInteger(
    config.dimensions ?? STORE_DEFAULTS.dimensions,
    'dimensions',
    MAX_DIMENSIONS[vectorType],
  );
  const metricValue = config.metric ?? STORE_DEFAULTS.metric;
  if (!isMetric(metricValue))
    throw configError(`metric must be one of ${METRIC_NAMES.join(', ')}, got ${shown(metricValue)}`);
  const indexMethod = oneOf(config.indexMethod ?? STORE_DEFAULTS.indexMethod, INDEX_METHODS, 'indexMethod');
  // Throws INVALID_CONFIG naming the valid choices when the type or the index method lacks the metric.
  opclassFor(metricValue, vectorType, indexMethod);
  const { indexExpression, rerank } = resolveIndexExpression(config.indexExpression, config.rerank, {
    vectorType,
    dimensions,
    metric: metricValue,
    indexMethod,
  });

  const given = config.partialIndexPredicates ?? STORE_DEFAULTS.partialIndexPredicates;
  if (!Array.isArray(given))
    throw configError(`partialIndexPredicates must be an array of { key, value }, got ${shown(given)}`);
  // Copies, frozen: the store compiles filters against these for its lifetime.
  const predicates = Array.from(given as readonly unknown[], (p) => {
    if (typeof p !== 'object' || p === null) {
      throw configError(`partialIndexPredicates must be an array of { key, value }, got ${shown(p)} in it`);
    }
    const { key, value } = p as PartialIndexPredicate;
    const copy = Object.freeze({ key, value });
    partialIndexPredicateSql(columns.metadata, copy);
    return copy;
  });

  const batchSize = positiveInteger(
    config.batchSize ?? STORE_DEFAULTS.batchSize,
    'batchSize',
    MAX_BIND_PARAMETERS,
  );
  const analyzeThreshold = config.analyzeThreshold ?? STORE_DEFAULTS.analyzeThreshold;
  if (
    typeof analyzeThreshold !== 'number' ||
    !(Number.isInteger(analyzeThreshold) || analyzeThreshold === Number.POSITIVE_INFINITY) ||
    analyzeThreshold < 1
  ) {
    throw configError(`analyzeThreshold must be an integer ≥ 1 or Infinity, got ${shown(analyzeThreshold)}`);
  }

  const filteredIterativeScan = oneOf(
    config.filteredIterativeScan ?? STORE_DEFAULTS.filteredIterativeScan,
    ITERATIVE_SCANS,
    'filteredIterativeScan',
  );
  if (indexMethod === 'ivfflat' && filteredIterativeScan === 'strict_order') {
    throw configError("IVFFlat has no 'strict_order' iterative scan", "use 'relaxed_order' or 'off'");
  }

  const pool = resolvePool(config.pool);
  if (pool === undefined && config.searchVia !== undefined) {
    oneOf(config.searchVia, ['pool', 'prisma'], 'searchVia');
    if (config.searchVia === 'pool')
      throw configError(
        "searchVia 'pool' needs a pool",
        'pass pool: the pg.Pool given to new PrismaPg(pool)',
      );
  }
  return {
    table: raw(quotedSchema === undefined ? quotedTable : `${quotedSchema}.${quotedTable}`),
    tableName: config.schema === undefined ? tableName : `${config.schema}.${tableName}`,
    columns,
    columnNames,
    idType: oneOf(config.idType ?? 'text', ID_TYPES, 'idType'),
    dimensions,
    vectorType,
    metric: metricValue,
    indexMethod,
    indexExpression,
    rerank,
    rerankGiven: config.rerank !== undefined,
    partialIndexPredicates: predicates,
    batchSize,
    analyzeThreshold,
    vacuumAfterBulk: booleanSetting(
      config.vacuumAfterBulk ?? STORE_DEFAULTS.vacuumAfterBulk,
      'vacuumAfterBulk',
    ),
    embedder: resolveEmbedder(config.embedder, dimensions, vectorType),
    vectorEncoding: oneOf(
      config.vectorEncoding ?? STORE_DEFAULTS.vectorEncoding,
      ['auto', 'binary', 'text'],
      'vectorEncoding',
    ),
    filteredIterativeScan,
    transactionOptions: resolveTransactionOptions(config.transactionOptions),
    pool,
    searchVia:
      pool === undefined ? 'prisma' : oneOf(config.searchVia ?? 'pool', ['pool', 'prisma'], 'searchVia'),
    planner: resolvePlanner(config.planner, dimensions),
    recall: config.recall === undefined ? undefined : checkRecall(config.recall),
  };
}

function resolvePlanner(planner: unknown, dimensions: number): PlannerSettings {
  if (planner !== undefined && (typeof planner !== 'object' || planner === null || Array.isArray(planner))) {
    throw configError(`planner must be an object, got ${shown(planner)}`);
  }
  const o = planner === undefined ? {} : (snapshot(planner) as PlannerOptions);
  const keys = ['exactRows', 'estimateCacheMs', 'exactFallbackRows'];
  const unknownKey = Object.keys(o).find((k) => !keys.includes(k));
  if (unknownKey !== undefined) {
    throw configError(`unknown planner setting ${shownKey(unknownKey)}; settings are: ${keys.join(', ')}`);
  }
  const count = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
      throw configError(`planner.${name} must be an integer from 0 to ${2 ** 31 - 1}, got ${shown(value)}`);
    }
    return value;
  };
  const exactRows = count(o.exactRows ?? defaultExactRows(dimensions), 'exactRows');
  return {
    exactRows,
    exactRowsScale: o.exactRows === undefined ? 'table' : 'fixed',
    estimateCacheMs: count(o.estimateCacheMs ?? DEFAULT_ESTIMATE_CACHE_MS, 'estimateCacheMs'),
    exactFallbackRows: count(o.exactFallbackRows ?? Math.max(10_000, 10 * exactRows), 'exactFallbackRows'),
  };
}

/** Checks a recall target (0 < r ≤ 1); `error` makes the error (INVALID_CONFIG or INVALID_ARGUMENT). */
export function checkRecall(value: unknown, error: (message: string) => Error = configError): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw error(`recall must be a number above 0 and at most 1 (e.g. 0.95), got ${shown(value)}`);
  }
  return value;
}

function resolvePool(pool: unknown): StorePool | undefined {
  if (pool === undefined) return undefined;
  const p = pool as { connect?: unknown; query?: unknown } | null;
  if (typeof p?.connect !== 'function' || typeof p.query !== 'function') {
    throw configError(
      `pool must be a pg.Pool (an object with connect() and query()), got ${shown(pool)}`,
      'pass the pool given to new PrismaPg(pool), or leave pool out to send everything through Prisma',
    );
  }
  return pool as StorePool;
}
