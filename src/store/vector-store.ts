/**
 * The vector store: writes, bulk loads, similarity search and filtered search over a documents table, on a
 * Prisma Client (or a transaction client) the application owns. Every statement comes from `store-sql.ts`;
 * index settings are applied per query inside a transaction (`set_config(…, true)`), never with a plain `SET`.
 */

import type { Sql } from '@prisma/client/runtime/client';
import pg from 'pg';
import type { Embedder } from '../core/embedder.js';
import { isPgVectorError, PgVectorError } from '../core/errors.js';
import { type AnalyzedFilter, analyzeFilter, type Filter } from '../core/filter.js';
import { describeValue, quoted } from '../core/input-checks.js';
import {
  distanceToSimilarity,
  isMetric,
  type Metric,
  maxDistanceFor,
  typesFor,
  type VectorType,
} from '../core/metric.js';
import { EXTENSION_MISSING_FIX, shortenVectorsIn, translateDatabaseError } from '../core/translate-error.js';
import { parseSparseVectorText, parseVectorText, type VectorEncoding } from '../core/vector.js';
import {
  type IterativeScan,
  MAX_BIND_PARAMETERS,
  type ResolvedStoreConfig,
  resolveStoreConfig,
  type VectorStoreConfig,
} from './config.js';
import { type CopyLoadResult, copyLoad, type IndexedCopyRow, prepareCopyRow } from './copy.js';
import {
  atPath,
  checkContent,
  checkId,
  checkIds,
  type DocumentInput,
  type Embedding,
  type EmbeddingInput,
  isPlainObject,
  metadataJson,
  prepareRow,
  vectorSql,
} from './input.js';
import {
  type PoolQuery,
  poolQuery,
  poolTransaction,
  poolTypes,
  type StorePool,
  toPoolQuery,
} from './pool.js';
import {
  assertMetricSupported,
  planSearchTuning,
  type SearchSettings,
  type SearchTuning,
} from './search-settings.js';
import {
  buildAnalyzeSql,
  buildDeleteByIdsSql,
  buildDeleteWhereSql,
  buildExplainSql,
  buildGetByIdsSql,
  buildInsertSql,
  buildReadSettingsSql,
  buildRowSql,
  buildSearchSql,
  buildSetConfigSql,
  buildUpdateSql,
  buildVacuumSql,
  HIT_FIELDS,
  type HitField,
  PGVECTOR_VERSION_SQL,
  type RowValues,
  settingEntries,
} from './sql.js';

/**
 * What the store needs from a Prisma Client: raw queries, and `$transaction` to open its own transactions.
 * A generated `PrismaClient`, an extended client (`$extends`) and the transaction client `tx` of
 * `prisma.$transaction(async (tx) => …)` all fit. The store tells a transaction client by its missing
 * `$connect`, and then runs every statement in that transaction instead of opening one.
 */
export interface VectorStoreClient {
  $queryRaw<R = unknown>(query: Sql, ...values: unknown[]): PromiseLike<R>;
  $executeRaw(query: Sql, ...values: unknown[]): PromiseLike<number>;
  $transaction?<R>(
    fn: (tx: VectorStoreClient) => Promise<R>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<R>;
}

/** A search hit's optional fields. */
export interface HitFields<M> {
  readonly content: string;
  readonly metadata: M | null;
  readonly createdAt: Date;
}

type WithEmbedding<E extends boolean, V> = [E] extends [true]
  ? { readonly embedding: V }
  : [E] extends [false]
    ? unknown
    : { readonly embedding?: V };

/**
 * One search result: `id`, the raw `distance` of the metric's operator (ascending = more similar), the
 * `similarity` derived from it (higher = more similar: `1 − d` for cosine, `−d` = the inner product for
 * `innerProduct`, `1 / (1 + d)` for L2 and L1, the fraction of equal bits for Hamming), the selected fields
 * and, with `includeEmbedding: true`, the embedding.
 */
export type SearchHit<
  M extends object = Record<string, unknown>,
  T extends VectorType = 'vector',
  F extends HitField = HitField,
  E extends boolean = false,
> = { readonly id: string; readonly distance: number; readonly similarity: number } & Pick<HitFields<M>, F> &
  WithEmbedding<E, Embedding<T>>;

/** A stored document as `getByIds` returns it. */
export type StoredDocument<
  M extends object = Record<string, unknown>,
  T extends VectorType = 'vector',
  E extends boolean = false,
> = { readonly id: string } & HitFields<M> & WithEmbedding<E, Embedding<T> | null>;

/** Options of `search` and `searchText`. */
export interface SearchOptions<
  M extends object = Record<string, unknown>,
  F extends HitField = HitField,
  E extends boolean = false,
> {
  /** Rows wanted, 1–1000. Default 10. */
  readonly k?: number;
  /** Metadata / createdAt filter (see `Filter`). */
  readonly filter?: Filter<M>;
  /**
   * Metric of this search. Default: the store's. Another metric than the one the index was built for
   * cannot use the index: the search then scans the whole table (exact, slow on large tables).
   */
  readonly metric?: Metric;
  /** `hnsw.ef_search`, 1–1000 (HNSW): more candidates, better recall, slower. */
  readonly efSearch?: number;
  /** Iterative index scan (pgvector ≥ 0.8). Default for filtered searches: the store's `filteredIterativeScan`. */
  readonly iterativeScan?: IterativeScan;
  /** `hnsw.max_scan_tuples`: how far an iterative HNSW scan may go (pgvector's default 20 000). */
  readonly maxScanTuples?: number;
  /** `ivfflat.probes`, 1–32768 (IVFFlat). */
  readonly probes?: number;
  /** Only rows at most this distance away. Not together with `minSimilarity`. */
  readonly maxDistance?: number;
  /** Only rows at least this similar (converted to a maximum distance, so the index still serves the query). */
  readonly minSimilarity?: number;
  /** Also return each row's embedding. */
  readonly includeEmbedding?: E;
  /** Fields to return besides `id`, `distance` and `similarity`. Default: all. */
  readonly select?: readonly F[];
}

/** What a search returns. */
export interface SearchResult<H> {
  /** Best first. */
  readonly results: H[];
  /**
   * Present when fewer than k rows came back: fewer rows match, or the index scan stopped first (an HNSW
   * scan without iterative scans returns at most ef_search rows; an iterative scan stops at
   * max_scan_tuples). The store does not count the matching rows (that would scan the table), so it cannot
   * tell which.
   */
  readonly underfilled?: { readonly found: number; readonly requested: number };
  /** The index settings applied to this query (empty: the server's own). */
  readonly settings: SearchSettings;
  /** Fallbacks taken and caveats, e.g. no iterative scans on this pgvector, or a metric no index serves. */
  readonly warnings: readonly string[];
}

/** The plan of a search, as `explainSearch` returns it. */
export interface SearchPlan {
  /** EXPLAIN's lines, with vectors shortened. */
  readonly plan: string[];
  /** Indexes the plan scans, e.g. `['documents_embedding_article_hnsw_idx']`; empty for a sequential scan. */
  readonly indexes: string[];
  /** The index settings applied, as in {@link SearchResult.settings}. */
  readonly settings: SearchSettings;
}

/** What a bulk write did. */
export interface WriteManyResult {
  /** Rows inserted. */
  readonly inserted: number;
  /** Rows replaced (upserts only; 0 for `addMany`). */
  readonly updated: number;
  /** Ids of the written rows, in input order. */
  readonly ids: string[];
  /** INSERT statements run, or COPY statements with `method: 'copy'`. */
  readonly batches: number;
  /**
   * How the rows went in: `'copy'` (binary COPY through `pool`) or `'insert'` (multi-row INSERTs through
   * Prisma).
   */
  readonly method: WriteMethod;
  /** Why `'insert'` was used although a `pool` is configured (e.g. a caller's transaction, `upsertMany`). */
  readonly copySkipped?: string;
  /** Whether `ANALYZE` ran, in the same transaction, because at least `analyzeThreshold` rows were written. */
  readonly analyzed: boolean;
  /** Whether `VACUUM (ANALYZE)` ran after the commit (`vacuumAfterBulk`, outside a caller's transaction). */
  readonly vacuumed: boolean;
  /** True after a large write that could not vacuum (in a caller's transaction, or `vacuumAfterBulk: false`). */
  readonly vacuumRecommended: boolean;
}

/** How a bulk write sends its rows (see {@link WriteManyResult.method}). */
export type WriteMethod = 'copy' | 'insert';

/** A bulk write's documents: an array (all validated before any SQL), or a (async) iterable streamed in batches. */
export type DocumentSource<D> = readonly D[] | Iterable<D> | AsyncIterable<D>;

/** Options of `addMany`, `upsertMany` and `addTexts`. */
export interface WriteManyOptions {
  /** Most rows per INSERT; default: the store's `batchSize`. Always also capped by 65 535 bind parameters. */
  readonly batchSize?: number;
  /**
   * `'auto'` (default): binary COPY when the store has a `pool` and may use it (not in a caller's
   * transaction, not an upsert, the server accepts COPY), INSERTs otherwise. `'copy'` demands COPY (throws
   * `INVALID_ARGUMENT` saying why it cannot); `'insert'` always uses INSERTs.
   */
  readonly method?: 'auto' | WriteMethod;
  /**
   * Whether the result lists the ids of the written rows. Default true; turn it off for very large streamed
   * loads so that nothing grows with the number of rows.
   */
  readonly returnIds?: boolean;
}

/** A text to embed and add, with its metadata and optional id. */
export interface TextInput<M extends object = Record<string, unknown>> {
  readonly id?: string;
  readonly content: string;
  readonly metadata?: M | null;
}

/** What `maintain()` did. */
export interface MaintenanceResult {
  /** The statement run, e.g. `VACUUM (ANALYZE) "documents"`. */
  readonly statement: string;
  readonly durationMs: number;
}

/** Fields of a document `update` may change. */
export interface DocumentPatch<M extends object = Record<string, unknown>, T extends VectorType = 'vector'> {
  readonly content?: string;
  /** Replaces the whole metadata object; `null` clears it. */
  readonly metadata?: M | null;
  /** `null` clears the embedding (the row then drops out of searches). */
  readonly embedding?: EmbeddingInput<T> | null;
}

/** Driver adapters known to send `Uint8Array` parameters in binary format (so `$1::vector` runs `vector_recv`). */
const BINARY_ADAPTERS = ['@prisma/adapter-pg'];
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

interface SharedState {
  readonly config: ResolvedStoreConfig;
  version: Promise<string> | undefined;
  /** Set once the first COPY load found that the server (or a proxy) refuses COPY: why. */
  copyRefused: string | undefined;
  /** Whether a COPY load has succeeded (no more probing). */
  copyWorks: boolean;
  poolTypes?: PoolQuery['types'];
}

interface RawRow {
  readonly id: unknown;
  readonly content?: unknown;
  readonly metadata?: unknown;
  readonly createdAt?: unknown;
  readonly embedding?: unknown;
  readonly distance?: unknown;
  readonly inserted?: unknown;
}

interface PreparedSearch {
  readonly statement: Sql;
  readonly tuning: SearchTuning;
  readonly metric: Metric;
  readonly k: number;
  readonly fields: readonly HitField[];
  readonly warnings: readonly string[];
}

function argumentError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message, fix === undefined ? {} : { fix });
}

