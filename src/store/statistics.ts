/**
 * Row estimates of simple filters from the table's statistics, without a statement per search: what
 * PostgreSQL's planner would estimate, computed in the store from `pg_stats` of the expression indexes the
 * filter compiler writes for (and of `created_at`), read once per `planner.estimateCacheMs`.
 *
 * - Equality and `in`: the most common values' frequencies, else the rest spread over the other distinct
 *   values (PostgreSQL's `var_eq_const`); an `in` list sums its values.
 * - Ranges: the histogram (linear inside a bucket for numbers and times, half a bucket for text) and the most
 *   common values in the range; the bounds on one expression form one range, as PostgreSQL pairs them.
 * - An `and` of conditions multiplies (PostgreSQL's independence assumption) for the figure, and takes the
 *   smallest condition's bound for the upper bound.
 *
 * The upper bound (`upper`) is what may skip the guard of an exact search: the statistics are a sample
 * (30,000 rows by default), so each condition's bound is twice its figure, a range's at least every
 * histogram bucket it touches.
 */

import type { StatCondition } from '../core/filter.js';
import {
  numberExpressionKeyPath,
  stringExpressionKeyPath,
  textExpressionKeyPath,
} from '../core/filter-expressions.js';

/** The statistics of one expression (or column), parsed from `pg_stats`. */
export interface ColumnStatistics {
  readonly nullFrac: number;
  /** As `pg_stats.n_distinct`: distinct values, or when negative minus their fraction of the rows. */
  readonly nDistinct: number;
  /** Most common values: text for text and string expressions, numbers for numbers, ms for times. */
  readonly mcv: readonly (string | number)[];
  readonly mcf: readonly number[];
  readonly histogram: readonly (string | number)[];
  /** Whether JavaScript's order of the text values is the column's collation order ("C"-like). */
  readonly codepointOrder: boolean;
  /** Whether a B-tree serves conditions on it (always for an expression index's statistics). */
  readonly indexed: boolean;
}

/** Statistics by `kind\u0000path` of a {@link StatCondition}. */
export type TableStatistics = ReadonlyMap<string, ColumnStatistics>;

/** A filter's estimated rows, and an upper bound for deciding whether it is small. */
export interface StatisticsFigure {
  readonly rows: number;
  readonly upper: number;
  /** Whether the condition behind `upper` is served by a B-tree. */
  readonly indexed: boolean;
}

/** Factor on each condition's figure for its upper bound (the statistics are a sample). */
export const STATISTICS_UPPER_FACTOR = 2;

/**
 * The statistics the store reads: one row per valid, non-partial expression B-tree of the table (its first
 * key expression, as `pg_get_indexdef` deparses it) and one for the `created_at` column. `$1`: the table as
 * `to_regclass` reads it; `$2`: the created-at column's name.
 */
export const STATISTICS_SQL = `SELECT pg_get_indexdef(i.indexrelid, 1, true) AS "expression", s.null_frac::float8 AS "nullFrac", s.n_distinct::float8 AS "nDistinct", s.most_common_vals::text AS "mcv", s.most_common_freqs::text AS "mcf", s.histogram_bounds::text AS "histogram", coalesce(nullif(co.collname, 'default'), d.datcollate) AS "collation", true AS "indexed"
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indexrelid AND a.attnum = 1
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
LEFT JOIN pg_collation co ON co.oid = i.indcollation[0]
CROSS JOIN (SELECT datcollate FROM pg_database WHERE datname = current_database()) d
WHERE i.indrelid = to_regclass($1) AND i.indisvalid AND i.indpred IS NULL AND am.amname = 'btree' AND i.indkey[0] = 0
UNION ALL
SELECT NULL, s.null_frac::float8, s.n_distinct::float8, s.most_common_vals::text, s.most_common_freqs::text, s.histogram_bounds::text, NULL,
  EXISTS (SELECT 1 FROM pg_index x JOIN pg_attribute xa ON xa.attrelid = x.indrelid AND xa.attnum = x.indkey[0] WHERE x.indrelid = c.oid AND x.indisvalid AND x.indpred IS NULL AND xa.attname = $2)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = $2 AND NOT s.inherited
WHERE c.oid = to_regclass($1)`;

