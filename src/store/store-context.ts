/**
 * The shared context of a vector store: its client and configuration, the state shared across `withClient`,
 * and the helpers that run statements (bind-parameter limit checked, errors translated) and transactions.
 */

import type { Sql } from '@prisma/client/runtime/client';
import { PgVectorError } from '../core/errors.js';
import { type AnalyzedFilter, analyzeFilter, type Filter } from '../core/filter.js';
import type { FilterIndexKeys } from '../core/filter-expressions.js';
import type { Metric } from '../core/metric.js';
import { EXTENSION_MISSING_FIX, translateDatabaseError } from '../core/translate-error.js';
import type { VectorEncoding } from '../core/vector.js';
import { MAX_BIND_PARAMETERS, type ResolvedStoreConfig } from './config.js';
import { prepareRow } from './input.js';
import { argumentError } from './options.js';
import type { PoolQuery } from './pool.js';
import type { RecallProfile } from './recall-profile.js';
import type { RowEstimate, TtlCache } from './search-plan.js';
import { buildVacuumSql, PGVECTOR_VERSION_SQL, type RowValues } from './sql.js';
import type { TableStatistics } from './statistics.js';
import type { MaintenanceResult, VectorStoreClient } from './types.js';

/** Driver adapters known to send `Uint8Array` parameters in binary format (so `$1::vector` runs `vector_recv`). */
const BINARY_ADAPTERS = ['@prisma/adapter-pg'];
/**
 * What the planner knows of a filter form: its last count was at most `exactRows` (`'small'`: guarded exact
 * plans), above it (`'large'`), or its guarded exact run found more rows than its guard (`'overflowed'`: not
 * guarded again, whatever later counts say, until the entry expires).
 */
export type ShapeSize = 'small' | 'large' | 'overflowed';

/** The recall profiles a store searches with: its vector index's, and its partial indexes' by predicate. */
export interface StoreRecallProfiles {
  readonly main: RecallProfile | undefined;
  /** The profiles of the configured partial indexes (`partialIndexPredicates`), keyed `key\u0000value`. */
  readonly partials: ReadonlyMap<string, RecallProfile>;
}

/** What a store and the stores derived from it with `withClient` share. */
export interface SharedState {
  readonly config: ResolvedStoreConfig;
  version: Promise<string> | undefined;
  /** Set once the first COPY load found that the server (or a proxy) refuses COPY: why. */
  copyRefused: string | undefined;
  /** Whether a COPY load has succeeded (no more probing). */
  copyWorks: boolean;
  poolTypes?: PoolQuery['types'];
  /** The search planner's row estimates (per filter) and the table's rows, with their time to live. */
  estimates?: TtlCache<RowEstimate>;
  /** Per filter form (SQL text without values): how its last count compared with `exactRows`. */
  shapes?: TtlCache<ShapeSize>;
  /** Per search statement (SQL and values, without the vector's) and k: planned on the vector index unpinned. */
  unpinned?: TtlCache<boolean>;
  /**
   * The recall profiles of the store's vector index and of its partial vector indexes, read once (see
   * `VectorStore.refreshRecallProfile`).
   */
  recallProfiles?: Promise<StoreRecallProfiles> | undefined;
  /**
   * Metadata key paths with a text or string B-tree, read once (see `filterIndexKeysOf` in search.ts): the
   * reading while it runs, then the sets.
   */
  filterIndexKeys?: Promise<FilterIndexKeys> | FilterIndexKeys | undefined;
  /**
   * The table's statistics for row estimates in the store (see statistics.ts), read at most once per
   * `planner.estimateCacheMs`: the last ones read (`undefined` when unreadable), until when they are fresh,
   * and the reading in flight.
   */
  statistics?: {
    value: TableStatistics | undefined;
    until: number;
    reading: Promise<TableStatistics | undefined> | undefined;
  };
}

/** A row as the store's SELECTs and RETURNING clauses name its columns. */
export interface RawRow {
  readonly id: unknown;
  readonly content?: unknown;
  readonly metadata?: unknown;
  readonly createdAt?: unknown;
  readonly embedding?: unknown;
  readonly distance?: unknown;
  readonly inserted?: unknown;
  /** A guarded exact search's count of the rows it ranked (see `SearchPlanChoice.guard`). */
  readonly _n?: unknown;
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
 * Refuses a statement with more bind parameters than PostgreSQL's protocol can carry (its count is an
 * int16: {@link MAX_BIND_PARAMETERS}), before it is sent: the server would answer with a protocol error
 * (08P01) that can end the connection.
 */
