/**
 * Per-query index settings: which pgvector settings a search needs (ef_search, iterative scans, probes),
 * decided from the request, the index method and the pgvector version. Pure functions; the SQL that applies
 * the settings is built in `store-sql.ts` and always runs inside a transaction (`set_config(…, true)`), so that
 * nothing leaks into a pooled connection.
 */

import { PgVectorError } from '../core/errors.js';
import { type IndexMethod, METRICS, type Metric } from '../core/metric.js';
import { ITERATIVE_SCANS, type IterativeScan } from './config.js';

/** The settings a search applies, by pgvector's names; absent = left as the server has it. */
export interface SearchSettings {
  /** `hnsw.ef_search`: candidates an HNSW scan keeps (1–1000; pgvector's default 40). */
  readonly efSearch?: number;
  /** `hnsw.iterative_scan` or `ivfflat.iterative_scan` (pgvector ≥ 0.8). */
  readonly iterativeScan?: IterativeScan;
  /** `hnsw.max_scan_tuples`: how far an iterative HNSW scan may go (pgvector's default 20 000). */
  readonly maxScanTuples?: number;
  /** `ivfflat.probes`: lists an IVFFlat scan visits (pgvector's default 1). */
  readonly probes?: number;
}

/** What a search asks for, before the store's defaults and the server's capabilities are applied. */
export interface SearchTuningRequest extends SearchSettings {
  /** Rows wanted. */
  readonly k: number;
  /** Whether the search has a filter (filtered searches default to an iterative scan). */
  readonly filtered: boolean;
  /** Without `efSearch`: the floor of `hnsw.ef_search` (at least k; the server's value kept when higher). */
  readonly efSearchFloor?: number;
}

/** The store-level facts a tuning decision depends on. */
export interface SearchTuningContext {
  readonly indexMethod: IndexMethod;
  /** Iterative scan for filtered searches that do not choose one. */
  readonly filteredIterativeScan: IterativeScan;
  /** `extversion` of the `vector` extension, e.g. `0.8.7`. */
  readonly pgvectorVersion: string;
}

/** The decision: settings to apply, whether rows come back relaxed (to be re-sorted), and why. */
export interface SearchTuning {
  readonly settings: SearchSettings;
  /** True when an iterative scan in relaxed order is on: the rows must be re-sorted by distance. */
  readonly relaxed: boolean;
  /** Human-readable notes on fallbacks taken (returned with the search result). */
  readonly warnings: readonly string[];
  /**
   * Settings whose value is a floor: the search applies `greatest(value, the server's value)`, so that a
   * higher `hnsw.ef_search` / `ivfflat.probes` of the session, role or database (e.g. a tuned one) is kept
   * while a lower one can never cap the search below k (see `buildApplySettingsSql`).
   */
  readonly floors: readonly ('efSearch' | 'probes')[];
}

/** pgvector's own default of `hnsw.ef_search`. */
export const DEFAULT_EF_SEARCH = 40;
/** Largest `hnsw.ef_search` pgvector accepts; also the largest k a search accepts. */
export const MAX_EF_SEARCH = 1000;
/** Largest `ivfflat.probes` pgvector accepts (its maximum number of lists). */
export const MAX_PROBES = 32_768;
/** First pgvector version with iterative index scans. */
export const ITERATIVE_SCAN_SINCE = '0.8.0';
/** `ivfflat.probes` used instead of an iterative scan on pgvector < 0.8. */
const FALLBACK_PROBES = 10;
/** `hnsw.ef_search` used instead of an iterative scan on pgvector < 0.8: this many candidates per wanted row. */
const FALLBACK_EF_PER_ROW = 10;
const MAX_INT4 = 2 ** 31 - 1;
/** pgvector's own default of `ivfflat.probes`. */
export const DEFAULT_PROBES = 1;

function argumentError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message, fix === undefined ? {} : { fix });
}

function integerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw argumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * Parses an `extversion` such as `0.8.7` (or `0.8.0-dev`) into numbers. Throws `DATABASE_ERROR` for text
 * that is not a version.
 *
 * ### Examples
 * ```ts
 * parsePgvectorVersion('0.8.7'); // [0, 8, 7]
 * ```
 */