const CODEPOINT_COLLATIONS = new Set(['c', 'posix', 'c.utf8', 'c.utf-8', 'ucs_basic', 'pg_c_utf8']);

/**
 * Parses a one-dimensional PostgreSQL array literal (`{a,"b c",NULL}`) into its elements (`null` for NULL).
 * Returns undefined for text that is not one.
 */
export function parseArrayLiteral(text: string): (string | null)[] | undefined {
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  const out: (string | null)[] = [];
  let i = 1;
  const end = text.length - 1;
  if (i === end) return out;
  while (i <= end) {
    if (text[i] === '"') {
      let value = '';
      i++;
      while (i < end && text[i] !== '"') {
        if (text[i] === '\\') i++;
        value += text[i] ?? '';
        i++;
      }
      if (text[i] !== '"') return undefined;
      i++;
      out.push(value);
    } else {
      let j = i;
      while (j < end && text[j] !== ',') j++;
      const raw = text.slice(i, j).trim();
      if (raw.startsWith('{')) return undefined;
      out.push(raw.toUpperCase() === 'NULL' ? null : raw);
      i = j;
    }
    if (i === end) break;
    if (text[i] !== ',') return undefined;
    i++;
  }
  return out;
}

/** A `timestamp` / `timestamptz` as PostgreSQL prints it (ISO style), in ms; NaN when it is not one. */
export function parseTimestamp(text: string): number {
  const m =
    /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([+-]\d{2})(?::?(\d{2}))?(?::?\d{2})?)?$/.exec(
      text,
    );
  if (m === null) return Number.NaN;
  const zone = m[3] === undefined ? 'Z' : `${m[3]}:${m[4] ?? '00'}`;
  return Date.parse(`${m[1]}T${m[2]}${zone}`);
}

type Kind = StatCondition['kind'];

function statisticsKey(kind: Kind, path: string): string {
  return `${kind}\u0000${path}`;
}

/** What a row's expression is: a metadata key's text, string or number expression, or (NULL) `created_at`. */
function expressionOf(column: string, expression: unknown): [Kind, string[]] | undefined {
  if (expression === null || expression === undefined) return ['createdAt', []];
  if (typeof expression !== 'string') return undefined;
  const readers = [
    ['text', textExpressionKeyPath],
    ['string', stringExpressionKeyPath],
    ['number', numberExpressionKeyPath],
  ] as const;
  for (const [kind, read] of readers) {
    const path = read(column, expression);
    if (path !== undefined) return [kind, path];
  }
  return undefined;
}

/**
 * The {@link TableStatistics} of the rows of {@link STATISTICS_SQL}, for the metadata column named `column`
 * (unquoted). Rows that cannot be read are left out.
 */
export function readStatistics(column: string, rows: readonly Record<string, unknown>[]): TableStatistics {
  const out = new Map<string, ColumnStatistics>();
  for (const row of rows) {
    const found = expressionOf(column, row.expression);
    if (found === undefined) continue;
    const [kind, path] = found;
    const parsed = columnStatistics(kind, row);
    if (parsed !== undefined) out.set(statisticsKey(kind, path.join('.')), parsed);
  }
  return out;
}

