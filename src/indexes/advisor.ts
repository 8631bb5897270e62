/**
 * Which vector index to build, with which parameters, and why: {@link adviseIndex}. Also the IVFFlat
 * training guard ({@link checkIvfflatTraining}) and the memory estimates the build uses
 * ({@link estimateHnswBuildBytes}, {@link estimateIvfflatBuildBytes}). Pure functions: no database.
 *
 * The reasoning is written out in docs/INDEXES.md; the numbers come from pgvector's README (lists ≈ rows/1000
 * up to 1M rows, √rows above; probes ≈ √lists; HNSW defaults m = 16, ef_construction = 64) and from
 * pgvector's sources (IVFFlat samples max(50·lists, 10,000) rows for k-means, `src/ivfbuild.c`).
 */

import { PgVectorError } from '../core/errors.js';
import type { VectorType } from '../core/metric.js';
import { INDEX_DIMENSION_LIMITS, INDEX_PARAMETER_LIMITS } from './index-spec.js';

/**
 * IVFFlat training guard: the fewest non-NULL rows per list we build IVFFlat on. pgvector trains k-means on
 * a sample of max(50 · lists, 10,000) rows ("target 50 samples per list", `ComputeCenters` in
 * `src/ivfbuild.c`) and only raises a NOTICE ("ivfflat index created with little data") when the sample has
 * fewer rows than lists. Below 50 rows per list the centroids are fitted to too few points: lists end up
 * nearly empty or lopsided and recall stays low at any `probes`, and the index does not improve as rows
 * arrive (centroids are never retrained). So we require the full sample pgvector aims for.
 */
export const IVFFLAT_MIN_ROWS_PER_LIST = 50;

/** Below this many rows an exact scan is fast enough that an index is optional (and IVFFlat pointless). */
export const SMALL_TABLE_ROWS = 10_000;

/** Bytes one value of `type` takes in memory (pgvector's `VECTOR_SIZE`, `HALFVEC_SIZE`, varbit). */
export function vectorValueBytes(type: VectorType, dimensions: number): number {
  switch (type) {
    case 'vector':
      return 8 + 4 * dimensions;
    case 'halfvec':
      return 8 + 2 * dimensions;
    case 'bit':
      return 8 + Math.ceil(dimensions / 8);
    case 'sparsevec':
      // dimensions here = non-zero elements: int32 index + float4 value each, 16-byte header
      return 16 + 8 * dimensions;
  }
}

/**
 * Per-row bytes of pgvector's in-memory HNSW graph besides the value and the layer-0 neighbour array: the
 * element (10 heap TIDs, level, lock, pointers), the upper layers' neighbours and allocator overhead.
 */
export const HNSW_ELEMENT_OVERHEAD_BYTES = 256;

/** Bytes of one neighbour candidate on a 64-bit server: an element pointer (8), a float4 distance, a flag. */
const HNSW_CANDIDATE_BYTES = 16;

/**
 * Estimated memory of pgvector's in-memory HNSW graph while building (what `maintenance_work_mem` should
 * hold; when it does not, pgvector prints "hnsw graph no longer fits into maintenance_work_mem after N
 * tuples" and the rest of the build is much slower). Per row, on a 64-bit server:
 *
 *   value (8 + 4·d for vector, 8 + 2·d for halfvec) + 16 · 2·m + 256
 *
 * Layer 0 keeps 2·m neighbour candidates per row; a row reaches layer l ≥ 1 with probability m^−l, so the
 * upper layers add about one more candidate on average (in the 256). Measured on pgvector 0.8.7 (PGlite,
 * a 32-bit WASM build: 12-byte candidates) with the "no longer fits" notice at maintenance_work_mem = 1MB:
 * 632, 821, 1205 bytes/row for d = 64 and m = 8, 16, 32; 2416 and 2608 for d = 512, m = 8, 16 — i.e.
 * value + 24·m + ~176 there, which the 64-bit formula above bounds. 1M rows of vector(1536), m = 16: ≈ 6.9 GB.
 *
 * ### Examples
 * ```ts
 * estimateHnswBuildBytes({ rows: 1_000_000, dimensions: 1536, m: 16 }); // ≈ 6.92e9
 * ```
 */
