// `prisma-pgvector/admin`: the tooling door — doctor, the drift guard, index specs, DDL, the advisor, builds
// and drift-safe index migrations, maintenance, tuning and the Prisma CLI runner. Re-exports only. For
// scripts, CLIs, CI and migrations rather than request paths; the store itself is `prisma-pgvector`.
// Importing it loads no PGlite: `checkDrift` and `createIndexMigration` load the embedded database (an
// optional peer dependency) when they run, and throw `MISSING_DEPENDENCY` when it is not installed.

export * from './doctor.js';
export { type CheckDriftOptions, checkDrift, type DriftCheck, type DriftReport } from './drift.js';
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
export { installCommand, OPTIONAL_PACKAGES, type OptionalPackage } from './optional-dependency.js';
export { type PrismaCliOptions, type PrismaCliResult, runPrismaCli } from './prisma-cli.js';
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
