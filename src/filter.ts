/**
 * The metadata filter language: a small typed object, validated and compiled into ONE parameterised SQL
 * boolean expression over the `jsonb` metadata column and the `created_at` column.
 *
 * ```ts
 * const where = compileFilter(
 *   { type: 'article', price: { gte: 10, lt: 20 }, or: [{ lang: 'en' }, { tags: { contains: ['featured'] } }] },
 *   { metadataColumn: raw('"metadata"'), createdAtColumn: raw('"created_at"') },
 * );
 * await prisma.$queryRaw(sql`SELECT id FROM documents WHERE ${where} ORDER BY embedding <=> ${q} LIMIT 10`);
 * ```
 *
 * Semantics (each operator's SQL is shown on {@link FieldOperators}):
 * - A key is a top-level metadata key, or a path `a.b.c` into nested objects (`.` always separates).
 *   Keys `and`, `or`, `not` and `createdAt` are reserved for the forms below.
 * - Several keys, or several operators on one key, must all hold (AND). `and: []` matches everything,
 *   `or: []` nothing, `in: []` nothing, `nin: []` everything.
 * - Strings compare as text (`->>`, the database's collation); numbers, booleans and `null` compare as JSON
 *   values (`1` equals `1.0`; the string `"1"` does not equal the number `1` — except through a string
 *   operand, since `->>` renders the number `1` as the text `1`). Range operators (`gt`…) only match values
 *   of the operand's JSON type: `{ price: { gt: 10 } }` skips rows whose `price` is a string instead of
 *   failing the whole query on a cast, as `(metadata ->> 'price')::numeric > 10` would.
 * - A condition on a missing key is not met, and its negation (`ne`, `nin`, `not`) is: negations are
 *   written `IS DISTINCT FROM` / `IS NOT TRUE`, never plain `NOT`, so SQL NULLs cannot make a row vanish
 *   from both a filter and its negation.
 * - Keys and values are ALWAYS bind parameters, with one exception: an equality that matches a configured
 *   {@link PartialIndexPredicate} is written as the predicate's literal SQL, because PostgreSQL proves that a
 *   query may use a partial index only by matching the predicate's expression, and cannot see through bind
 *   parameters when it reuses a generic plan (named prepared statements, `plan_cache_mode`, poolers).
 *   Predicates come from configuration and are validated strictly; the request only selects one.
 */