export function estimateHnswBuildBytes(input: {
  rows: number;
  dimensions: number;
  m?: number;
  type?: VectorType;
}): number {
  const m = input.m ?? INDEX_PARAMETER_LIMITS.m.default;
  const perRow =
    vectorValueBytes(input.type ?? 'vector', input.dimensions) +
    HNSW_CANDIDATE_BYTES * 2 * m +
    HNSW_ELEMENT_OVERHEAD_BYTES;
  return Math.ceil(Math.max(0, input.rows) * perRow);
}

/**
 * Estimated memory of an IVFFlat build: the k-means sample (max(50·lists, 10,000) rows, fewer when the
 * table is smaller) plus the centers twice (current and new). The sort of all rows into lists spills to
 * disk when `maintenance_work_mem` is short, which slows but does not break the build.
 *
 * ### Examples
 * ```ts
 * estimateIvfflatBuildBytes({ rows: 1_000_000, dimensions: 1536, lists: 1000 }); // ≈ 3.1e8
 * ```
 */
export function estimateIvfflatBuildBytes(input: {
  rows: number;
  dimensions: number;
  lists: number;
  type?: VectorType;
}): number {
  const value = vectorValueBytes(input.type ?? 'vector', input.dimensions);
  const samples = Math.min(Math.max(0, input.rows), Math.max(50 * input.lists, 10_000));
  return Math.ceil((samples + 2 * input.lists) * value);
}

/**
 * Rough single-worker build times, in seconds, for comparing the two methods (order of magnitude only;
 * calibrated so that 1M × vector(1536), m = 16, ef_construction = 64 takes about an hour on one core).
 * HNSW: rows · ef_construction · log2(rows) · d · 1.8e-9. IVFFlat: assigning every row to the nearest of
 * `lists` centers plus ~10 k-means passes over the sample: (rows + 10 · sample) · lists · d · 1e-9.
 */
export function estimateBuildSeconds(input: {
  rows: number;
  dimensions: number;
  efConstruction?: number;
  lists?: number;
  workers?: number;
}): { hnsw: number; ivfflat: number } {
  const rows = Math.max(1, input.rows);
  const d = input.dimensions;
  const ef = input.efConstruction ?? INDEX_PARAMETER_LIMITS.efConstruction.default;
  const lists = input.lists ?? suggestLists(rows);
  // Parallel maintenance workers scale sub-linearly: count each extra worker as 0.8 of one.
  const speedup = 1 + 0.8 * Math.max(0, (input.workers ?? 1) - 1);
  const sample = Math.min(rows, Math.max(50 * lists, 10_000));
  return {
    hnsw: (rows * ef * Math.log2(rows + 1) * d * 1.8e-9) / speedup,
    ivfflat: ((rows + 10 * sample) * lists * d * 1e-9) / speedup,
  };
}

/**
 * pgvector's rule for IVFFlat lists: rows / 1000 up to 1M rows, √rows above; clamped to 1..32768.
 *
 * ### Examples
 * ```ts
 * suggestLists(50_000);     // 50
 * suggestLists(4_000_000);  // 2000
 * ```
 */
export function suggestLists(rows: number): number {
  const raw = rows <= 1_000_000 ? rows / 1000 : Math.sqrt(rows);
  const { min, max } = INDEX_PARAMETER_LIMITS.lists;
  return Math.min(max, Math.max(min, Math.round(raw)));
}

/** pgvector's starting point for `ivfflat.probes`: √lists (at least 1). */
export function suggestProbes(lists: number): number {
  return Math.max(1, Math.round(Math.sqrt(lists)));
}

export interface AdviseIndexInput {
  /** Rows with an embedding in the table now (what an IVFFlat build would train on). */
  readonly rows: number;
  readonly dimensions: number;
  /** Rows expected in the table's lifetime (default `rows`). */
  readonly expectedRows?: number | undefined;
  /** Memory the build may use (bytes): what you can give `maintenance_work_mem`. */
  readonly memoryBytes?: number | undefined;
  /** Recall wanted at k = 10, 0..1 (default 0.95). */
  readonly recallTarget?: number | undefined;
  /** Longest acceptable build, in seconds. */
  readonly buildTimeBudget?: number | undefined;
  /** Many inserts/updates/deletes after the build (the data keeps changing). */
  readonly writeHeavy?: boolean | undefined;
  /** Parallel maintenance workers the build may use (default 1: none). */
  readonly workers?: number | undefined;
}