export function checkParameterCount(statement: Sql, operation: string): void {
  if (statement.values.length > MAX_BIND_PARAMETERS) {
    throw argumentError(
      `${operation}: the statement would bind ${statement.values.length} parameters; PostgreSQL takes at most ${MAX_BIND_PARAMETERS}`,
      'use a smaller filter (in: [...] lists bind one parameter each) or smaller batches',
    );
  }
}

/**
 * What the store's job modules (`bulk-writes.ts`, `search.ts`) work with: one store's client, the state it
 * shares with the stores derived from it, its configuration, and the statement, transaction and error
 * helpers every job uses. Internal: not exported from the package.
 */
export class StoreContext {
  readonly config: ResolvedStoreConfig;
  /** How vectors are sent through this client (`'auto'` resolved). */
  readonly vectorEncoding: VectorEncoding;
  /** True for a transaction client: the store then never opens a transaction itself. */
  readonly inTransaction: boolean;

  constructor(
    readonly client: VectorStoreClient,
    readonly shared: SharedState,
  ) {
    this.config = shared.config;
    this.inTransaction = isTransactionClient(client);
    const configured = this.config.vectorEncoding;
    this.vectorEncoding =
      configured === 'auto'
        ? BINARY_ADAPTERS.includes(adapterNameOf(client) ?? '')
          ? 'binary'
          : 'text'
        : configured;
  }

  /** The installed pgvector version, read once per shared state (see `VectorStore.pgvectorVersion`). */
  pgvectorVersion(): Promise<string> {
    this.shared.version ??= this.detectVersion().catch((error: unknown) => {
      this.shared.version = undefined;
      throw error;
    });
    return this.shared.version;
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

  errorContext(operation: string, metric: Metric = this.config.metric) {
    const c = this.config;
    return { operation, tableName: c.tableName, vectorType: c.vectorType, dimensions: c.dimensions, metric };
  }

  async query<R>(statement: Sql, operation: string, client = this.client, metric?: Metric): Promise<R[]> {
    checkParameterCount(statement, operation);
    try {
      return await client.$queryRaw<R[]>(statement);
    } catch (error) {
      throw translateDatabaseError(error, this.errorContext(operation, metric));
    }
  }

  async execute(statement: Sql, operation: string, client = this.client): Promise<number> {
    checkParameterCount(statement, operation);
    try {
      return await client.$executeRaw(statement);
    } catch (error) {
      throw translateDatabaseError(error, this.errorContext(operation));
    }
  }

  /** Runs `fn` in the store's own transaction, or directly in the caller's. */
  async transaction<R>(operation: string, fn: (client: VectorStoreClient) => Promise<R>): Promise<R> {
    const root = this.client;
    if (this.inTransaction || root.$transaction === undefined) return fn(root);
    try {
      return await root.$transaction(fn, this.config.transactionOptions);
    } catch (error) {
      throw translateDatabaseError(error, this.errorContext(operation));
    }
  }

  prepare(doc: unknown, path: string, requireId: boolean): RowValues {
    return prepareRow(this.config, doc, path, this.vectorEncoding, requireId);
  }

  /**
   * `keys`: the keys with a text or string B-tree (`CompileFilterOptions.textIndexKeys` / `stringIndexKeys`;
   * searches pass the table's, see search.ts).
   */
  compile<M extends object>(filter: Filter<M> | undefined, keys?: FilterIndexKeys): AnalyzedFilter {
    const c = this.config;
    return analyzeFilter<M>(filter, {
      metadataColumn: c.columns.metadata,
      createdAtColumn: c.columns.createdAt,
      partialIndexPredicates: c.partialIndexPredicates,
      ...(keys === undefined ? {} : { textIndexKeys: keys.text, stringIndexKeys: keys.string }),
    });
  }

  /** `VACUUM (ANALYZE)` of the table (see `VectorStore.maintain`). */
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
}