function columnStatistics(kind: Kind, row: Record<string, unknown>): ColumnStatistics | undefined {
  const nullFrac = Number(row.nullFrac);
  const nDistinct = Number(row.nDistinct);
  if (!Number.isFinite(nullFrac) || !Number.isFinite(nDistinct)) return undefined;
  const list = (value: unknown): (string | null)[] | undefined =>
    value === null || value === undefined
      ? []
      : typeof value === 'string'
        ? parseArrayLiteral(value)
        : undefined;
  const mcvText = list(row.mcv);
  const mcfText = list(row.mcf);
  const histText = list(row.histogram);
  if (mcvText === undefined || mcfText === undefined || histText === undefined) return undefined;
  if (mcvText.length !== mcfText.length) return undefined;
  const value = (text: string | null): string | number | undefined => {
    if (text === null) return undefined;
    if (kind === 'text' || kind === 'string') return text;
    const n = kind === 'number' ? Number(text) : parseTimestamp(text);
    return Number.isFinite(n) ? n : undefined;
  };
  const mcv = mcvText.map(value);
  const histogram = histText.map(value);
  const mcf = mcfText.map((f) => Number(f));
  if (mcv.some((v) => v === undefined) || histogram.some((v) => v === undefined)) return undefined;
  if (mcf.some((f) => !Number.isFinite(f) || f < 0 || f > 1)) return undefined;
  const collation = typeof row.collation === 'string' ? row.collation.toLowerCase() : '';
  return {
    nullFrac,
    nDistinct,
    mcv: mcv as (string | number)[],
    mcf,
    histogram: histogram as (string | number)[],
    codepointOrder: CODEPOINT_COLLATIONS.has(collation),
    indexed: row.indexed === true || row.indexed === 't',
  };
}

/** Fixed-format digits and punctuation (ISO dates and times): ordered alike under every collation. */
const ORDER_SAFE = /^[0-9][0-9:.+\-TZ ]*$/;

/** Whether comparing these texts in JavaScript gives the column's order. */
function orderable(stats: ColumnStatistics, values: readonly (string | number)[]): boolean {
  if (stats.codepointOrder || typeof values[0] !== 'string') return true;
  const length = (values[0] as string).length;
  const same = (v: string | number) => typeof v === 'string' && v.length === length && ORDER_SAFE.test(v);
  return values.every(same) && stats.histogram.every(same);
}

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Rows that are neither NULL nor a most common value, as a fraction. */
function restFraction(stats: ColumnStatistics): number {
  const common = stats.mcf.reduce((sum, f) => sum + f, 0);
  return Math.max(0, 1 - stats.nullFrac - common);
}

function distinctValues(stats: ColumnStatistics, tableRows: number): number {
  return stats.nDistinct >= 0 ? stats.nDistinct : -stats.nDistinct * tableRows;
}

/** Fraction of rows equal to one of `values`. */
function equalityFraction(stats: ColumnStatistics, values: readonly (string | number)[], tableRows: number) {
  const others = Math.max(1, distinctValues(stats, tableRows) - stats.mcv.length);
  const each = restFraction(stats) / others;
  let sum = 0;
  for (const v of new Set(values)) {
    const at = stats.mcv.indexOf(v);
    sum += at >= 0 ? (stats.mcf[at] as number) : each;
  }
  return Math.min(1, sum);
}

/** Position of `v` in the histogram, 0…1 (linear inside a bucket for numbers, half a bucket for text). */
function histogramPosition(h: readonly (string | number)[], v: string | number): number {
  const buckets = h.length - 1;
  if (compare(v, h[0] as string | number) <= 0) return 0;
  if (compare(v, h[buckets] as string | number) >= 0) return 1;
  const lo = bucketOf(h, v);
  const a = h[lo] as string | number;
  const b = h[lo + 1] as string | number;
  const inside =
    typeof v === 'number' && b !== a ? (v - (a as number)) / ((b as number) - (a as number)) : 0.5;
  return (lo + inside) / buckets;
}

/** The bucket index `v` falls in (0 … buckets - 1), clamped. */
function bucketOf(h: readonly (string | number)[], v: string | number): number {
  let lo = 0;
  let hi = h.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (compare(h[mid] as string | number, v) <= 0) lo = mid;
    else hi = mid;
  }
  return lo;
}

interface Bounds {
  lo?: { value: string | number; inclusive: boolean };
  hi?: { value: string | number; inclusive: boolean };
}

