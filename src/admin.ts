// `prisma-pgvector/admin`: the tooling door — doctor, the drift guard, index specs, DDL, the advisor, builds
// and drift-safe index migrations, maintenance, tuning and the Prisma CLI runner. Re-exports only. For
// scripts, CLIs, CI and migrations rather than request paths; the store itself is `prisma-pgvector`.
// Importing it loads no PGlite: `checkDrift` and `createIndexMigration` load the embedded database (an
// optional peer dependency) when they run, and throw `MISSING_DEPENDENCY` when it is not installed.

export { installCommand, OPTIONAL_PACKAGES, type OptionalPackage } from './core/optional-dependency.js';
export * from './indexes/advisor.js';
export {
  type BuildIndexOptions,
  type BuildIndexResult,
  type BuildProgress,
  buildIndex,
  describeVectorColumn,
  findInvalidIndexes,
  type InvalidIndex,
} from './indexes/build.js';
export {
  type AdviseFilterIndexesInput,
  adviseFilterIndexes,
  type FilterAdvice,
  type FilterIndexAdviceItem,
  type FilterIndexesAdvice,
  PARTIAL_INDEX_MIN_SHARE,
  type PartialIndexAdvice,
} from './indexes/filter-advice.js';
export {
  defaultFilterIndexName,
  FILTER_INDEX_KINDS,
  type FilterIndexAnalysis,
  type FilterIndexKind,
  type FilterIndexNeed,
  type FilterIndexSpec,
  filterIndexDdl,
  filterIndexNeeds,
  filterIndexPrismaLine,
  type PartialIndexCandidate,
  type ResolvedFilterIndexSpec,
  resolveFilterIndexSpec,
} from './indexes/filter-index.js';
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
} from './indexes/index-spec.js';
export {
  type CreateFilterIndexMigrationOptions,
  type CreateIndexMigrationOptions,
  createFilterIndexMigration,
  createIndexMigration,
  type FilterIndexMigration,
  type IndexMigration,
} from './indexes/migration.js';
export * from './ops/doctor.js';
export * from './ops/maintenance.js';
export {
  adviseBuildParameters,
  type BuildAdvice,
  DEFAULT_EF_SEARCH_LADDER,
  DEFAULT_PROBES_LADDER,
  DEFAULT_TUNE_SAMPLE,
  formatTuneResult,
  type PersistScope,
  persistedEfSearch,
  recallAtK,
  recallInterval,
  recommendValue,
  type TuneForK,
  type TuneOptions,
  type TuneResult,
  type TuneStep,
  tune,
} from './ops/tuning.js';
export { type CheckDriftOptions, checkDrift, type DriftCheck, type DriftReport } from './schema/drift.js';
export { type PrismaCliOptions, type PrismaCliResult, runPrismaCli } from './schema/prisma-cli.js';