import { join, raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import { PgVectorError } from './errors.js';

/** A JSON scalar. */
export type JsonScalar = string | number | boolean | null;

/** Any JSON value, as `contains` accepts it. */
export type JsonValue = JsonScalar | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** The scalar values an equality on a field of type `V` accepts (any scalar when `V` is unknown). */
export type ScalarOf<V> = unknown extends V ? JsonScalar : Extract<V, JsonScalar>;

/** The values a range comparison on a field of type `V` accepts. */
export type ComparableOf<V> = unknown extends V ? number | string : Extract<V, number | string>;

/** What `contains` accepts for a field of type `V`: a sub-array, a partial object, or a scalar. */
export type ContainableOf<V> = unknown extends V
  ? JsonValue
  : V extends readonly (infer E)[]
    ? readonly ContainableOf<E>[]
    : V extends object
      ? { readonly [K in keyof V]?: ContainableOf<V[K]> }
      : Extract<V, JsonScalar>;

/**
 * Operators on one metadata field. All present operators must hold. The generated SQL (PostgreSQL) for a
 * key `k` (path `a.b` uses `#>>`/`#>` with a `text[]` parameter instead of `->>`/`->`):
 *
 * | operator | SQL |
 * |---|---|
 * | `eq: 's'` | `(("metadata" ->> $1::text) = $2::text)` |
 * | `eq: 1 \| true \| null` | `(("metadata" -> $1::text) = $2::jsonb)` (`$2` = `'1'`) |
 * | `ne` | as `eq` with `IS DISTINCT FROM` |
 * | `in: ['a','b']` | `(("metadata" ->> $1::text) = ANY($2::text[]))`; non-strings: `(("metadata" -> $1::text) = ANY($2::jsonb[]))`, both OR-ed when mixed |
 * | `nin` | `(<in> IS NOT TRUE)` |
 * | `gt: 10` | `(CASE WHEN jsonb_typeof(("metadata" -> $1::text)) = 'number' THEN ("metadata" -> $2::text)::numeric > $3::numeric END)` |
 * | `gt: 'm'` | `(CASE WHEN jsonb_typeof(("metadata" -> $1::text)) = 'string' THEN ("metadata" ->> $2::text) > $3::text END)` |
 * | `exists: true` | `(("metadata" -> $1::text) IS NOT NULL)` (`false`: `IS NULL`); a JSON `null` exists |
 * | `contains: ['x']` | `("metadata" @> $1::jsonb)` with `$1` = `{"k":["x"]}` (GIN `jsonb_path_ops` can serve it) |
 */
export interface FieldOperators<V = unknown> {
  readonly eq?: ScalarOf<V>;
  readonly ne?: ScalarOf<V>;
  readonly in?: readonly ScalarOf<V>[];
  readonly nin?: readonly ScalarOf<V>[];
  readonly gt?: ComparableOf<V>;
  readonly gte?: ComparableOf<V>;
  readonly lt?: ComparableOf<V>;
  readonly lte?: ComparableOf<V>;
  readonly exists?: boolean;
  readonly contains?: ContainableOf<V>;
}

/** A condition on one field: a scalar (shorthand for `eq`) or {@link FieldOperators}. */
export type FieldFilter<V = unknown> = ScalarOf<V> | FieldOperators<V>;

/** A range on the `created_at` column. Dates are bound as parameters; the column type decides the comparison. */
export interface DateRange {
  readonly gt?: Date;
  readonly gte?: Date;
  readonly lt?: Date;
  readonly lte?: Date;
}

/** The keys of a filter that are not metadata keys. */
export type ReservedFilterKey = 'and' | 'or' | 'not' | 'createdAt';

type Depth = [never, 0, 1, 2, 3];

type IsPlainObject<T> = T extends readonly unknown[] ? false : T extends object ? true : false;

/** Dotted paths into a metadata type, three levels deep. `string` when the metadata type is open. */
export type MetadataPath<M, D extends number = 3> = [D] extends [never]
  ? never
  : {
      [K in keyof M & string]: IsPlainObject<NonNullable<M[K]>> extends true
        ? K | `${K}.${MetadataPath<NonNullable<M[K]>, Depth[D]>}`
        : K;
    }[keyof M & string];

/** The type at a dotted path of a metadata type. */
export type PathValue<M, P extends string> = P extends keyof M
  ? M[P]
  : P extends `${infer H}.${infer R}`
    ? H extends keyof M
      ? PathValue<NonNullable<M[H]>, R>
      : unknown
    : unknown;

interface LogicalFilter<F> {
  /** All must hold. */
  readonly and?: readonly F[];
  /** At least one must hold. */
  readonly or?: readonly F[];
  /** Must not hold (rows where it is unknown, e.g. a missing key, are kept). */
  readonly not?: F;
  /** Range on the row's creation time. */
  readonly createdAt?: DateRange;
}

/** A filter over a known metadata type: keys and value types are checked. */
export type TypedFilter<M> = LogicalFilter<TypedFilter<M>> & {
  readonly [P in Exclude<MetadataPath<M>, ReservedFilterKey>]?: FieldFilter<PathValue<M, P>>;
};

/** A filter over open metadata (`Record<string, unknown>`): any key, any JSON operand. */
export interface LooseFilter extends LogicalFilter<LooseFilter> {
  readonly [key: string]: FieldFilter | readonly LooseFilter[] | LooseFilter | DateRange | undefined;
}

/**
 * A metadata filter. With a metadata type `M`, keys (including dotted paths) and operand types are checked;
 * with the default, any key is accepted and checked when compiled.
 *
 * ### Examples
 * ```ts
 * type Meta = { type: 'article' | 'note'; price: number; author: { name: string }; tags: string[] };
 * const f: Filter<Meta> = {
 *   type: 'article',
 *   'author.name': { in: ['Ada', 'Grace'] },
 *   not: { tags: { contains: ['draft'] } },
 *   createdAt: { gte: new Date('2024-01-01') },
 * };
 * ```
 */
export type Filter<M extends object = Record<string, unknown>> =
  string extends MetadataPath<M> ? LooseFilter : TypedFilter<M>;

/**
 * A partial index's predicate `((metadata ->> 'key'::text) = 'value'::text)`, from configuration. When a
 * filter asks for exactly `{ key: value }` (or `{ key: { eq: value } }`), the compiler writes this literal
 * SQL so the planner can prove the partial index applies.
 *
 * `key` is a top-level key and `value` a string, both 1–200 characters of letters, digits, space and
 * `_ - : / @` (`.` too in values) — no quotes or backslashes, so the literal needs no escaping.
 */
export interface PartialIndexPredicate {
  readonly key: string;
  readonly value: string;
}

/** Where the filter's columns are and which partial-index predicates exist. */
export interface CompileFilterOptions {
  /** The `jsonb` metadata column, already quoted, e.g. `raw('"metadata"')` or `raw('d."metadata"')`. */
  readonly metadataColumn: Sql;
  /** The creation-time column, already quoted, e.g. `raw('"created_at"')`. */
  readonly createdAtColumn: Sql;
  /** Predicates of the partial indexes on the table; see {@link PartialIndexPredicate}. */
  readonly partialIndexPredicates?: readonly PartialIndexPredicate[];
}

const FIELD_OPERATORS = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'exists', 'contains'] as const;
type FieldOperator = (typeof FIELD_OPERATORS)[number];
const RANGE_SQL = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
type RangeOperator = keyof typeof RANGE_SQL;
const RANGE_OPERATORS = Object.keys(RANGE_SQL) as readonly RangeOperator[];
const MAX_DEPTH = 32;
const PREDICATE_KEY = /^[\p{L}\p{N}_\-:/@ ]{1,200}$/u;
const PREDICATE_VALUE = /^[\p{L}\p{N}_\-:/@. ]{1,200}$/u;
const TRUE = raw('TRUE');
const FALSE = raw('FALSE');