function adapterNameOf(client: VectorStoreClient): string | undefined {
  const engineConfig = (client as { _engineConfig?: { adapter?: { adapterName?: unknown } } })._engineConfig;
  const name = engineConfig?.adapter?.adapterName;
  return typeof name === 'string' ? name : undefined;
}

function isTransactionClient(client: VectorStoreClient): boolean {
  return (
    typeof client.$transaction !== 'function' ||
    typeof (client as { $connect?: unknown }).$connect !== 'function'
  );
}

/**
 * A snapshot of an options object: its own enumerable properties, each read once (a getter cannot pass
 * validation with one value and be used with another). Refuses anything but a plain object.
 */
function optionsOf(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) throw argumentError(`${what} must be an object, got ${describeValue(value)}`);
  return Object.fromEntries(Object.entries(value));
}

function unknownOption(options: Record<string, unknown>, known: readonly string[]): string | undefined {
  return Object.keys(options).find((k) => !known.includes(k));
}

function shownKey(key: string): string {
  return /^[\w$]{1,40}$/.test(key) ? `'${key}'` : quoted(key);
}

/** A number option, or `undefined`; anything else is refused naming what it got (never a TypeError). */
function numberOption(value: unknown, name: string, what = 'a number'): number | undefined {
  if (value === undefined || typeof value === 'number') return value;
  throw argumentError(`${name} must be ${what}, got ${describeValue(value)}`);
}

function shownValue(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : describeValue(value);
}

/**
 * A vector store over one documents table. Create it with {@link createVectorStore}; see that function for
 * the SQL each method runs. `M` types the metadata, `T` the vector column's type.
 */
export class VectorStore<M extends object = Record<string, unknown>, T extends VectorType = 'vector'> {
  /** The validated configuration, with defaults filled in. */
  readonly config: ResolvedStoreConfig;
  /** How vectors are sent through this client (`'auto'` resolved). */
  readonly vectorEncoding: VectorEncoding;
  /** True when the store was given a transaction client: it then never opens a transaction itself. */
  readonly inTransaction: boolean;
  private readonly client: VectorStoreClient;
  private readonly shared: SharedState;

  private constructor(client: VectorStoreClient, shared: SharedState) {
    if (typeof client?.$queryRaw !== 'function' || typeof client.$executeRaw !== 'function') {
      throw new PgVectorError(
        'INVALID_CONFIG',
        'createVectorStore needs a Prisma Client or a transaction client ($queryRaw, $executeRaw)',
      );
    }
    this.shared = shared;
    this.config = shared.config;
    this.client = client;
    this.inTransaction = isTransactionClient(client);
    const configured = this.config.vectorEncoding;
    this.vectorEncoding =
      configured === 'auto'
        ? BINARY_ADAPTERS.includes(adapterNameOf(client) ?? '')
          ? 'binary'
          : 'text'
        : configured;
  }

  /**
   * The same store on another client — typically the transaction client of a `$transaction` — sharing the
   * validated configuration and the detected pgvector version.
   *
   * ### Examples
   * ```ts
   * await prisma.$transaction(async (tx) => {
   *   await tx.order.create({ data });
   *   await store.withClient(tx).add({ content, embedding }); // same transaction
   * });
   * ```
   */
  withClient(client: VectorStoreClient): VectorStore<M, T> {
    return new VectorStore<M, T>(client, this.shared);
  }

  /** Validates the configuration and creates a store; the same as {@link createVectorStore}. */
  static create<M extends object = Record<string, unknown>, T extends VectorType = 'vector'>(
    client: VectorStoreClient,
    config: VectorStoreConfig<T> = {},
  ): VectorStore<M, T> {
    return new VectorStore<M, T>(client, {
      config: resolveStoreConfig(config),
      version: undefined,
      copyRefused: undefined,
      copyWorks: false,
    });
  }

