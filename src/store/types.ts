/**
 * The store's public types: the client it needs, documents and hits, search and bulk-write options and
 * results. Plain data; the behaviour is in `vector-store.ts` and its job modules.
 */

import type { Sql } from '@prisma/client/runtime/client';
import type { Filter } from '../core/filter.js';
import type { Metric, VectorType } from '../core/metric.js';
import type { IterativeScan } from './config.js';
import type { Embedding, EmbeddingInput } from './input.js';
import type { SearchPlanChoice, StrategyOption } from './search-plan.js';
import type { SearchSettings } from './search-settings.js';
import type { HitField } from './sql.js';

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
  /**
   * How the search reaches its rows: `'auto'` (default) lets the planner choose from the filter's estimated
   * rows — `'index'` (unfiltered vector index scan), `'iterative'` (filtered, iterative scan sized to the
   * selectivity), `'partial'` (iterative scan of a configured partial index the filter implies), `'exact'`
   * (the filter's rows ranked exactly, recall 1). Forcing `'partial'` on a filter that implies no configured
   * partial-index predicate throws `INVALID_ARGUMENT`. The choice is reported in {@link SearchResult.plan}.
   */
  readonly strategy?: StrategyOption;
  /**
   * The recall@k this search should reach, 0 < r ≤ 1: its `hnsw.ef_search` is picked from the index's
   * recall profile for this k and strategy (see the store's `recall`). `efSearch` wins over it.
   */
  readonly recall?: number;
  /**
   * `hnsw.ef_search`, 1–1000 (HNSW): more candidates, better recall, slower. Always applied as at least k
   * (k is never capped); without it, k or the session's / database's value when that is higher.
   */
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
  /** The index settings applied to this query (empty: an exact search, no index settings). */
  readonly settings: SearchSettings;
  /** Fallbacks taken and caveats, e.g. no iterative scans on this pgvector, or a metric no index serves. */
  readonly warnings: readonly string[];
  /** How the search reached its rows, the estimate behind the choice and why (see `SearchOptions.strategy`). */
  readonly plan: SearchPlanChoice;
}

/** The plan of a search, as `explainSearch` returns it. */
export interface SearchPlan {
  /** EXPLAIN's lines, with vectors shortened. */
  readonly plan: string[];
  /** Indexes the plan scans, e.g. `['documents_embedding_article_hnsw_idx']`; empty for a sequential scan. */
  readonly indexes: string[];
  /** The index settings applied, as in {@link SearchResult.settings}. */
  readonly settings: SearchSettings;
  /** The strategy chosen, its estimate and reason, as in {@link SearchResult.plan}. */
  readonly choice: SearchPlanChoice;
  /** The search's warnings, as in {@link SearchResult.warnings}. */
  readonly warnings: readonly string[];
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