/** What {@link adviseIndex} recommends. */
export type IndexAdvice = (
  | { readonly method: 'hnsw'; readonly params: { readonly m: number; readonly efConstruction: number } }
  | { readonly method: 'ivfflat'; readonly params: { readonly lists: number; readonly probes: number } }
) & {
  /** Why this method and these parameters, one sentence each. */
  readonly reasons: readonly string[];
  /** What to watch out for. */
  readonly warnings: readonly string[];
  /** The numbers the advice is based on (order-of-magnitude estimates). */
  readonly estimates: {
    readonly hnswBuildBytes: number;
    readonly ivfflatBuildBytes: number;
    readonly hnswBuildSeconds: number;
    readonly ivfflatBuildSeconds: number;
    readonly lists: number;
  };
};

function hnswParamsFor(recall: number): { m: number; efConstruction: number } {
  if (recall <= 0.95) return { m: 16, efConstruction: 64 };
  if (recall <= 0.98) return { m: 24, efConstruction: 128 };
  return { m: 32, efConstruction: 256 };
}

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.max(1, Math.round(bytes / 1e6))} MB`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function checkNonNegative(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      `${name} must be a non-negative number, got ${String(value)}`,
    );
  }
}

/**
 * Chooses HNSW or IVFFlat for a table and suggests parameters, with the reasons spelled out.
 *
 * HNSW is the default: no training step (it can be built on an empty table), the better speed/recall
 * trade-off, and it stays good as rows change. IVFFlat is recommended only when ALL of these hold: the
 * data is already there (≥ 10,000 rows and ≥ 50 rows per list), it will not change much (not write-heavy,
 * at most 2× growth: the centroids are trained once), and the HNSW build does not fit the memory or time
 * budget that was given while IVFFlat does.
 *
 * ### Examples
 * ```ts
 * adviseIndex({ rows: 2_000_000, dimensions: 1536, memoryBytes: 4e9 });
 * // { method: 'ivfflat', params: { lists: 1414, probes: 38 }, reasons: [...], warnings: [...] }
 * adviseIndex({ rows: 0, dimensions: 1536, expectedRows: 500_000 });
 * // { method: 'hnsw', params: { m: 16, efConstruction: 64 }, ... }
 * ```
 */
export function adviseIndex(input: AdviseIndexInput): IndexAdvice {
  checkNonNegative('rows', input.rows);
  checkNonNegative('expectedRows', input.expectedRows);
  checkNonNegative('memoryBytes', input.memoryBytes);
  checkNonNegative('buildTimeBudget', input.buildTimeBudget);
  if (!Number.isInteger(input.dimensions) || input.dimensions < 1) {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      `dimensions must be a positive integer, got ${input.dimensions}`,
    );
  }
  const recall = input.recallTarget ?? 0.95;
  if (!(recall > 0 && recall <= 1)) {
    throw new PgVectorError('INVALID_ARGUMENT', `recallTarget must be in (0, 1], got ${String(recall)}`);
  }
  const rows = Math.round(input.rows);
  const expected = Math.max(rows, Math.round(input.expectedRows ?? rows));
  const d = input.dimensions;
  const hnsw = hnswParamsFor(recall);
  const lists = suggestLists(rows);
  // Memory and time are judged at the size the index will have to be built (or rebuilt) at.
  const hnswBytes = estimateHnswBuildBytes({ rows: expected, dimensions: d, m: hnsw.m });
  const ivfBytes = estimateIvfflatBuildBytes({
    rows: expected,
    dimensions: d,
    lists: suggestLists(expected),
  });
  const times = estimateBuildSeconds({
    rows: expected,
    dimensions: d,
    efConstruction: hnsw.efConstruction,
    lists: suggestLists(expected),
    workers: input.workers,
  });
  const estimates = {
    hnswBuildBytes: hnswBytes,
    ivfflatBuildBytes: ivfBytes,
    hnswBuildSeconds: Math.round(times.hnsw),
    ivfflatBuildSeconds: Math.round(times.ivfflat),
    lists,
  };

  const warnings: string[] = [];
  if (d > INDEX_DIMENSION_LIMITS.vector) {
    warnings.push(
      `${d} dimensions exceed the ${INDEX_DIMENSION_LIMITS.vector}-dimension limit of an index on vector: index \`embedding::halfvec(${d})\` (up to ${INDEX_DIMENSION_LIMITS.halfvec}) or binary_quantize(embedding) (up to ${INDEX_DIMENSION_LIMITS.bit}) instead`,
    );
  }
  if (expected < SMALL_TABLE_ROWS) {
    warnings.push(
      `${expected} rows: an exact scan is fast at this size; an index is optional (HNSW needs no training, so building it now does no harm)`,
    );
  }

  const memoryTight = input.memoryBytes !== undefined && hnswBytes > input.memoryBytes;
  const timeTight = input.buildTimeBudget !== undefined && times.hnsw > input.buildTimeBudget;
  const growth = rows === 0 ? Number.POSITIVE_INFINITY : expected / rows;
  const ivfEligible =
    rows >= SMALL_TABLE_ROWS && rows >= IVFFLAT_MIN_ROWS_PER_LIST * lists && !input.writeHeavy && growth <= 2;
  const ivfFits =
    (input.memoryBytes === undefined || ivfBytes <= input.memoryBytes) &&
    (input.buildTimeBudget === undefined || times.ivfflat <= input.buildTimeBudget);

  if ((memoryTight || timeTight) && ivfEligible && ivfFits) {
    let probes = suggestProbes(lists);
    const reasons: string[] = [];
    if (memoryTight)
      reasons.push(
        `the HNSW graph needs about ${gb(hnswBytes)} to build in memory, more than the ${gb(input.memoryBytes ?? 0)} available; IVFFlat needs about ${gb(ivfBytes)}`,
      );
    if (timeTight)
      reasons.push(
        `an HNSW build would take about ${duration(times.hnsw)}, over the ${duration(input.buildTimeBudget ?? 0)} budget; IVFFlat about ${duration(times.ivfflat)}`,
      );
    reasons.push(
      `the data is already loaded (${rows} rows ≥ ${IVFFLAT_MIN_ROWS_PER_LIST} × ${lists} lists) and will not change much, so IVFFlat's one-time k-means training stays representative`,
      `lists = ${lists}: ${rows <= 1_000_000 ? 'rows / 1000 (up to 1M rows)' : '√rows (above 1M rows)'}, pgvector's rule`,
      `probes = ${probes}: √lists, pgvector's starting point; raise it (SET LOCAL ivfflat.probes) for recall, lower it for speed`,
    );
    if (recall > 0.95) {
      probes = Math.min(lists, probes * 2);
      reasons.push(`probes doubled to ${probes} for the recall target ${recall}`);
    }
    warnings.push(
      'IVFFlat centroids are trained once: REINDEX after the table grows by more than about 2× or its content shifts',
    );
    if (recall > 0.98)
      warnings.push(
        `recall ${recall} with IVFFlat needs many probes (slow queries); HNSW reaches it more cheaply`,
      );
    return { method: 'ivfflat', params: { lists, probes }, reasons, warnings, estimates };
  }

  const reasons: string[] = [
    'HNSW: the better speed/recall trade-off, no training step (it can be built before the data arrives) and it stays accurate as rows are added, updated and deleted',
  ];
  if (rows < SMALL_TABLE_ROWS || rows < IVFFLAT_MIN_ROWS_PER_LIST * lists) {
    reasons.push(
      `IVFFlat is ruled out: it trains its lists on the rows present at build time and ${rows} rows are too few (it needs ≥ ${SMALL_TABLE_ROWS} rows and ≥ ${IVFFLAT_MIN_ROWS_PER_LIST} rows per list)`,
    );
  } else if (input.writeHeavy) {
    reasons.push("write-heavy: IVFFlat's centroids go stale as data changes and need periodic REINDEX");
  } else if (growth > 2) {
    reasons.push(
      `the table is expected to grow ${Number.isFinite(growth) ? `${growth.toFixed(1)}×` : 'from empty'}: IVFFlat lists trained now would not fit the later data`,
    );
  } else if (!memoryTight && !timeTight) {
    reasons.push('the HNSW build fits the memory and time given (or none were given)');
  } else {
    reasons.push('IVFFlat would not fit the memory or time budget either');
  }
  reasons.push(
    recall <= 0.95
      ? `m = ${hnsw.m}, ef_construction = ${hnsw.efConstruction}: pgvector's defaults reach recall ${recall} with a tuned ef_search`
      : `m = ${hnsw.m}, ef_construction = ${hnsw.efConstruction}: a denser graph for recall ${recall} (slower build, larger index)`,
  );
  if (memoryTight) {
    warnings.push(
      `the HNSW graph (about ${gb(hnswBytes)}) will not fit in ${gb(input.memoryBytes ?? 0)}: the build spills and slows down a lot after that point; give maintenance_work_mem more memory, or index halfvec (half the size)`,
    );
  }
  if (timeTight) {
    warnings.push(
      `an HNSW build takes about ${duration(times.hnsw)}, over the ${duration(input.buildTimeBudget ?? 0)} budget: use parallel maintenance workers or build CONCURRENTLY out of hours`,
    );
  }
  if (input.writeHeavy) {
    warnings.push(
      'each insert into an HNSW index searches the graph: insert in batches, and run maintenance after bulk deletes',
    );
  }
  return { method: 'hnsw', params: hnsw, reasons, warnings, estimates };
}