export function parsePgvectorVersion(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (match === null) {
    throw new PgVectorError('DATABASE_ERROR', `cannot read the pgvector version ${JSON.stringify(version)}`);
  }
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/**
 * True when pgvector `version` is at least `minimum`.
 *
 * ### Examples
 * ```ts
 * pgvectorAtLeast('0.7.4', '0.8.0'); // false
 * pgvectorAtLeast('0.8.7', '0.8.0'); // true
 * ```
 */
export function pgvectorAtLeast(version: string, minimum: string): boolean {
  // Asked on every search, of a handful of version pairs.
  const key = `${version}\u0000${minimum}`;
  const known = AT_LEAST.get(key);
  if (known !== undefined) return known;
  const a = parsePgvectorVersion(version);
  const b = parsePgvectorVersion(minimum);
  let answer = true;
  for (let i = 0; i < 3; i++) {
    if ((a[i] as number) !== (b[i] as number)) {
      answer = (a[i] as number) > (b[i] as number);
      break;
    }
  }
  if (AT_LEAST.size < 64) AT_LEAST.set(key, answer);
  return answer;
}

const AT_LEAST = new Map<string, boolean>();

/**
 * Throws `EXTENSION_TOO_OLD` when the metric's operator is newer than the installed pgvector (L1, Hamming
 * and Jaccard need 0.7.0).
 *
 * ### Examples
 * ```ts
 * assertMetricSupported('l1', '0.6.2'); // throws: metric 'l1' needs pgvector 0.7.0 …
 * ```
 */
export function assertMetricSupported(metric: Metric, version: string): void {
  const since = METRICS[metric].since;
  if (!pgvectorAtLeast(version, since)) {
    throw new PgVectorError(
      'EXTENSION_TOO_OLD',
      `metric '${metric}' (${METRICS[metric].operator}) needs pgvector ${since}; the database has ${version}`,
      { fix: 'upgrade the extension files on the server, then run ALTER EXTENSION vector UPDATE' },
    );
  }
}

/**
 * Decides the settings of one search. Validates the numbers (`efSearch` 1–1000, `maxScanTuples` ≥ 1,
 * `probes` 1–32768) and that each fits the index method (`efSearch` / `maxScanTuples`: HNSW; `probes`: IVFFlat;
 * IVFFlat has no `strict_order`), then:
 *
 * - a filtered search without `iterativeScan` gets the store's `filteredIterativeScan` (default
 *   `relaxed_order`), so it keeps scanning until k rows pass the filter;
 * - on pgvector < 0.8 (no iterative scans) it gets `ef_search = min(1000, max(efSearch, 10·k))` on HNSW
 *   (`probes ≥ 10` on IVFFlat) instead, and a warning saying so;
 * - k is never capped: an HNSW scan without iterative scan returns at most `ef_search` rows, so
 *   `ef_search` is always set, to `max(k, efSearch)`; without `efSearch` to k as a floor (`floors`: the
 *   server's value is kept when higher). IVFFlat's `probes` likewise (floor 1, pgvector's default);
 * - on pgvector ≥ 0.8 the iterative scan is always set (`'off'` when none is wanted), so that a database's
 *   own `hnsw.iterative_scan` cannot reorder rows unnoticed.
 *
 * ### Examples
 * ```ts
 * const ctx = { indexMethod: 'hnsw', filteredIterativeScan: 'relaxed_order', pgvectorVersion: '0.8.7' } as const;
 * planSearchTuning({ k: 10, filtered: true }, ctx);
 * // { settings: { efSearch: 10, iterativeScan: 'relaxed_order' }, relaxed: true, warnings: [], floors: ['efSearch'] }
 * planSearchTuning({ k: 100, filtered: false, efSearch: 60 }, ctx);
 * // { settings: { efSearch: 100, iterativeScan: 'off' }, relaxed: false, warnings: [], floors: [] }
 * ```
 */
export function planSearchTuning(request: SearchTuningRequest, context: SearchTuningContext): SearchTuning {
  const hnsw = context.indexMethod === 'hnsw';
  const k = integerIn(request.k, 'k', 1, MAX_EF_SEARCH);
  let efSearch =
    request.efSearch === undefined ? undefined : integerIn(request.efSearch, 'efSearch', 1, MAX_EF_SEARCH);
  let maxScanTuples =
    request.maxScanTuples === undefined
      ? undefined
      : integerIn(request.maxScanTuples, 'maxScanTuples', 1, MAX_INT4);
  let probes = request.probes === undefined ? undefined : integerIn(request.probes, 'probes', 1, MAX_PROBES);
  if (request.iterativeScan !== undefined && !ITERATIVE_SCANS.includes(request.iterativeScan)) {
    throw argumentError(
      `iterativeScan must be one of ${ITERATIVE_SCANS.map((s) => `'${s}'`).join(', ')}, got ${String(request.iterativeScan)}`,
    );
  }
  if (!hnsw && (efSearch !== undefined || maxScanTuples !== undefined)) {
    throw argumentError(
      `${efSearch !== undefined ? 'efSearch' : 'maxScanTuples'} tunes HNSW scans, but the store's indexMethod is 'ivfflat'`,
      'use probes for IVFFlat, or configure indexMethod: hnsw',
    );
  }
  if (hnsw && probes !== undefined) {
    throw argumentError(
      "probes tunes IVFFlat scans, but the store's indexMethod is 'hnsw'",
      'use efSearch for HNSW',
    );
  }

  const warnings: string[] = [];
  let iterativeScan =
    request.iterativeScan ??
    (request.filtered && context.filteredIterativeScan !== 'off' ? context.filteredIterativeScan : undefined);
  if (!hnsw && iterativeScan === 'strict_order') {
    throw argumentError("IVFFlat has no 'strict_order' iterative scan", "use 'relaxed_order'");
  }
  const iterativeOn = iterativeScan === 'strict_order' || iterativeScan === 'relaxed_order';
  if (!pgvectorAtLeast(context.pgvectorVersion, ITERATIVE_SCAN_SINCE)) {
    if (iterativeOn) {
      if (hnsw) {
        efSearch = Math.min(MAX_EF_SEARCH, Math.max(efSearch ?? DEFAULT_EF_SEARCH, FALLBACK_EF_PER_ROW * k));
        warnings.push(
          `pgvector ${context.pgvectorVersion} has no iterative index scans (${ITERATIVE_SCAN_SINCE}+): ` +
            `used hnsw.ef_search = ${efSearch} instead of iterativeScan '${iterativeScan}'; a selective filter ` +
            'may still return fewer than k rows (upgrade: ALTER EXTENSION vector UPDATE)',
        );
      } else {
        probes = Math.max(probes ?? 1, FALLBACK_PROBES);
        warnings.push(
          `pgvector ${context.pgvectorVersion} has no iterative index scans (${ITERATIVE_SCAN_SINCE}+): ` +
            `used ivfflat.probes = ${probes} instead of iterativeScan '${iterativeScan}'; a selective filter ` +
            'may still return fewer than k rows (upgrade: ALTER EXTENSION vector UPDATE)',
        );
      }
    }
    if (maxScanTuples !== undefined) {
      warnings.push(
        `maxScanTuples ignored: pgvector ${context.pgvectorVersion} has no iterative index scans`,
      );
      maxScanTuples = undefined;
    }
    iterativeScan = undefined;
  }
  const floors: ('efSearch' | 'probes')[] = [];
  if (hnsw) {
    // k is never capped: ef_search bounds the rows a non-iterative HNSW scan returns, so it is always set,
    // to at least k; without a chosen value, to k or the server's value when that is higher.
    if (efSearch === undefined) {
      efSearch = Math.min(MAX_EF_SEARCH, Math.max(k, request.efSearchFloor ?? k));
      floors.push('efSearch');
    } else {
      efSearch = Math.max(efSearch, k);
    }
  } else if (probes === undefined) {
    probes = DEFAULT_PROBES;
    floors.push('probes');
  }
  // Set explicitly on pgvector ≥ 0.8, so that an iterative scan the database turned on (rows then come
  // back slightly out of order, and this search would not re-sort them) cannot apply unnoticed.
  // IVFFlat: a scan of `probes` lists returns only those lists' rows, so an unfiltered search with the
  // server's probes (pgvector's default 1) could come back short; an iterative scan keeps probing lists
  // (up to ivfflat.max_probes) until k rows came back, and the store re-sorts them.
  if (iterativeScan === undefined && pgvectorAtLeast(context.pgvectorVersion, ITERATIVE_SCAN_SINCE)) {
    iterativeScan = hnsw ? 'off' : 'relaxed_order';
  }

  const settings: { -readonly [K in keyof SearchSettings]: SearchSettings[K] } = {};
  if (efSearch !== undefined) settings.efSearch = efSearch;
  if (iterativeScan !== undefined) settings.iterativeScan = iterativeScan;
  if (maxScanTuples !== undefined) settings.maxScanTuples = maxScanTuples;
  if (probes !== undefined) settings.probes = probes;
  return { settings, relaxed: iterativeScan === 'relaxed_order', warnings, floors };
}