  /**
   * The installed pgvector version (`extversion`), read once per store (and the stores derived with
   * `withClient`). Throws `EXTENSION_MISSING` with the fix when the `vector` extension is not installed.
   *
   * The generated SQL (PostgreSQL): `SELECT extversion AS "version" FROM pg_extension WHERE extname = 'vector'`
   */
  pgvectorVersion(): Promise<string> {
    this.shared.version ??= this.detectVersion().catch((error: unknown) => {
      this.shared.version = undefined;
      throw error;
    });
    return this.shared.version;
  }

  /**
   * Adds one document; returns its id (generated by the column default when not given) and creation time.
   *
   * ### Examples
   * ```ts
   * const { id } = await store.add({ content: 'HNSW in practice', metadata: { type: 'article' }, embedding });
   * ```
   *
   * The generated SQL (PostgreSQL):
   * ```sql
   * INSERT INTO "documents" ("id", "content", "metadata", "embedding", "created_at")
   * VALUES (DEFAULT, $1, $2::jsonb, $3::vector(1536), DEFAULT) RETURNING "id" AS "id", "created_at" AS "createdAt"
   * ```
   */
  async add(doc: DocumentInput<M, T>): Promise<{ id: string; createdAt: Date }> {
    const row = this.prepare(doc, 'doc', false);
    const [inserted] = await this.query<RawRow>(
      buildInsertSql(this.config, [buildRowSql(row)], { upsert: false }),
      'add',
    );
    return { id: String(inserted?.id), createdAt: inserted?.createdAt as Date };
  }

  /**
   * Adds many documents in ONE transaction: all land or none. `docs` is an array (every document validated
   * before any SQL runs; an error names the bad one: `docs[17].embedding: …`) or any iterable / async
   * iterable, validated and sent as it streams, with bounded memory (a bad document aborts the load).
   * With the store's `pool` (outside a caller's transaction) rows go in binary `COPY` statements on one of
   * its connections; otherwise in multi-row INSERTs of at most `batchSize` rows and 65 535 bind parameters
   * (`method` chooses; the result says which ran). A database error names the rows. When at least
   * `analyzeThreshold` rows were written, `ANALYZE` runs before the commit, then `VACUUM (ANALYZE)` after
   * it (`vacuumAfterBulk`); in a caller's transaction `vacuumRecommended` asks for a `maintain()` instead.
   *
   * ### Examples
   * ```ts
   * const r = await store.addMany(chunks.map((c) => ({ content: c.text, metadata: c.meta, embedding: c.vector })));
   * await store.addMany(readChunks(file), { returnIds: false }); // an async generator, streamed
   * ```
   *
   * The generated SQL (PostgreSQL), in one transaction:
   * ```sql
   * COPY "documents" ("id", "content", "metadata", "embedding") FROM STDIN (FORMAT binary) -- with a pool
   * INSERT INTO "documents" (…) VALUES (DEFAULT, $1, $2::jsonb, $3::vector(1536), DEFAULT), … RETURNING … -- without
   * ANALYZE "documents"   -- when at least analyzeThreshold rows were written
   * ```
   */
  addMany(
    docs: DocumentSource<DocumentInput<M, T>>,
    options: WriteManyOptions = {},
  ): Promise<WriteManyResult> {
    return this.writeMany(docs, options, false, 'addMany');
  }

  /**
   * Inserts a document, or replaces the content, metadata and embedding of the row with its id (the
   * creation time stays). `id` is required. Returns whether the row was new.
   *
   * ### Examples
   * ```ts
   * await store.upsert({ id: 'faq-12', content, metadata, embedding }); // { id: 'faq-12', inserted: false }
   * ```
   *
   * The generated SQL (PostgreSQL):
   * ```sql
   * INSERT INTO "documents" (…) VALUES ($1, $2, $3::jsonb, $4::vector(1536), DEFAULT)
   * ON CONFLICT ("id") DO UPDATE SET "content" = EXCLUDED."content", "metadata" = EXCLUDED."metadata",
   *   "embedding" = EXCLUDED."embedding"
   * RETURNING "id" AS "id", "created_at" AS "createdAt", (xmax = 0) AS "inserted"
   * ```
   */
  async upsert(doc: DocumentInput<M, T>): Promise<{ id: string; inserted: boolean }> {
    const row = this.prepare(doc, 'doc', true);
    const [result] = await this.query<RawRow>(
      buildInsertSql(this.config, [buildRowSql(row)], { upsert: true }),
      'upsert',
    );
    return { id: String(result?.id), inserted: result?.inserted === true };
  }

  /**
   * {@link VectorStore.upsert} for many documents, streamed and atomic like {@link VectorStore.addMany}. Ids
   * must be given and distinct. With the store's `pool` the rows are copied into a temporary staging table
   * and merged with one `INSERT … SELECT … ON CONFLICT ("id") DO UPDATE`; otherwise batched INSERTs with
   * `ON CONFLICT`.
   */
  upsertMany(
    docs: DocumentSource<DocumentInput<M, T>>,
    options: WriteManyOptions = {},
  ): Promise<WriteManyResult> {
    return this.writeMany(docs, options, true, 'upsertMany');
  }

  /**
   * Changes some fields of one document; returns false when no row has that id.
   *
   * ### Examples
   * ```ts
   * await store.update('doc-1', { metadata: { type: 'note' }, embedding: newVector });
   * ```
   *
   * The generated SQL (PostgreSQL):
   * ```sql
   * UPDATE "documents" SET "metadata" = $1::jsonb, "embedding" = $2::vector(1536) WHERE "id" = $3
   * ```
   */
  async update(id: string, patch: DocumentPatch<M, T>): Promise<boolean> {
    const checkedId = checkId(id, 'id');
    if (!isPlainObject(patch))
      throw argumentError('update expects a patch object { content?, metadata?, embedding? }');
    const unknownKey = Object.keys(patch).find((k) => !['content', 'metadata', 'embedding'].includes(k));
    if (unknownKey !== undefined) {
      throw argumentError(
        `patch has an unknown key '${unknownKey}'; it may set content, metadata, embedding`,
      );
    }
    const set: { content?: string; metadataJson?: string | null; embedding?: Sql | null } = {};
    if (patch.content !== undefined) set.content = checkContent(patch.content, 'patch.content');
    if (patch.metadata !== undefined) set.metadataJson = metadataJson(patch.metadata, 'patch.metadata');
    if (patch.embedding !== undefined) {
      set.embedding =
        patch.embedding === null
          ? null
          : vectorSql(
              this.config,
              patch.embedding,
              'patch.embedding',
              this.vectorEncoding,
              this.config.metric === 'cosine',
            );
    }
    if (Object.keys(set).length === 0)
      throw argumentError('update needs at least one of content, metadata, embedding');
    return (await this.execute(buildUpdateSql(this.config, checkedId, set), 'update')) > 0;
  }

  /**
   * Deletes the documents with these ids; returns how many existed.
   *
   * The generated SQL (PostgreSQL): `DELETE FROM "documents" WHERE "id" = ANY($1::text[])`
   */
  async deleteByIds(ids: readonly string[]): Promise<{ deleted: number }> {
    const checked = checkIds(ids, 'ids');
    if (checked.length === 0) return { deleted: 0 };
    return { deleted: await this.execute(buildDeleteByIdsSql(this.config, checked), 'deleteByIds') };
  }

