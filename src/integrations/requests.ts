/**
 * The two HTTP requests every app with a vector store serves — add documents, search — as plain functions
 * over a parsed JSON body: the body is checked here (shape, sizes, unknown keys), the values by the store
 * (dimensions, vectors, filters). Every refusal is a {@link PgVectorError} with an input code (→ 400).
 * Used by `prisma-pgvector/next`'s route handlers and by NestJS controllers (`prisma-pgvector/nest`).
 */

import { PgVectorError, type VectorStore } from '../index.js';

// The store's types, spelled through the door the helpers take (one door, whatever the layout behind it).
type AnyStore<M extends object> = VectorStore<M, 'vector' | 'halfvec' | 'sparsevec' | 'bit'>;
type SearchOptionsOf<M extends object> = NonNullable<Parameters<AnyStore<M>['search']>[1]>;
type FilterOf<M extends object> = SearchOptionsOf<M>['filter'];
type DocumentInputOf<M extends object> = Parameters<AnyStore<M>['add']>[0];

/** Limits of {@link handleSearch}. */
export interface SearchRequestOptions {
  /** `k` when the body has none. Default 10. */
  readonly defaultK?: number;
  /** Largest `k` a request may ask for. Default 100. */
  readonly maxK?: number;
  /** Whether a request may send a metadata `filter`. Default true. */
  readonly allowFilter?: boolean;
  /** Longest text `query`, in characters. Default 10 000. */
  readonly maxQueryLength?: number;
}

/** Limits of {@link handleAddDocuments}. */
export interface AddDocumentsRequestOptions {
  /** Most documents in one request. Default 1000. */
  readonly maxDocuments?: number;
}

/**
 * The body of a search request: a text `query` (embedded with the store's embedder) or an `embedding`, and
 * optionally `k`, a metadata `filter` (the store's filter language) and `minSimilarity`.
 *
 * ```json
 * { "query": "vectors in postgres", "k": 5, "filter": { "type": "article" } }
 * ```
 */
export interface SearchRequestBody {
  readonly query?: string;
  readonly embedding?: readonly number[];
  readonly k?: number;
  readonly filter?: Record<string, unknown>;
  readonly minSimilarity?: number;
}

/** One hit of a search answer (`createdAt` as an ISO string once serialised). */
export interface SearchResponseHit<M> {
  readonly id: string;
  readonly content: string;
  readonly metadata: M | null;
  readonly similarity: number;
  readonly distance: number;
  readonly createdAt: Date;
}

/** The answer to a search request. */
export interface SearchResponseBody<M> {
  readonly results: SearchResponseHit<M>[];
  /** Present when fewer than `k` rows came back (see the store's `SearchResult.underfilled`). */
  readonly underfilled?: { readonly found: number; readonly requested: number };
  readonly warnings: readonly string[];
}

/**
 * The body of an add-documents request: documents with a `content`, optional `metadata` and `id`, and either
 * all an `embedding` or none (then the store's embedder embeds `content`).
 *
 * ```json
 * { "documents": [{ "content": "HNSW is a graph index", "metadata": { "type": "article" } }] }
 * ```
 */
export interface AddDocumentsRequestBody<M = Record<string, unknown>> {
  readonly documents: readonly {
    readonly id?: string;
    readonly content: string;
    readonly metadata?: M | null;
    readonly embedding?: readonly number[];
  }[];
}

/** The answer to an add-documents request. */
export interface AddDocumentsResponseBody {
  /** Ids of the new rows, in request order. */
  readonly ids: string[];
  readonly inserted: number;
  /** How the rows went in: `'copy'` (the store's pool) or `'insert'`. */
  readonly method: 'copy' | 'insert';
}

const SEARCH_KEYS = new Set(['query', 'embedding', 'k', 'filter', 'minSimilarity']);
const DOCUMENT_KEYS = new Set(['id', 'content', 'metadata', 'embedding']);

function refuse(message: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw refuse(`${where}: unknown field "${key.slice(0, 64)}" (allowed: ${[...allowed].join(', ')})`);
    }
  }
}

function numberArray(value: unknown, where: string): number[] {
  if (!Array.isArray(value)) throw refuse(`${where} must be an array of numbers`);
  return value as number[]; // each number is checked by the store (INVALID_VECTOR, DIMENSION_MISMATCH)
}

/**
 * Runs the search a request body asks for and returns the answer's body. Throws {@link PgVectorError}s with
 * input codes for a bad body (the store's own checks included); other errors are the store's.
 *
 * ### Examples
 * ```ts
 * // NestJS
 * @Post('search') search(@Body() body: unknown) { return handleSearch(this.store, body); }
 * ```
 *
 * The SQL is the store's `search` (see `createVectorStore`).
 */
