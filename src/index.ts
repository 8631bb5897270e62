// The public API of prisma-pgvector: re-exports only. The embedded database has its own entry point
// (`prisma-pgvector/embedded`).

export * from './doctor.js';
export { type CheckDriftOptions, checkDrift, type DriftCheck, type DriftReport } from './drift.js';
export * from './embedder.js';
export * from './errors.js';
export * from './filter.js';
export * from './index-advisor.js';
export {
  type BuildIndexOptions,
  type BuildIndexResult,
  type BuildProgress,
  buildIndex,
  describeVectorColumn,
  findInvalidIndexes,
  type InvalidIndex,
} from './index-build.js';
export {
  type CreateIndexMigrationOptions,
  createIndexMigration,
  type IndexMigration,
} from './index-migration.js';
export {
  defaultIndexName,
  dropIndexDdl,
  INDEX_DIMENSION_LIMITS,
  INDEX_PARAMETER_LIMITS,
  type IndexExpression,
  type IndexSpec,
  indexDdl,
  prismaIndexLine,
  type ResolvedIndexSpec,
  resolveIndexSpec,
} from './indexes.js';
export * from './maintenance.js';
export * from './metric.js';
export { OpenAIEmbedder, type OpenAIEmbedderOptions } from './openai-embedder.js';
export { type PrismaCliOptions, type PrismaCliResult, runPrismaCli } from './prisma-cli.js';
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
} from './search-tuning.js';
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
} from './store.js';
export {
  type ColumnNames,
  DEFAULT_COLUMNS,
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
} from './store-config.js';
export { COPY_STATEMENT_BYTES } from './store-copy.js';
export { type VectorStoreExtension, vectorStoreExtension } from './store-extension.js';
export type { DocumentInput, Embedding, EmbeddingInput } from './store-input.js';
export type { PoolQuery, StorePool, StorePoolClient } from './store-pool.js';
export { HIT_FIELDS, type HitField } from './store-sql.js';
export {
  type ErrorContext,
  EXTENSION_MISSING_FIX,
  serverErrorFields,
  shortenVectorsIn,
  translateDatabaseError,
} from './translate-error.js';
export {
  DEFAULT_EF_SEARCH_LADDER,
  DEFAULT_PROBES_LADDER,
  formatTuneResult,
  type PersistScope,
  recallAtK,
  recommendValue,
  type TuneOptions,
  type TuneResult,
  type TuneStep,
  tune,
} from './tuning.js';
export * from './vector.js';