  /**
   * Deletes the documents a filter matches. A filter that matches every row — empty (`{}`, `{ and: [] }`)
   * or meaning "every row" however it is written (`{ and: [{}, {}] }`, `{ not: { or: [] } }`,
   * `{ or: [c, { not: c }] }`) — is refused unless `{ all: true }` is passed; so is an `undefined`
   * condition value (`{ tenant: undefined }`, INVALID_FILTER).
   *
   * ### Examples
   * ```ts
   * await store.deleteWhere({ source: 'crawl-2024-05' });
   * await store.deleteWhere({}, { all: true }); // every row
   * ```
   *
   * The generated SQL (PostgreSQL): `DELETE FROM "documents" WHERE (("metadata" ->> $1::text) = $2::text)`
   */
  async deleteWhere(
    filter: Filter<M>,
    options: { readonly all?: boolean } = {},
  ): Promise<{ deleted: number; vacuumRecommended: boolean }> {
    const o = optionsOf(options, 'deleteWhere options');
    const unknownKey = unknownOption(o, ['all']);
    if (unknownKey !== undefined) throw argumentError(`unknown deleteWhere option ${shownKey(unknownKey)}`);
    if (o.all !== undefined && typeof o.all !== 'boolean') {
      throw argumentError(`all must be true or false, got ${describeValue(o.all)}`);
    }
    const analyzed = this.compile(filter);
    if (analyzed.everyRow && o.all !== true) {
      throw argumentError(
        'refusing to delete every row: the filter matches every row (it is empty, or means "every row" however it is written)',
        'pass { all: true } to delete every row',
      );
    }
    const deleted = await this.execute(buildDeleteWhereSql(this.config, analyzed.where), 'deleteWhere');
    return { deleted, vacuumRecommended: deleted >= this.config.analyzeThreshold };
  }

  /**
   * Reads documents by id, in the order of `ids` (missing ids are skipped, duplicates returned once); with
   * `includeEmbedding`, also their vectors (`null` for rows without one).
   *
   * The generated SQL (PostgreSQL):
   * ```sql
   * SELECT "id" AS "id", "content" AS "content", "metadata" AS "metadata", "created_at" AS "createdAt"
   *   [, "embedding"::text AS "embedding"]
   * FROM "documents" WHERE "id" = ANY($1::text[])
   * ```
   */
  async getByIds<E extends boolean = false>(
    ids: readonly string[],
    options: { readonly includeEmbedding?: E } = {},
  ): Promise<StoredDocument<M, T, E>[]> {
    const o = optionsOf(options, 'getByIds options');
    const unknownKey = unknownOption(o, ['includeEmbedding']);
    if (unknownKey !== undefined) throw argumentError(`unknown getByIds option ${shownKey(unknownKey)}`);
    const checked = checkIds(ids, 'ids');
    if (checked.length === 0) return [];
    const includeEmbedding = o.includeEmbedding === true;
    const rows = await this.query<RawRow>(
      buildGetByIdsSql(this.config, checked, includeEmbedding),
      'getByIds',
    );
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    return checked.flatMap((id) => {
      const row = byId.get(id);
      if (row === undefined) return [];
      const doc: Record<string, unknown> = {
        id,
        content: row.content,
        metadata: row.metadata ?? null,
        createdAt: row.createdAt,
      };
      if (includeEmbedding) doc.embedding = row.embedding == null ? null : this.parseEmbedding(row.embedding);
      return [doc as StoredDocument<M, T, E>];
    });
  }

