/**
 * A recall profile: what the tuner measured on a vector index — for each k an app uses and each scan
 * strategy, the smallest `hnsw.ef_search` whose recall@k against exact search reached each target, with a
 * confidence bound. `prisma-pgvector tune --persist index` stores it as the vector index's comment; a store
 * created with `recall: 0.95` reads it and picks its settings from it (see `efSearchForRecall`).
 *
 * CONTRACT (shared by the tuner and the store): the types below. Implementation of the functions is owned by
 * the tuner work (parse / serialize / read SQL) and used by the search path.
 */

/** How a search reaches its rows (see the store's search planner). */
export type SearchStrategy = 'index' | 'iterative' | 'partial' | 'exact';

/** One measurement: at `k`, with `strategy`, `efSearch` reached `recall` (mean recall@k over `queries`). */
export interface RecallProfileEntry {
  readonly k: number;
  /** `index`: unfiltered HNSW scan; `iterative`: filtered, iterative scan. */
  readonly strategy: 'index' | 'iterative';
  readonly efSearch: number;
  /** Mean recall@k against exact search. */
  readonly recall: number;
  /** Lower bound of the 95% confidence interval of `recall`. */
  readonly recallLow: number;
  /** Queries measured. */
  readonly queries: number;
}

/** A tuner's measurements on one index. */
export interface RecallProfile {
  readonly version: 1;
  /** The vector index it was measured on (unquoted name). */
  readonly index: string;
  /** Rows in the table when measured (`reltuples`). */
  readonly rows: number;
  /** ISO time of the measurement. */
  readonly measuredAt: string;
  readonly entries: readonly RecallProfileEntry[];
}