function filterError(path: string, message: string): PgVectorError {
  return new PgVectorError('INVALID_FILTER', `${path}: ${message}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function keyPath(parent: string, key: string): string {
  return /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(key)
    ? `${parent}.${key}`
    : `${parent}[${JSON.stringify(key)}]`;
}

function isScalar(value: unknown, path: string): value is JsonScalar {
  if (typeof value === 'number' && !Number.isFinite(value))
    throw filterError(path, `${value} is not a finite number`);
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

function checkJson(value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw filterError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (isScalar(value, path)) return;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkJson(v, `${path}[${i}]`, depth + 1);
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) checkJson(v, keyPath(path, k), depth + 1);
  } else {
    throw filterError(path, `expected a JSON value, got ${describe(value)}`);
  }
}

/**
 * Checks partial-index predicates from configuration. Throws `INVALID_CONFIG` for a key or value outside
 * the allowed characters (see {@link PartialIndexPredicate}).
 */
function checkPredicate(p: PartialIndexPredicate): void {
  if (typeof p?.key !== 'string' || !PREDICATE_KEY.test(p.key)) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `partial index key ${JSON.stringify(p?.key)} must be 1-200 letters, digits, spaces or _ - : / @`,
    );
  }
  if (typeof p.value !== 'string' || !PREDICATE_VALUE.test(p.value)) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `partial index value ${JSON.stringify(p.value)} for key '${p.key}' must be 1-200 letters, digits, spaces or _ - : / @ .`,
    );
  }
}

/**
 * The predicate of a partial index as literal SQL, exactly as PostgreSQL stores it (`pg_get_expr` prints
 * the same expression). Used for the index's `WHERE` clause and, by {@link compileFilter}, for the matching
 * equality, so the planner can prove the index applies. Throws `INVALID_CONFIG` for a key or value outside
 * the allowed characters.
 *
 * ### Examples
 * ```ts
 * partialIndexPredicateSql(raw('"metadata"'), { key: 'type', value: 'article' }).text;
 * // `(("metadata" ->> 'type'::text) = 'article'::text)`
 * ```
 */
export function partialIndexPredicateSql(metadataColumn: Sql, predicate: PartialIndexPredicate): Sql {
  checkPredicate(predicate);
  return sql`((${metadataColumn} ->> ${raw(`'${predicate.key}'::text`)}) = ${raw(`'${predicate.value}'::text`)})`;
}

class Compiler {
  private readonly m: Sql;
  private readonly createdAt: Sql;
  private readonly predicates: readonly PartialIndexPredicate[];

  constructor(options: CompileFilterOptions) {
    this.m = options.metadataColumn;
    this.createdAt = options.createdAtColumn;
    this.predicates = options.partialIndexPredicates ?? [];
    this.predicates.forEach(checkPredicate);
  }

  filter(node: unknown, path: string, depth: number): Sql {
    if (depth > MAX_DEPTH) throw filterError(path, `nested deeper than ${MAX_DEPTH} levels`);
    if (!isPlainObject(node)) throw filterError(path, `expected a filter object, got ${describe(node)}`);
    const parts: Sql[] = [];
    for (const [key, value] of Object.entries(node)) {
      if (value === undefined) continue;
      const at = keyPath(path, key);
      switch (key) {
        case 'and':
        case 'or':
          parts.push(this.logical(key, value, at, depth));
          break;
        case 'not':
          parts.push(sql`(${this.filter(value, at, depth + 1)} IS NOT TRUE)`);
          break;
        case 'createdAt':
          parts.push(...this.dateRange(value, at));
          break;
        default:
          parts.push(...this.field(key, value, at));
      }
    }
    return conjunction(parts);
  }

  private logical(kind: 'and' | 'or', value: unknown, path: string, depth: number): Sql {
    if (!Array.isArray(value))
      throw filterError(path, `expected an array of filters, got ${describe(value)}`);
    const parts = value.map((f, i) => this.filter(f, `${path}[${i}]`, depth + 1));
    if (kind === 'and') return conjunction(parts);
    if (parts.length === 0) return FALSE;
    return parts.length === 1 ? (parts[0] as Sql) : sql`(${join(parts, ' OR ')})`;
  }

  private dateRange(value: unknown, path: string): Sql[] {
    if (!isPlainObject(value))
      throw filterError(path, `expected { gt, gte, lt, lte } with Dates, got ${describe(value)}`);
    const parts: Sql[] = [];
    for (const [op, date] of Object.entries(value)) {
      if (date === undefined) continue;
      if (!isRangeOperator(op)) {
        throw filterError(keyPath(path, op), `unknown operator '${op}'; createdAt accepts: gt, gte, lt, lte`);
      }
      if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
        throw filterError(keyPath(path, op), `expected a valid Date, got ${describe(date)}`);
      }
      parts.push(sql`(${this.createdAt} ${raw(RANGE_SQL[op])} ${date})`);
    }
    if (parts.length === 0) throw filterError(path, 'expected at least one of gt, gte, lt, lte');
    return parts;
  }

  private field(key: string, value: unknown, path: string): Sql[] {
    const segments = key.split('.');
    if (segments.some((s) => s === '')) {
      throw filterError(path, `metadata key ${JSON.stringify(key)} is empty or has an empty path segment`);
    }
    if (Array.isArray(value)) {
      throw filterError(path, 'an array is not a condition: use { in: [...] } or { contains: [...] }');
    }
    if (isScalar(value, path)) return [this.eq(segments, value)];
    if (!isPlainObject(value))
      throw filterError(path, `expected a value or an operator object, got ${describe(value)}`);
    const parts: Sql[] = [];
    for (const [op, operand] of Object.entries(value)) {
      if (operand === undefined) continue;
      parts.push(this.operator(segments, op, operand, keyPath(path, op)));
    }
    if (parts.length === 0)
      throw filterError(path, `expected at least one operator: ${FIELD_OPERATORS.join(', ')}`);
    return parts;
  }

  private operator(segments: string[], op: string, operand: unknown, path: string): Sql {
    if (!isFieldOperator(op)) {
      throw filterError(path, `unknown operator '${op}'; valid operators: ${FIELD_OPERATORS.join(', ')}`);
    }
    switch (op) {
      case 'eq':
        return this.eq(segments, scalar(operand, path));
      case 'ne':
        return this.ne(segments, scalar(operand, path));
      case 'in':
        return this.in(segments, scalarList(operand, path));
      case 'nin':
        return sql`(${this.in(segments, scalarList(operand, path))} IS NOT TRUE)`;
      case 'exists':
        if (typeof operand !== 'boolean')
          throw filterError(path, `expected true or false, got ${describe(operand)}`);
        return sql`(${this.json(segments)} ${raw(operand ? 'IS NOT NULL' : 'IS NULL')})`;
      case 'contains':
        checkJson(operand, path, 0);
        return sql`(${this.m} @> ${JSON.stringify(nest(segments, operand))}::jsonb)`;
      default:
        return this.range(segments, op, operand, path);
    }
  }

  private eq(segments: string[], value: JsonScalar): Sql {
    if (typeof value === 'string') {
      const predicate = this.predicates.find(
        (p) => segments.length === 1 && p.key === segments[0] && p.value === value,
      );
      if (predicate !== undefined) return partialIndexPredicateSql(this.m, predicate);
      return sql`(${this.text(segments)} = ${value}::text)`;
    }
    return sql`(${this.json(segments)} = ${JSON.stringify(value)}::jsonb)`;
  }

  private ne(segments: string[], value: JsonScalar): Sql {
    if (typeof value === 'string') return sql`(${this.text(segments)} IS DISTINCT FROM ${value}::text)`;
    return sql`(${this.json(segments)} IS DISTINCT FROM ${JSON.stringify(value)}::jsonb)`;
  }

  private in(segments: string[], values: readonly JsonScalar[]): Sql {
    const strings = values.filter((v): v is string => typeof v === 'string');
    const others = values.filter((v) => typeof v !== 'string').map((v) => JSON.stringify(v));
    const parts: Sql[] = [];
    if (strings.length > 0) parts.push(sql`(${this.text(segments)} = ANY(${strings}::text[]))`);
    if (others.length > 0) parts.push(sql`(${this.json(segments)} = ANY(${others}::jsonb[]))`);
    if (parts.length === 0) return FALSE;
    return parts.length === 1 ? (parts[0] as Sql) : sql`(${join(parts, ' OR ')})`;
  }

  private range(segments: string[], op: RangeOperator, operand: unknown, path: string): Sql {
    const cmp = raw(RANGE_SQL[op]);
    if (typeof operand === 'number') {
      if (!Number.isFinite(operand)) throw filterError(path, `${operand} is not a finite number`);
      return sql`(CASE WHEN jsonb_typeof(${this.json(segments)}) = 'number' THEN ${this.json(segments)}::numeric ${cmp} ${operand}::numeric END)`;
    }
    if (typeof operand === 'string') {
      return sql`(CASE WHEN jsonb_typeof(${this.json(segments)}) = 'string' THEN ${this.text(segments)} ${cmp} ${operand}::text END)`;
    }
    throw filterError(path, `expected a number or a string, got ${describe(operand)}`);
  }

  /** The value at a path as text: `->>` for a top-level key (the form partial-index predicates use). */
  private text(segments: string[]): Sql {
    return segments.length === 1
      ? sql`(${this.m} ->> ${segments[0]}::text)`
      : sql`(${this.m} #>> ${segments}::text[])`;
  }

  /** The value at a path as jsonb. */
  private json(segments: string[]): Sql {
    return segments.length === 1
      ? sql`(${this.m} -> ${segments[0]}::text)`
      : sql`(${this.m} #> ${segments}::text[])`;
  }
}

function isFieldOperator(op: string): op is FieldOperator {
  return (FIELD_OPERATORS as readonly string[]).includes(op);
}

function isRangeOperator(op: string): op is RangeOperator {
  return (RANGE_OPERATORS as readonly string[]).includes(op);
}

function scalar(operand: unknown, path: string): JsonScalar {
  if (isScalar(operand, path)) return operand;
  throw filterError(path, `expected a string, number, boolean or null, got ${describe(operand)}`);
}

function scalarList(operand: unknown, path: string): JsonScalar[] {
  if (!Array.isArray(operand)) throw filterError(path, `expected an array, got ${describe(operand)}`);
  return operand.map((v, i) => scalar(v, `${path}[${i}]`));
}

function nest(segments: readonly string[], value: unknown): unknown {
  return segments.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

function conjunction(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return TRUE;
  return parts.length === 1 ? (parts[0] as Sql) : sql`(${join(parts, ' AND ')})`;
}

/**
 * Validates a filter and compiles it into one SQL boolean expression, for `WHERE ${…}`. An absent or empty
 * filter compiles to `TRUE`. Throws `INVALID_FILTER` naming where the filter went wrong (e.g.
 * `filter.and[1].price.gt: expected a number or a string, got an object`), and `INVALID_CONFIG` for a bad
 * partial-index predicate.
 *
 * ### Examples
 * ```ts
 * const where = compileFilter(
 *   { type: 'article', 'author.name': 'Ada', price: { lt: 20 } },
 *   {
 *     metadataColumn: raw('"metadata"'),
 *     createdAtColumn: raw('"created_at"'),
 *     partialIndexPredicates: [{ key: 'type', value: 'article' }],
 *   },
 * );
 * ```
 *
 * The generated SQL (PostgreSQL), values `['author', 'name']`, `'Ada'`, `'price'`, `'price'`, `20`:
 * ```sql
 * ((("metadata" ->> 'type'::text) = 'article'::text)
 *  AND (("metadata" #>> $1::text[]) = $2::text)
 *  AND (CASE WHEN jsonb_typeof(("metadata" -> $3::text)) = 'number' THEN ("metadata" -> $4::text)::numeric < $5::numeric END))
 * ```
 */
export function compileFilter<M extends object = Record<string, unknown>>(
  filter: Filter<M> | undefined,
  options: CompileFilterOptions,
): Sql {
  const compiler = new Compiler(options);
  return filter === undefined ? TRUE : compiler.filter(filter, 'filter', 0);
}