/** The outcome of {@link checkIvfflatTraining}. */
export interface IvfflatTrainingCheck {
  readonly ok: boolean;
  readonly rows: number;
  readonly lists: number;
  /** The fewest rows the rule accepts for these lists: `lists × IVFFLAT_MIN_ROWS_PER_LIST`. */
  readonly minRows: number;
  readonly message: string;
}

/**
 * The IVFFlat training guard: refuses an IVFFlat build when the table holds fewer than
 * {@link IVFFLAT_MIN_ROWS_PER_LIST} (50) non-NULL rows per list — pgvector's own k-means sample target.
 * Throws `INSUFFICIENT_TRAINING_DATA` (with the fix) unless `force` is true; with `force` it returns the
 * failed check so that the caller can report it.
 *
 * ### Examples
 * ```ts
 * checkIvfflatTraining({ rows: 100_000, lists: 100 }); // { ok: true, minRows: 5000, … }
 * checkIvfflatTraining({ rows: 1_000, lists: 100 });   // throws: needs at least 5000 rows …
 * checkIvfflatTraining({ rows: 1_000, lists: 100, force: true }); // { ok: false, … }
 * ```
 */
export function checkIvfflatTraining(input: {
  rows: number;
  lists: number;
  force?: boolean | undefined;
}): IvfflatTrainingCheck {
  const minRows = input.lists * IVFFLAT_MIN_ROWS_PER_LIST;
  const ok = input.rows >= minRows;
  const message = ok
    ? `${input.rows} rows ≥ ${minRows} (${IVFFLAT_MIN_ROWS_PER_LIST} per list × ${input.lists} lists): enough to train IVFFlat`
    : `IVFFlat with ${input.lists} lists needs at least ${minRows} non-NULL rows (${IVFFLAT_MIN_ROWS_PER_LIST} per list, the k-means sample pgvector aims for); the table has ${input.rows}. Lists trained on too few rows stay lopsided and recall stays low, even after more rows arrive`;
  if (!ok && !input.force) {
    const fewer = Math.floor(input.rows / IVFFLAT_MIN_ROWS_PER_LIST);
    throw new PgVectorError('INSUFFICIENT_TRAINING_DATA', message, {
      fix:
        fewer >= 1
          ? `load the data first, use HNSW (no training), or lists ≤ ${fewer}; pass force to build anyway`
          : 'load the data first or use HNSW (no training); pass force to build anyway',
    });
  }
  return { ok, rows: input.rows, lists: input.lists, minRows, message };
}