export async function handleSearch<M extends object>(
  store: AnyStore<M>,
  body: unknown,
  options: SearchRequestOptions = {},
): Promise<SearchResponseBody<M>> {
  const { defaultK = 10, maxK = 100, allowFilter = true, maxQueryLength = 10_000 } = options;
  if (!isPlainObject(body)) throw refuse('the body must be a JSON object: { "query": "…", "k": 5 }');
  checkKeys(body, SEARCH_KEYS, 'body');
  const { query, embedding, k = defaultK, filter, minSimilarity } = body;
  if ((query === undefined) === (embedding === undefined)) {
    throw refuse('send either "query" (a text) or "embedding" (an array of numbers), not both, not neither');
  }
  if (query !== undefined && (typeof query !== 'string' || query.trim() === '')) {
    throw refuse('"query" must be a non-empty string');
  }
  if (typeof query === 'string' && query.length > maxQueryLength) {
    throw refuse(`"query" is longer than ${maxQueryLength} characters`);
  }
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > maxK) {
    throw refuse(`"k" must be an integer from 1 to ${maxK}`);
  }
  if (filter !== undefined && !allowFilter) throw refuse('"filter" is not accepted here');
  if (filter !== undefined && !isPlainObject(filter)) throw refuse('"filter" must be an object');
  if (minSimilarity !== undefined && typeof minSimilarity !== 'number') {
    throw refuse('"minSimilarity" must be a number');
  }
  const searchOptions = {
    k,
    select: ['content', 'metadata', 'createdAt'],
    ...(filter === undefined ? {} : { filter: filter as FilterOf<M> }),
    ...(minSimilarity === undefined ? {} : { minSimilarity }),
  } as const;
  const result =
    typeof query === 'string'
      ? await store.searchText(query, searchOptions)
      : await store.search(numberArray(embedding, '"embedding"'), searchOptions);
  return {
    results: result.results.map((hit) => ({
      id: hit.id,
      content: hit.content,
      metadata: hit.metadata,
      similarity: hit.similarity,
      distance: hit.distance,
      createdAt: hit.createdAt,
    })),
    ...(result.underfilled ? { underfilled: result.underfilled } : {}),
    warnings: result.warnings,
  };
}

/**
 * Adds the documents of a request body in one transaction (all or none) and returns the answer's body:
 * with embeddings through `addMany`, without through `addTexts` (the store's embedder). Throws
 * {@link PgVectorError}s with input codes for a bad body; a bad document is named (`documents[3].content`).
 *
 * ### Examples
 * ```ts
 * // NestJS
 * @Post('documents') add(@Body() body: unknown) { return handleAddDocuments(this.store, body); }
 * ```
 *
 * The SQL is the store's `addMany` (binary `COPY` with a pool, INSERTs without).
 */
export async function handleAddDocuments<M extends object>(
  store: AnyStore<M>,
  body: unknown,
  options: AddDocumentsRequestOptions = {},
): Promise<AddDocumentsResponseBody> {
  const { maxDocuments = 1000 } = options;
  if (!isPlainObject(body)) throw refuse('the body must be a JSON object: { "documents": [ … ] }');
  checkKeys(body, new Set(['documents']), 'body');
  const { documents } = body;
  if (!Array.isArray(documents) || documents.length === 0) {
    throw refuse('"documents" must be a non-empty array');
  }
  if (documents.length > maxDocuments) throw refuse(`at most ${maxDocuments} documents per request`);
  let withEmbedding = 0;
  documents.forEach((doc: unknown, i) => {
    const where = `documents[${i}]`;
    if (!isPlainObject(doc)) throw refuse(`${where} must be an object with a "content"`);
    checkKeys(doc, DOCUMENT_KEYS, where);
    if (typeof doc.content !== 'string') throw refuse(`${where}.content must be a string`);
    if (doc.id !== undefined && typeof doc.id !== 'string') throw refuse(`${where}.id must be a string`);
    if (doc.metadata !== undefined && doc.metadata !== null && !isPlainObject(doc.metadata)) {
      throw refuse(`${where}.metadata must be an object or null`);
    }
    if (doc.embedding !== undefined) {
      numberArray(doc.embedding, `${where}.embedding`);
      withEmbedding++;
    }
  });
  if (withEmbedding !== 0 && withEmbedding !== documents.length) {
    throw refuse('either every document has an "embedding" or none has (the store embeds "content")');
  }
  const docs = documents as AddDocumentsRequestBody<M>['documents'];
  const result =
    withEmbedding === 0
      ? await store.addTexts(docs.map((d) => ({ ...d, metadata: d.metadata ?? null })))
      : await store.addMany(docs.map((d) => ({ ...d, metadata: d.metadata ?? null }) as DocumentInputOf<M>));
  return { ids: result.ids, inserted: result.inserted, method: result.method };
}
