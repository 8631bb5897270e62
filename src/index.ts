// The main entry of prisma-pgvector, the store's door: the store and its values (vector codec, metrics,
// filters, errors and their translation, embedders, search tuning). Re-exports only. Nothing imported from
// here loads PGlite, the WASM schema engine, the Prisma CLI or pg-copy-streams (tests/package/import-graph).
// The other doors: `prisma-pgvector/admin` (doctor, drift, index tooling, maintenance, tuning, the Prisma CLI
// runner), `prisma-pgvector/embedded` (the embedded database), `prisma-pgvector/schema-engine`.

export * from './core/embedder.js';
export * from './core/errors.js';
export * from './core/filter.js';
export * from './core/metric.js';
export { OpenAIEmbedder, type OpenAIEmbedderOptions } from './core/openai-embedder.js';
export {
  type ErrorContext,
  EXTENSION_MISSING_FIX,
  serverErrorFields,
  shortenVectorsIn,
  translateDatabaseError,
} from './core/translate-error.js';
export * from './core/vector.js';
export {
  type ColumnNames,
  DEFAULT_COLUMNS,
  ID_TYPES,
  type IdType,
  ITERATIVE_SCANS,
  type IterativeScan,
  MAX_BIND_PARAMETERS,
  quoteIdentifier,
  type ResolvedStoreConfig,
  resolveStoreConfig,
  type SearchVia,
  STORE_DEFAULTS,
  type StoreTransactionOptions,
  type VectorEncodingOption,
  type VectorStoreConfig,
} from './store/config.js';
export { COPY_STATEMENT_BYTES } from './store/copy.js';
export type { DocumentInput, Embedding, EmbeddingInput } from './store/input.js';
export type { PoolQuery, StorePool, StorePoolClient } from './store/pool.js';
export { type VectorStoreExtension, vectorStoreExtension } from './store/prisma-extension.js';
export * from './store/recall-profile.js';
export {
  assertMetricSupported,
  DEFAULT_EF_SEARCH,
  ITERATIVE_SCAN_SINCE,
  MAX_EF_SEARCH,
  MAX_PROBES,
  parsePgvectorVersion,
  pgvectorAtLeast,
  planSearchTuning,
  type SearchSettings,
  type SearchTuning,
  type SearchTuningContext,
  type SearchTuningRequest,
} from './store/search-settings.js';
export { HIT_FIELDS, type HitField } from './store/sql.js';
export {
  batchRows,
  createVectorStore,
  type DocumentPatch,
  type DocumentSource,
  type HitFields,
  type InsertBatch,
  type MaintenanceResult,
  type SearchHit,
  type SearchOptions,
  type SearchPlan,
  type SearchResult,
  type StoredDocument,
  type TextInput,
  VectorStore,
  type VectorStoreClient,
  type WriteManyOptions,
  type WriteManyResult,
  type WriteMethod,
} from './store/vector-store.js';
