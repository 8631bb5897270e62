/**
 * The doctor's data: what a check reports, and the catalogue facts every check reads (loaded once by
 * `catalog.ts`).
 */

import type { Filter } from '../../core/filter.js';
import type { Metric, VectorType } from '../../core/metric.js';
import type { DatabaseClient } from './connection.js';

/** Outcome of a check: `fail` breaks a red line, `warn` needs a look, `pass` is fine. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** The stable ids of the doctor's checks, in the order they run. */
export const DOCTOR_CHECK_IDS = [
  'extension',
  'dimensions',
  'missing-index',
  'operator-mismatch',
  'ivfflat-lists',
  'stale-stats',
  'ef-search',
  'partial-index',
  'filter-index',
  'index-size',
  'invalid-index',
] as const;

/** One of {@link DOCTOR_CHECK_IDS}. */
export type DoctorCheckId = (typeof DOCTOR_CHECK_IDS)[number];

/** One thing a check found about one object (a table, a column, an index, a setting). */
export interface DoctorFinding {
  readonly status: CheckStatus;
  /** What it is about, e.g. `public.documents.embedding` or `public.documents_embedding_hnsw_idx`. */
  readonly object: string;
  readonly message: string;
  /** SQL to run, or instructions. */
  readonly fix?: string | undefined;
}

/** The result of one check: the worst status of its findings, and all of them. */
export interface DoctorCheckResult {
  readonly id: DoctorCheckId;
  readonly title: string;
  readonly status: CheckStatus;
  /** One line per finding (or one line saying what passed). */
  readonly message: string;
  /** The fixes of the findings that are not `pass`, one per line. */
  readonly fix?: string | undefined;
  readonly findings: readonly DoctorFinding[];
}

/** A filter the application runs often, to be served by a partial index. */
export interface CommonFilter {
  /** Table name, optionally `schema.table`. */
  readonly table: string;
  /**
   * RAW SQL boolean expression, e.g. `metadata->>'type' = 'article'`. From configuration only, NEVER from
   * user input: it is executed (in a rolled-back transaction) to be normalised.
   */
  readonly predicate: string;
}

/** Options of `doctor()`. */
export interface DoctorOptions {
  /** Tables to check (`name` or `schema.name`); default: every table in the search_path's schemas. */
  readonly tables?: readonly string[] | undefined;
  /** The metric the store searches with; indexes must use its operator class. Default `cosine`. */
  readonly metric?: Metric | undefined;
  /** Rows a search asks for (LIMIT); `hnsw.ef_search` below it fails. Default 10. */
  readonly k?: number | undefined;
  /** A table with at least this many rows needs a vector index. Default 10 000. */
  readonly largeTableRows?: number | undefined;
  /** Filters the application runs often, each to be served by a partial index. */
  readonly commonFilters?: readonly CommonFilter[] | undefined;
  /** The `hnsw.ef_search` the application sets per query (e.g. the store's `efSearch`), if it sets one. */
  readonly efSearchExpected?: number | undefined;
  /**
   * Sample filters the application runs often, in the store's filter language: the `filter-index` check
   * says which index serves each on every table in scope that has the metadata column.
   */
  readonly filters?: readonly Filter[] | undefined;
  /** The store's metadata and creation-time columns (default `metadata`, `created_at`). */
  readonly metadataColumn?: string | undefined;
  readonly createdAtColumn?: string | undefined;
}

/** {@link DoctorOptions} with the defaults filled in. */
export interface ResolvedDoctorOptions {
  readonly tables: readonly string[] | undefined;
  readonly metric: Metric;
  readonly k: number;
  readonly largeTableRows: number;
  readonly commonFilters: readonly CommonFilter[];
  readonly efSearchExpected: number | undefined;
  readonly filters: readonly Filter[];
  readonly metadataColumn: string;
  readonly createdAtColumn: string;
}

/** A table in the doctor's scope. */
export interface TableInfo {
  readonly oid: string;
  readonly schema: string;
  readonly name: string;
  /** `"schema"."name"`. */
  readonly sql: string;
  /** `schema.name`, for messages. */
  readonly label: string;
  /** `pg_class.reltuples`: -1 (PG 14+) or 0 when never analyzed. */
  readonly reltuples: number;
}

/** A column of a pgvector type (or `bit`) in a table in scope. */
export interface VectorColumn {
  readonly table: TableInfo;
  readonly name: string;
  readonly type: VectorType;
  /** Dimensions from the type modifier; `undefined` for a column declared without (`vector`). */
  readonly dimensions: number | undefined;
  /** As PostgreSQL writes the type, e.g. `vector(1536)`. */
  readonly formatted: string;
  /** `schema.table.column`, for messages. */
  readonly label: string;
}

/** An index on a table in scope (any access method). */
export interface IndexInfo {
  readonly table: TableInfo;
  readonly schema: string;
  readonly name: string;
  /** `"schema"."name"`. */
  readonly sql: string;
  /** `schema.name`, for messages. */
  readonly label: string;
  /** Access method: `hnsw`, `ivfflat`, `btree`, … */
  readonly method: string;
  readonly valid: boolean;
  /** `pg_get_expr(indpred, indrelid)`: the partial index predicate as PostgreSQL renders it. */
  readonly predicate: string | undefined;
  /** Operator class of the first key. */
  readonly opclass: string;
  /** Type of the first key as stored in the index (`vector`, `halfvec`, `bit`, … or any other type name). */
  readonly keyType: string;
  /** Dimensions of the first key (from its type modifier), when it has some. */
  readonly keyDimensions: number | undefined;
  /** Table columns the index depends on (keys, expressions and predicate). */
  readonly columns: readonly string[];
  /** `WITH (…)` options, e.g. `{ lists: '100' }`. */
  readonly options: Readonly<Record<string, string>>;
  /** `pg_relation_size` in bytes. */
  readonly bytes: number;
  /** `pg_get_indexdef`. */
  readonly definition: string;
}

/** The pgvector extension on this server. */
export interface ExtensionInfo {
  /** Listed in `pg_available_extensions` (its files are installed on the server). */
  readonly available: boolean;
  /** The version `CREATE EXTENSION vector` would install. */
  readonly defaultVersion: string | undefined;
  /** `pg_extension.extversion`, when installed in this database. */
  readonly installedVersion: string | undefined;
}

/** What every check reads: the connection, the options and the catalogue facts loaded once. */
export interface DoctorContext {
  readonly client: DatabaseClient;
  readonly options: ResolvedDoctorOptions;
  /** `server_version_num`, e.g. 180006. */
  readonly serverVersionNum: number;
  readonly extension: ExtensionInfo;
  readonly tables: readonly TableInfo[];
  readonly columns: readonly VectorColumn[];
  /** Every index on the tables in scope. */
  readonly indexes: readonly IndexInfo[];
}

/** What a check function returns; the doctor adds id and title and summarises the findings. */
export interface CheckOutcome {
  readonly findings: readonly DoctorFinding[];
  /** The message when there is nothing to report (all findings pass, or none). */
  readonly passMessage: string;
}

/** A check: a stable id, a title, and the function that runs it. */
export interface DoctorCheck {
  readonly id: DoctorCheckId;
  readonly title: string;
  run(context: DoctorContext): Promise<CheckOutcome>;
}

/** True for the index methods pgvector provides. */
export function isVectorIndex(index: IndexInfo): boolean {
  return index.method === 'hnsw' || index.method === 'ivfflat';
}