/** Fraction of rows in a range, and its upper bound (every histogram bucket it touches). */
function rangeFraction(stats: ColumnStatistics, bounds: Bounds): { point: number; upper: number } {
  const inRange = (v: string | number) =>
    (bounds.lo === undefined || compare(v, bounds.lo.value) > (bounds.lo.inclusive ? -1 : 0)) &&
    (bounds.hi === undefined || compare(v, bounds.hi.value) < (bounds.hi.inclusive ? 1 : 0));
  let common = 0;
  stats.mcv.forEach((v, i) => {
    if (inRange(v)) common += stats.mcf[i] as number;
  });
  const h = stats.histogram;
  const rest = restFraction(stats);
  if (h.length < 2) {
    // No histogram: every value is a most common one (or none is known).
    return { point: common, upper: h.length === 0 && stats.mcv.length === 0 ? 1 : common };
  }
  if (bounds.lo !== undefined && bounds.hi !== undefined && compare(bounds.lo.value, bounds.hi.value) > 0) {
    return { point: 0, upper: 0 };
  }
  const from = bounds.lo === undefined ? 0 : histogramPosition(h, bounds.lo.value);
  const to = bounds.hi === undefined ? 1 : histogramPosition(h, bounds.hi.value);
  const buckets = h.length - 1;
  const first = bounds.lo === undefined ? 0 : bucketOf(h, bounds.lo.value);
  const last = bounds.hi === undefined ? buckets - 1 : bucketOf(h, bounds.hi.value);
  const touched = Math.max(0, last - first + 1) / buckets;
  const point = common + Math.max(0, to - from) * rest;
  return { point: Math.min(1, point), upper: Math.min(1, common + touched * rest) };
}

/**
 * The estimated rows of an `and` of conditions (see the module comment), or undefined when a condition has
 * no statistics (or text whose order the store cannot compare).
 */
export function estimateConditions(
  conditions: readonly StatCondition[],
  statistics: TableStatistics,
  tableRows: number,
): StatisticsFigure | undefined {
  const ranges = new Map<string, Bounds>();
  const parts: { point: number; upper: number; indexed: boolean }[] = [];
  for (const c of conditions) {
    const key = statisticsKey(c.kind, c.path);
    const stats = statistics.get(key);
    if (stats === undefined) return undefined;
    const values = c.values.map((v) => (v instanceof Date ? v.getTime() : v));
    if (values.some((v) => typeof v !== (c.kind === 'text' || c.kind === 'string' ? 'string' : 'number'))) {
      return undefined;
    }
    if (c.op === 'eq' || c.op === 'in') {
      const point = equalityFraction(stats, values, tableRows);
      parts.push({ point, upper: Math.min(1, point * STATISTICS_UPPER_FACTOR), indexed: stats.indexed });
      continue;
    }
    if (!orderable(stats, values)) return undefined;
    const bounds = ranges.get(key) ?? {};
    const value = values[0] as string | number;
    if (c.op === 'gt' || c.op === 'gte') {
      const inclusive = c.op === 'gte';
      if (bounds.lo === undefined || compare(value, bounds.lo.value) > 0) bounds.lo = { value, inclusive };
    } else {
      const inclusive = c.op === 'lte';
      if (bounds.hi === undefined || compare(value, bounds.hi.value) < 0) bounds.hi = { value, inclusive };
    }
    ranges.set(key, bounds);
  }
  for (const [key, bounds] of ranges) {
    const stats = statistics.get(key) as ColumnStatistics;
    const { point, upper } = rangeFraction(stats, bounds);
    parts.push({
      point,
      upper: Math.min(1, Math.max(upper, point * STATISTICS_UPPER_FACTOR)),
      indexed: stats.indexed,
    });
  }
  if (parts.length === 0) return undefined;
  let point = 1;
  let tightest = parts[0] as { point: number; upper: number; indexed: boolean };
  for (const p of parts) {
    point *= p.point;
    if (p.upper < tightest.upper || (p.upper === tightest.upper && p.indexed)) tightest = p;
  }
  return { rows: point * tableRows, upper: tightest.upper * tableRows, indexed: tightest.indexed };
}