  /**
   * Nearest neighbours of a vector, best first. The query runs as one `SELECT … ORDER BY distance LIMIT k`
   * that a vector index serves (see `buildSearchSql`); a filter is compiled into the WHERE clause (a filter
   * on a configured partial index's key/value is written as its literal predicate, so that index is used).
   *
   * Filtered searches return k rows when k rows match: unless told otherwise they turn on pgvector's
   * iterative scan (`relaxed_order`, re-sorted in SQL). Index settings (`efSearch`, `iterativeScan`,
   * `maxScanTuples`, `probes`, and ef_search = k when k > 40) are applied with `set_config(…, true)` in a
   * transaction around the query — the store's own, or, on a transaction client, the caller's, where the
   * previous values are restored afterwards. On pgvector < 0.8 (no iterative scans) a larger ef_search is
   * used instead, with a warning in the result.
   *
   * ### Examples
   * ```ts
   * const { results, underfilled } = await store.search(queryVector, {
   *   k: 5,
   *   filter: { type: 'article', lang: { in: ['en', 'de'] } },
   *   minSimilarity: 0.75,
   * });
   * ```
   *
   * The generated SQL (PostgreSQL), in one transaction:
   * ```sql
   * SELECT set_config('hnsw.iterative_scan', $1, true) AS "hnsw.iterative_scan"
   * SELECT * FROM (
   *   SELECT "id" AS "id", "content" AS "content", "metadata" AS "metadata", "created_at" AS "createdAt",
   *          "embedding" <=> $1::vector(1536) AS "distance"
   *   FROM "documents"
   *   WHERE "embedding" IS NOT NULL AND ((("metadata" ->> 'type'::text) = 'article'::text)
   *     AND (("metadata" ->> $2::text) = ANY($3::text[])))
   *   ORDER BY "distance" LIMIT 5
   * ) AS s WHERE s."distance" <= $4 ORDER BY s."distance" + 0
   * ```
   */
  async search<const F extends HitField = HitField, E extends boolean = false>(
    query: EmbeddingInput<T>,
    options: SearchOptions<M, F, E> = {},
  ): Promise<SearchResult<SearchHit<M, T, F, E>>> {
    let prepared = await this.prepareSearch(query, options);
    let rows = await this.runSearch<RawRow>(prepared, prepared.statement, 'search');
    const retry =
      rows.length < prepared.k ? await this.shortSearchRetry(query, options, prepared) : undefined;
    if (retry !== undefined) {
      prepared = retry;
      rows = await this.runSearch<RawRow>(prepared, prepared.statement, 'search');
    }
    const results = rows.map((row) => this.toHit(row, prepared) as SearchHit<M, T, F, E>);
    return {
      results,
      ...(results.length < prepared.k
        ? { underfilled: { found: results.length, requested: prepared.k } }
        : {}),
      settings: prepared.tuning.settings,
      warnings: prepared.warnings,
    };
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
  private async shortSearchRetry(
    query: EmbeddingInput<T>,
    options: SearchOptions<M, HitField, boolean>,
    first: PreparedSearch,
  ): Promise<PreparedSearch | undefined> {
    const scan = this.config.filteredIterativeScan;
    if (scan === 'off' || first.tuning.settings.iterativeScan !== undefined) return undefined;
    if (options.iterativeScan !== undefined || options.maxDistance !== undefined) return undefined;
    if (options.minSimilarity !== undefined) return undefined;
    const again = await this.prepareSearch(query, { ...options, iterativeScan: scan });
    const same = JSON.stringify(again.tuning.settings) === JSON.stringify(first.tuning.settings);
    return same ? undefined : again;
  }

  /**
   * The query plan of a search — the same SQL with the same settings, under `EXPLAIN` (with `analyze: true`,
   * `EXPLAIN (ANALYZE, BUFFERS)`, which runs it) — and the indexes it scans. The first thing to look at when
   * a search is slow or does not use its index.
   *
   * ### Examples
   * ```ts
   * const { indexes } = await store.explainSearch(q, { filter: { type: 'article' } });
   * // ['documents_embedding_article_hnsw_idx']
   * ```
   */
  async explainSearch(
    query: EmbeddingInput<T>,
    options: SearchOptions<M, HitField, boolean> & { readonly analyze?: boolean } = {},
  ): Promise<SearchPlan> {
    const { analyze, ...searchOptions } = optionsOf(options, 'explainSearch options');
    if (analyze !== undefined && typeof analyze !== 'boolean') {
      throw argumentError(`analyze must be true or false, got ${describeValue(analyze)}`);
    }
    const prepared = await this.prepareSearch(query, searchOptions);
    const rows = await this.runSearch<Record<string, unknown>>(
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
   * Embeds a text with the configured embedder and adds it.
   *
   * ### Examples
   * ```ts
   * await store.addText('Partial indexes make filtered search fast.', { type: 'article' });
   * ```
   */
  async addText(
    content: string,
    metadata?: M | null,
    options: { readonly id?: string } = {},
  ): Promise<{ id: string; createdAt: Date }> {
    checkContent(content, 'content');
    const [embedding] = await this.embed([content]);
    return this.add({ content, metadata: metadata ?? null, embedding, ...options } as DocumentInput<M, T>);
  }

  /**
   * Embeds texts (in chunks of `batchSize`) and adds them in one transaction, as {@link VectorStore.addMany}.
   * Every text is embedded before anything is written.
   */
  async addTexts(
    texts: readonly (string | TextInput<M>)[],
    options: WriteManyOptions = {},
  ): Promise<WriteManyResult> {
    if (!Array.isArray(texts)) throw argumentError('addTexts expects an array of texts');
    const inputs = Array.from(texts as readonly unknown[], (t, i): TextInput<M> => {
      if (typeof t === 'string') return { content: checkContent(t, `texts[${i}]`) };
      if (!isPlainObject(t)) {
        throw argumentError(
          `texts[${i}] must be a string or { content, metadata?, id? }, got ${describeValue(t)}`,
        );
      }
      const snapshot = Object.fromEntries(Object.entries(t)) as unknown as TextInput<M>;
      checkContent(snapshot.content, `texts[${i}].content`);
      return snapshot;
    });
    const chunk = this.batchSize(options);
    const vectors: number[][] = [];
    for (let i = 0; i < inputs.length; i += chunk) {
      vectors.push(...(await this.embed(inputs.slice(i, i + chunk).map((t) => t.content))));
    }
    const docs = inputs.map((t, i) => ({ ...t, embedding: vectors[i] }) as DocumentInput<M, T>);
    return this.writeMany(docs, options, false, 'addTexts');
  }

  /** Embeds the query text with the configured embedder and runs {@link VectorStore.search}. */
  async searchText<const F extends HitField = HitField, E extends boolean = false>(
    query: string,
    options: SearchOptions<M, F, E> = {},
  ): Promise<SearchResult<SearchHit<M, T, F, E>>> {
    if (typeof query !== 'string')
      throw argumentError(`searchText expects a string, got ${describeValue(query)}`);
    const [embedding] = await this.embed([query]);
    return this.search(embedding as unknown as EmbeddingInput<T>, options);
  }

  /**
   * `VACUUM (ANALYZE)` of the table, after bulk loads or large deletes: removes dead rows (and their HNSW
   * graph entries) and refreshes planner statistics. PostgreSQL cannot vacuum inside a transaction, so this
   * throws `IN_TRANSACTION` on a store created with a transaction client.
   *
   * The generated SQL (PostgreSQL): `VACUUM (ANALYZE) "documents"`
   */
  async maintain(): Promise<MaintenanceResult> {
    const statement = buildVacuumSql(this.config);
    if (this.inTransaction) {
      throw new PgVectorError(
        'IN_TRANSACTION',
        'maintain() runs VACUUM, which cannot run inside a transaction',
        {
          fix: 'call maintain() on a store created with the root Prisma client, after the transaction',
        },
      );
    }
    const started = performance.now();
    await this.execute(statement, 'maintain');
    return { statement: statement.text, durationMs: Math.round(performance.now() - started) };
  }

  private async detectVersion(): Promise<string> {
    const rows = await this.query<{ version: unknown }>(PGVECTOR_VERSION_SQL, 'pgvector version check');
    const version = rows[0]?.version;
    if (typeof version !== 'string') {
      throw new PgVectorError(
        'EXTENSION_MISSING',
        'the pgvector extension ("vector") is not installed in this database',
        {
          fix: EXTENSION_MISSING_FIX,
        },
      );
    }
    return version;
  }

  private errorContext(operation: string, metric: Metric = this.config.metric) {
    const c = this.config;
    return { operation, tableName: c.tableName, vectorType: c.vectorType, dimensions: c.dimensions, metric };
  }

  private async query<R>(
    statement: Sql,
    operation: string,
    client = this.client,
    metric?: Metric,
  ): Promise<R[]> {
    checkParameterCount(statement, operation);
    try {
      return await client.$queryRaw<R[]>(statement);
    } catch (error) {
      throw translateDatabaseError(error, this.errorContext(operation, metric));
    }
  }

  private async execute(statement: Sql, operation: string, client = this.client): Promise<number> {
    checkParameterCount(statement, operation);
    try {
      return await client.$executeRaw(statement);
    } catch (error) {
      throw translateDatabaseError(error, this.errorContext(operation));
    }
  }

  /** Runs `fn` in the store's own transaction, or directly in the caller's. */
  private async transaction<R>(operation: string, fn: (client: VectorStoreClient) => Promise<R>): Promise<R> {
    const root = this.client;
    if (this.inTransaction || root.$transaction === undefined) return fn(root);
    try {
      return await root.$transaction(fn, this.config.transactionOptions);
    } catch (error) {
      throw translateDatabaseError(error, this.errorContext(operation));
    }
  }

  private prepare(doc: unknown, path: string, requireId: boolean): RowValues {
    return prepareRow(this.config, doc, path, this.vectorEncoding, requireId);
  }

  private compile(filter: Filter<M> | undefined): AnalyzedFilter {
    const c = this.config;
    return analyzeFilter<M>(filter, {
      metadataColumn: c.columns.metadata,
      createdAtColumn: c.columns.createdAt,
      partialIndexPredicates: c.partialIndexPredicates,
    });
  }

  private async embed(texts: readonly string[]): Promise<number[][]> {
    const embedder: Embedder | undefined = this.config.embedder;
    if (embedder === undefined) {
      throw new PgVectorError(
        'INVALID_CONFIG',
        `no embedder: vectorType '${this.config.vectorType}' has no default one`,
        {
          fix: 'pass vectors to add/search, or configure an embedder (dense vector types only)',
        },
      );
    }
    const vectors = await embedder.embed(texts);
    if (!Array.isArray(vectors) || vectors.length !== texts.length) {
      throw new PgVectorError(
        'INVALID_ARGUMENT',
        `the embedder returned ${Array.isArray(vectors) ? vectors.length : 'no'} vectors for ${texts.length} texts`,
      );
    }
    return vectors;
  }

  private async writeMany(
    docs: DocumentSource<DocumentInput<M, T>>,
    input: WriteManyOptions,
    upsert: boolean,
    operation: string,
  ): Promise<WriteManyResult> {
    const options = writeManyOptions(input);
    const streamed = !Array.isArray(docs);
    if (streamed && !isIterable(docs)) {
      throw argumentError(`${operation} expects an array or an (async) iterable of documents`);
    }
    const batchSize = this.batchSize(options);
    const returnIds = options.returnIds ?? true;
    if (typeof returnIds !== 'boolean')
      throw argumentError(`returnIds must be true or false, got ${describeValue(returnIds)}`);
    const plan = this.writeMethod(options);
    let copySkipped = plan.skipped;
    if (plan.method === 'copy') {
      const result = await this.copyMany(docs, operation, upsert, returnIds, options.method === 'copy');
      if ('inserted' in result) return result;
      copySkipped = result.skipped;
    }
    const written = streamed
      ? await this.insertStream(docs, batchSize, upsert, operation, returnIds)
      : await this.insertArray(
          docs as readonly DocumentInput<M, T>[],
          batchSize,
          upsert,
          operation,
          returnIds,
        );
    return this.finishWrite(written, 'insert', copySkipped);
  }

  /** Whether a bulk write may use COPY, or why not (only worth saying when a `pool` is configured). */
  private writeMethod(options: WriteManyOptions): { method: WriteMethod; skipped?: string } {
    const asked = options.method ?? 'auto';
    if (!['auto', 'copy', 'insert'].includes(asked)) {
      throw argumentError(`method must be 'auto', 'copy' or 'insert', got ${shownValue(asked)}`);
    }
    if (asked === 'insert') return { method: 'insert' };
    const skipped =
      this.config.pool === undefined
        ? 'no pool is configured'
        : this.inTransaction
          ? "in a caller's transaction (COPY would run on another connection, outside it)"
          : this.config.idType !== 'text'
            ? `binary COPY sends text ids; the id column is ${this.config.idType}`
            : this.shared.copyRefused === undefined
              ? undefined
              : `the server refused COPY: ${this.shared.copyRefused}`;
    if (skipped === undefined) return { method: 'copy' };
    if (asked === 'copy') throw argumentError(`method 'copy' is not possible here: ${skipped}`);
    return { method: 'insert', ...(this.config.pool === undefined ? {} : { skipped }) };
  }

  /** The COPY path; `{ skipped }` (nothing consumed, nothing written) when the server refuses COPY. */
  private async copyMany(
    docs: DocumentSource<DocumentInput<M, T>>,
    operation: string,
    upsert: boolean,
    returnIds: boolean,
    required: boolean,
  ): Promise<WriteManyResult | { skipped: string }> {
    const config = this.config;
    const toCopyRow = (doc: unknown, index: number): IndexedCopyRow => ({
      index,
      row: prepareCopyRow(config, doc, `docs[${index}]`, upsert),
    });
    let rows: AsyncIterable<IndexedCopyRow>;
    if (Array.isArray(docs)) {
      // An array is validated whole before anything is sent, as on the INSERT path.
      const prepared = Array.from(docs as readonly unknown[], toCopyRow);
      // Generated ids are random UUIDs: checking them too costs nothing and cannot fail.
      this.checkDistinctIds(prepared.map((r) => r.row.id));
      rows = fromArray(prepared);
    } else {
      // Streamed adds keep nothing per row (the primary key refuses a repeated id, naming the row); upserts
      // refuse one here (the merge could not say which row).
      const ids = upsert ? new DistinctIds() : undefined;
      rows = mapSource(docs as Iterable<unknown> | AsyncIterable<unknown>, (doc, index) => {
        const row = toCopyRow(doc, index);
        ids?.check(row.row.id, index, true);
        return row;
      });
    }
    const result: CopyLoadResult | { unsupported: string } = await copyLoad({
      pool: config.pool as StorePool,
      config,
      rows,
      analyze: (n) => n >= config.analyzeThreshold,
      operation,
      upsert,
      returnIds,
      probe: !this.shared.copyWorks,
      translate: (error, label) => translateDatabaseError(error, this.errorContext(label)),
    });
    if ('unsupported' in result) {
      this.shared.copyRefused = result.unsupported;
      const skipped = `the server refused COPY: ${result.unsupported}`;
      if (required) throw argumentError(`method 'copy' is not possible here: ${skipped}`);
      return { skipped };
    }
    this.shared.copyWorks = true;
    return this.finishWrite(
      {
        inserted: result.inserted,
        updated: result.updated,
        ids: result.ids,
        batches: result.statements,
        analyzed: result.analyzed,
      },
      'copy',
      undefined,
    );
  }

  /** An array through multi-row INSERTs: all validated first; one transaction unless it is one small batch. */
  private async insertArray(
    docs: readonly DocumentInput<M, T>[],
    batchSize: number,
    upsert: boolean,
    operation: string,
    returnIds: boolean,
  ): Promise<WrittenRows> {
    const prepared = Array.from(docs as readonly unknown[], (doc, i) =>
      this.prepare(doc, `docs[${i}]`, upsert),
    );
    this.checkDistinctIds(prepared.map((row) => row.id));
    const rows = prepared.map(buildRowSql);
    const batches = batchRows(rows, batchSize);
    const analyze = docs.length >= this.config.analyzeThreshold;
    const run = async (client: VectorStoreClient): Promise<WrittenRows> => {
      const written = new WrittenRows(returnIds);
      for (const [n, batch] of batches.entries()) {
        const label = `${operation}: batch ${n + 1} of ${batches.length} (docs[${batch.start}..${batch.start + batch.rows.length - 1}])`;
        written.add(
          await this.query<RawRow>(buildInsertSql(this.config, batch.rows, { upsert }), label, client),
        );
      }
      if (analyze) await this.execute(buildAnalyzeSql(this.config), `${operation}: ANALYZE`, client);
      written.analyzed = analyze;
      return written;
    };
    if (batches.length === 0) return new WrittenRows(returnIds);
    return batches.length === 1 && !analyze ? run(this.client) : this.transaction(operation, run);
  }

  /**
   * An iterable through multi-row INSERTs in one transaction, `batchSize` documents validated and sent at a
   * time: an invalid document or a failing batch rolls back everything written before it.
   */
  private async insertStream(
    docs: Iterable<unknown> | AsyncIterable<unknown>,
    batchSize: number,
    upsert: boolean,
    operation: string,
    returnIds: boolean,
  ): Promise<WrittenRows> {
    // Upserts refuse an id given twice (the second would silently win); adds too while the ids are kept
    // anyway (returnIds), naming both documents. Otherwise only within a chunk (bounded memory), and the
    // primary key refuses the rest: that error is then completed with the document (see duplicateDetail).
    const ids = upsert || returnIds ? new DistinctIds() : undefined;
    let failed: { readonly first: number; readonly ids: readonly (string | undefined)[] } | undefined;
    try {
      return await this.transaction(operation, async (client) => {
        const written = new WrittenRows(returnIds);
        let chunk: Sql[] = [];
        let chunkIds: (string | undefined)[] = [];
        let inChunk = new DistinctIds();
        let chunkStart = 0;
        let count = 0;
        const flush = async (): Promise<void> => {
          for (const batch of batchRows(chunk, batchSize)) {
            const first = chunkStart + batch.start;
            const label = `${operation}: batch of docs[${first}..${first + batch.rows.length - 1}]`;
            try {
              written.add(
                await this.query<RawRow>(buildInsertSql(this.config, batch.rows, { upsert }), label, client),
              );
            } catch (error) {
              if (isPgVectorError(error) && error.server?.sqlState === '23505') {
                failed = { first, ids: chunkIds.slice(batch.start, batch.start + batch.rows.length) };
              }
              throw error;
            }
          }
          chunkStart += chunk.length;
          chunk = [];
          chunkIds = [];
          inChunk = new DistinctIds();
        };
        for await (const doc of docs) {
          const row = this.prepare(doc, `docs[${count}]`, upsert);
          if (row.id !== undefined) (ids ?? inChunk).check(row.id, count, true);
          chunk.push(buildRowSql(row));
          chunkIds.push(row.id);
          count++;
          if (chunk.length >= batchSize) await flush();
        }
        if (chunk.length > 0) await flush();
        written.analyzed = count >= this.config.analyzeThreshold;
        if (written.analyzed)
          await this.execute(buildAnalyzeSql(this.config), `${operation}: ANALYZE`, client);
        return written;
      });
    } catch (error) {
      if (failed === undefined || !isPgVectorError(error)) throw error;
      throw withDetail(error, await this.duplicateDetail(failed.first, failed.ids, returnIds));
    }
  }

  /**
   * Which document of a batch the primary key refused (Prisma reports a unique violation without the
   * server's `Key (id)=(…)` detail): after the rollback, the batch's ids already in the table; otherwise one
   * given earlier in the load.
   */
  private async duplicateDetail(
    first: number,
    ids: readonly (string | undefined)[],
    idsKept: boolean,
  ): Promise<string> {
    const range = `docs[${first}..${first + ids.length - 1}]`;
    const given = ids.filter((id): id is string => id !== undefined);
    if (this.inTransaction || given.length === 0) {
      return `${range}: one of these ids is already in the table or was given earlier in this load`;
    }
    let existing: Set<string>;
    try {
      const rows = await this.query<RawRow>(buildGetByIdsSql(this.config, given, false), 'duplicate check');
      existing = new Set(rows.map((r) => String(r.id)));
    } catch {
      return `${range}: one of these ids is already in the table or was given earlier in this load`;
    }
    const at = ids.findIndex((id) => id !== undefined && existing.has(id));
    if (at >= 0) return `docs[${first + at}].id '${ids[at]}' is already in the table`;
    return idsKept
      ? `${range}: one of these ids is already in the table or was given earlier in this load`
      : `${range}: one of these ids was given earlier in this load (with returnIds: false no ids are kept to say which)`;
  }

  /** The result of a bulk write, after the playbook's VACUUM (ANALYZE) when the write was large. */
  private async finishWrite(
    written: Pick<WriteManyResult, 'inserted' | 'updated' | 'ids' | 'batches' | 'analyzed'>,
    method: WriteMethod,
    copySkipped: string | undefined,
  ): Promise<WriteManyResult> {
    // VACUUM cannot run in a transaction: only possible once our own transaction has committed.
    const vacuumed = written.analyzed && this.config.vacuumAfterBulk && !this.inTransaction;
    if (vacuumed) await this.maintain();
    return {
      inserted: written.inserted,
      updated: written.updated,
      ids: written.ids,
      batches: written.batches,
      analyzed: written.analyzed,
      vacuumed,
      vacuumRecommended: written.analyzed && !vacuumed,
      method,
      ...(copySkipped === undefined ? {} : { copySkipped }),
    };
  }

  private batchSize(options: WriteManyOptions): number {
    const batchSize = options.batchSize ?? this.config.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BIND_PARAMETERS) {
      throw argumentError(
        `batchSize must be an integer from 1 to ${MAX_BIND_PARAMETERS}, got ${shownValue(batchSize)}`,
      );
    }
    return batchSize;
  }

  /** Ids of validated rows (not the documents: a getter must not be read twice) are distinct. */
  private checkDistinctIds(rowIds: readonly (string | undefined)[]): void {
    const ids = new DistinctIds();
    rowIds.forEach((id, i) => {
      if (id !== undefined) ids.check(id, i, true);
    });
  }

  private async prepareSearch(query: EmbeddingInput<T>, input: unknown): Promise<PreparedSearch> {
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
    const c = this.config;
    const metric = options.metric ?? c.metric;
    if (!isMetric(metric)) throw argumentError(`unknown metric ${shownValue(metric)}`);
    if (!typesFor(metric).includes(c.vectorType)) {
      throw argumentError(
        `metric '${metric}' is not available for vectorType '${c.vectorType}'; it needs ${typesFor(metric).join(' or ')}`,
      );
    }
    const k = options.k ?? DEFAULT_K;
    const fields = this.checkSelect(options.select);
    const maxDistance = this.maxDistance(options, metric);
    const vector = vectorSql(c, query, 'query', this.vectorEncoding, metric === 'cosine');
    const filter = this.compile(options.filter);
    const where = filter.where;
    const version = await this.pgvectorVersion();
    assertMetricSupported(metric, version);
    const tuning = planSearchTuning(
      {
        k,
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
    const warnings = [...tuning.warnings];
    if (metric !== c.metric) {
      warnings.push(
        `metric '${metric}' differs from the store's '${c.metric}', which the vector index was built for: this search cannot use the index and scans the whole table`,
      );
    }
    const statement = buildSearchSql(c, {
      query: vector,
      metric,
      k,
      where,
      fields,
      includeEmbedding: options.includeEmbedding === true,
      maxDistance,
      relaxed: tuning.relaxed,
    });
    return { statement, tuning, metric, k, fields, warnings };
  }

  private checkSelect(select: readonly HitField[] | undefined): readonly HitField[] {
    if (select === undefined) return HIT_FIELDS;
    if (!Array.isArray(select)) {
      throw argumentError(
        `select must be an array of ${HIT_FIELDS.join(', ')}, got ${describeValue(select)}`,
      );
    }
    const fields = Array.from(select as readonly unknown[]);
    for (const field of fields) {
      if (!(HIT_FIELDS as readonly unknown[]).includes(field)) {
        throw argumentError(
          `select: unknown field ${shownValue(field)}; fields are: ${HIT_FIELDS.join(', ')}`,
        );
      }
    }
    return HIT_FIELDS.filter((f) => fields.includes(f));
  }

  private maxDistance(options: SearchOptions<M, HitField, boolean>, metric: Metric): number | undefined {
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
      const d = maxDistanceFor(metric, minSimilarity, this.config.dimensions);
      return d === Number.POSITIVE_INFINITY ? undefined : d;
    } catch (error) {
      throw atPath(error, 'minSimilarity');
    }
  }

  /** Runs a search statement with its settings: directly, in an own transaction, or in the caller's. */
  private async runSearch<R>(prepared: PreparedSearch, statement: Sql, operation: string): Promise<R[]> {
    const entries = settingEntries(prepared.tuning.settings, this.config.indexMethod);
    const metric = prepared.metric;
    const pool = this.config.searchVia === 'pool' && !this.inTransaction ? this.config.pool : undefined;
    checkParameterCount(statement, operation);
    if (pool !== undefined) {
      const types = this.poolTypes();
      const statements = [
        ...(entries.length === 0 ? [] : [toPoolQuery(buildSetConfigSql(entries), types)]),
        toPoolQuery(statement, types),
      ];
      try {
        if (statements.length === 1) return (await poolQuery(pool, statements[0] as PoolQuery)) as R[];
        return (await poolTransaction(pool, statements)) as R[];
      } catch (error) {
        throw translateDatabaseError(error, this.errorContext(operation, metric));
      }
    }
    if (entries.length === 0) return this.query<R>(statement, operation, this.client, metric);
    if (!this.inTransaction) {
      return this.transaction(operation, async (tx) => {
        await this.query(buildSetConfigSql(entries), `${operation}: settings`, tx, metric);
        return this.query<R>(statement, operation, tx, metric);
      });
    }
    // In the caller's transaction: read the current values, set ours, search, put theirs back. Searches on
    // the same transaction client are queued so that they cannot interleave between set and restore.
    const client = this.client;
    const previous = transactionQueues.get(client) ?? Promise.resolve();
    const run = previous.then(async () => {
      const names = entries.map(([name]) => name);
      const [current] = await this.query<Record<string, string | null>>(
        buildReadSettingsSql(names),
        `${operation}: settings`,
        client,
      );
      await this.query(buildSetConfigSql(entries), `${operation}: settings`, client, metric);
      const rows = await this.query<R>(statement, operation, client, metric);
      await this.query(
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
  private poolTypes(): PoolQuery['types'] {
    this.shared.poolTypes ??= poolTypes(pg.types);
    return this.shared.poolTypes;
  }

  private toHit(row: RawRow, prepared: PreparedSearch): Record<string, unknown> {
    const distance = Number(row.distance);
    const hit: Record<string, unknown> = {
      id: String(row.id),
      distance,
      similarity: Number.isFinite(distance)
        ? distanceToSimilarity(prepared.metric, distance, this.config.dimensions)
        : Number.NaN,
    };
    if (prepared.fields.includes('content')) hit.content = row.content;
    if (prepared.fields.includes('metadata')) hit.metadata = row.metadata ?? null;
    if (prepared.fields.includes('createdAt')) hit.createdAt = row.createdAt;
    if (row.embedding !== undefined) hit.embedding = this.parseEmbedding(row.embedding);
    return hit;
  }

  private parseEmbedding(value: unknown): Embedding<T> {
    const text = String(value);
    switch (this.config.vectorType) {
      case 'bit':
        return text as Embedding<T>;
      case 'sparsevec':
        return parseSparseVectorText(text) as Embedding<T>;
      default:
        return parseVectorText(text) as Embedding<T>;
    }
  }
}

/** Rows returned by INSERT … RETURNING, counted (and their ids kept when asked). */
class WrittenRows {
  inserted = 0;
  updated = 0;
  batches = 0;
  analyzed = false;
  readonly ids: string[] = [];
  constructor(private readonly keepIds: boolean) {}

  add(rows: readonly RawRow[]): void {
    this.batches++;
    for (const row of rows) {
      if (row.inserted === false) this.updated++;
      else this.inserted++;
      if (this.keepIds) this.ids.push(String(row.id));
    }
  }
}

/** Refuses an id given twice in one bulk write (`docs[7].id 'a' repeats docs[2].id`). */
class DistinctIds {
  private readonly seen = new Map<string, number>();

  check(id: string, index: number, given: boolean): void {
    if (!given) return; // generated ids are unique
    const first = this.seen.get(id);
    if (first !== undefined) throw argumentError(`docs[${index}].id '${id}' repeats docs[${first}].id`);
    this.seen.set(id, index);
  }
}

function isIterable(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

async function* fromArray<V>(values: readonly V[]): AsyncGenerator<V> {
  yield* values;
}

async function* mapSource<V>(
  source: Iterable<unknown> | AsyncIterable<unknown>,
  fn: (value: unknown, index: number) => V,
): AsyncGenerator<V> {
  let index = 0;
  for await (const value of source) yield fn(value, index++);
}

/**
 * Refuses a statement with more bind parameters than PostgreSQL's protocol can carry (its count is an
 * int16: {@link MAX_BIND_PARAMETERS}), before it is sent: the server would answer with a protocol error
 * (08P01) that can end the connection.
 */
function checkParameterCount(statement: Sql, operation: string): void {
  if (statement.values.length > MAX_BIND_PARAMETERS) {
    throw argumentError(
      `${operation}: the statement would bind ${statement.values.length} parameters; PostgreSQL takes at most ${MAX_BIND_PARAMETERS}`,
      'use a smaller filter (in: [...] lists bind one parameter each) or smaller batches',
    );
  }
}

/** The same error with a line added to its message (code, server fields, cause and fix kept). */
function withDetail(error: PgVectorError, detail: string): PgVectorError {
  const suffix = error.fix === undefined ? '' : `\nFix: ${error.fix}`;
  const message =
    suffix !== '' && error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message;
  return new PgVectorError(error.code, `${message}\n${detail}`, {
    cause: error.cause,
    ...(error.server === undefined ? {} : { server: error.server }),
    ...(error.fix === undefined ? {} : { fix: error.fix }),
  });
}

/** A snapshot of {@link WriteManyOptions}, unknown keys refused. */
function writeManyOptions(input: unknown): WriteManyOptions {
  const o = optionsOf(input, 'write options');
  const unknownKey = unknownOption(o, ['batchSize', 'method', 'returnIds']);
  if (unknownKey !== undefined) {
    throw argumentError(
      `unknown write option ${shownKey(unknownKey)}; options are: batchSize, method, returnIds`,
    );
  }
  return o as WriteManyOptions;
}

/** One INSERT's worth of rows, as {@link batchRows} splits them. */
export interface InsertBatch {
  /** Index of the batch's first document. */
  readonly start: number;
  readonly rows: Sql[];
}

/**
 * Splits rows into INSERT batches of at most `batchSize` rows and {@link MAX_BIND_PARAMETERS} bind
 * parameters (PostgreSQL's protocol limit per statement), keeping input order.
 *
 * ### Examples
 * ```ts
 * batchRows(rows, 500).map((b) => b.rows.length); // e.g. [500, 500, 37]
 * ```
 */
export function batchRows(rows: readonly Sql[], batchSize: number): InsertBatch[] {
  const batches: InsertBatch[] = [];
  let current: Sql[] = [];
  let params = 0;
  let start = 0;
  rows.forEach((row, i) => {
    const n = row.values.length;
    if (current.length > 0 && (current.length >= batchSize || params + n > MAX_BIND_PARAMETERS)) {
      batches.push({ start, rows: current });
      current = [];
      params = 0;
      start = i;
    }
    current.push(row);
    params += n;
  });
  if (current.length > 0) batches.push({ start, rows: current });
  return batches;
}

/**
 * Creates a vector store on a Prisma Client the application owns — or on a transaction client, to work
 * inside the caller's `$transaction` (the store then never opens a transaction of its own). The store never
 * connects or disconnects the client. The configuration is validated here (`INVALID_CONFIG`); its defaults
 * match the `Document` model (`documents` table, `vector(1536)`, cosine, HNSW, partial index on
 * `type = 'article'`). `M` types the metadata (and the filters), `T` the vector column's type.
 *
 * Methods and the SQL they run:
 *
 * | method | SQL |
 * |---|---|
 * | `add`, `addText` | `INSERT … VALUES (…) RETURNING id` |
 * | `addMany`, `addTexts` | with `pool`: `COPY … FROM STDIN (FORMAT binary)`; else `INSERT … VALUES (…), (…) RETURNING id` (one transaction, then `ANALYZE` above `analyzeThreshold`) |
 * | `upsert`, `upsertMany` | `INSERT … ON CONFLICT (id) DO UPDATE SET …` (`upsertMany` with `pool`: COPY into a staging table, then that) |
 * | `update` | `UPDATE … SET … WHERE id = $n` |
 * | `deleteByIds`, `deleteWhere` | `DELETE … WHERE id = ANY($1::text[])` / `WHERE <filter>` |
 * | `getByIds` | `SELECT … WHERE id = ANY($1::text[])` |
 * | `search`, `searchText` | `set_config(…, true)` + `SELECT …, embedding <op> $1 AS distance … ORDER BY distance LIMIT k` |
 * | `explainSearch` | `EXPLAIN <the search>` |
 * | `maintain` | `VACUUM (ANALYZE) <table>` (outside any transaction) |
 *
 * ### Examples
 * ```ts
 * import { PrismaClient } from '../generated/prisma/client.js';
 * import { createVectorStore } from 'prisma-pgvector';
 *
 * const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }) });
 * const store = createVectorStore<{ type: 'article' | 'note'; lang: string }>(prisma);
 * await store.addText('pgvector keeps vectors next to your rows', { type: 'article', lang: 'en' });
 * const { results } = await store.searchText('vectors in postgres', { k: 3, filter: { type: 'article' } });
 *
 * await prisma.$transaction(async (tx) => {
 *   await createVectorStore(tx).deleteByIds(['a', 'b']); // part of this transaction
 * });
 * ```
 */
export function createVectorStore<
  M extends object = Record<string, unknown>,
  T extends VectorType = 'vector',
>(client: VectorStoreClient, config: VectorStoreConfig<T> = {}): VectorStore<M, T> {
  return VectorStore.create<M, T>(client, config);
}
