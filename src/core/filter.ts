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
 *   `or: []` nothing, `in: []` nothing, `nin: []` everything. A value may not be `undefined`
 *   (`{ tenant: undefined }` is refused, not ignored: an unset variable must not widen a filter).
 * - Equality and `in` are exact JSON equality, written as containment (`"metadata" @> '{"k": v}'`): a
 *   string equals only a JSON string (`{ code: '1' }` does not match the number `1`), a number only a number
 *   (`1` equals `1.0`), `true`/`false`/`null` only themselves; an array or object at the key never equals a
 *   scalar. Range operators (`gt`…) only match values of the operand's JSON type: strings compare as text
 *   (`->>`, the database's collation; ISO dates are strings), numbers numerically — `{ price: { gt: 10 } }`
 *   skips rows whose `price` is a string instead of failing the whole query on a cast, as
 *   `(metadata ->> 'price')::numeric > 10` would.
 * - A condition on a missing key is not met, and its negation (`ne`, `nin`, `not`) is: negations are
 *   written `IS NOT TRUE`, never plain `NOT`, so SQL NULLs cannot make a row vanish from both a filter and its
 *   negation.
 * - Values are ALWAYS bind parameters. A key is written as an SQL literal (`'price'`, a path `'{a,b}'`) when
 *   it is made of letters, digits and `_ - : @ /` (`LITERAL_KEY` of filter-expressions.ts: no quote,
 *   backslash, brace, comma or space, so the literal cannot end early and means the same under any
 *   `standard_conforming_strings`), so that an expression index can serve the range or `exists` on it; any
 *   other key is bound (correct, not index-servable). Equality and `in` bind the key inside their JSON
 *   document, whatever it is, and a GIN `jsonb_path_ops` index serves them.
 * - Where the table has a B-tree on a key's text (`CompileFilterOptions.textIndexKeys`, which the store
 *   reads from the table's indexes), an equality or `in` of strings on that key is written as
 *   `(("metadata" ->> 'k') = ANY($1::text[]))` (with a type test when a value could be another type's text): the same
 *   rows, served by that B-tree.
 * - One more literal: an equality that matches a configured {@link PartialIndexPredicate} is written as the
 *   predicate's literal SQL, because PostgreSQL proves that a query may use a partial index only by
 *   matching the predicate's expression, and cannot see through bind parameters when it reuses a generic
 *   plan (named prepared statements, `plan_cache_mode`, poolers). Predicates come from configuration and are
 *   validated strictly; the request only selects one. {@link AnalyzedFilter.partialPredicates} lists those
 *   that every selected row satisfies.
 *
 * Which index serves which operator (the DDL texts come from filter-expressions.ts):
 *
 * | operator | index |
 * |---|---|
 * | `eq`, `in`, `contains` (any key, nested paths too) | `USING gin ("metadata" jsonb_path_ops)` |
 * | `gt`/`gte`/`lt`/`lte` on a string | B-tree on `metadataStringExpression` (the string's text, else NULL: no per-row type test; see `CompileFilterOptions.stringIndexKeys`), or on `metadataTextExpression` (`(("metadata" ->> 'k'))`, with a type test beside it) |
 * | `gt`/`gte`/`lt`/`lte` on a number | B-tree on `metadataNumberExpression` (the CASE expression) |
 * | `eq` on a partial index's key and value | that partial index (its predicate is written literally) |
 * | `ne`, `nin`, `not`, `exists: false` | none (a negation selects most rows) |
 */

import { join, raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import { PgVectorError } from './errors.js';
import {
  isIndexableKeyPath,
  metadataJsonExpression,
  metadataNumberExpression,
  metadataStringExpression,
  metadataTextExpression,
} from './filter-expressions.js';
import {
  dateProblem,
  describeValue,
  MAX_DATE_YEAR,
  MIN_DATE_YEAR,
  quoted,
  textProblem,
} from './input-checks.js';

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
 * key `k` of `LITERAL_KEY` characters (see filter-expressions.ts); a path `a.b` uses `#>>`/`#>` with
 * `'{a,b}'` instead of `->>`/`->`, and nests the JSON documents (`{"a":{"b":v}}`):
 *
 * | operator | SQL |
 * |---|---|
 * | `eq: 's' \| 1 \| true \| null` | `("metadata" @> $1::jsonb)` (`$1` = `{"k":"s"}`) |
 * | `ne` | `(<eq> IS NOT TRUE)` |
 * | `in: ['a', 1]` | `("metadata" @> ANY($1::jsonb[]))` (`$1` = `['{"k":"a"}', '{"k":1}']`) |
 * | `nin` | `(<in> IS NOT TRUE)` |
 * | `gt: 10` | `((CASE WHEN jsonb_typeof(("metadata" -> 'k')) = 'number' THEN ("metadata" -> 'k')::numeric END) > $1::numeric)` |
 * | `gt: 'm'` | `(("metadata" ->> 'k') > $1::text AND jsonb_typeof(("metadata" -> 'k')) NOT IN ('number', 'boolean', 'object', 'array', 'null'))` |
 * | `exists: true` | `(("metadata" -> 'k') IS NOT NULL)` (`false`: `IS NULL`); a JSON `null` exists |
 * | `contains: ['x']` | `("metadata" @> $1::jsonb)` with `$1` = `{"k":["x"]}` |
 *
 * A key with other characters is bound where it would be a literal: `gt: 10` is then
 * `(CASE WHEN jsonb_typeof(("metadata" -> $1::text)) = 'number' THEN ("metadata" -> $2::text)::numeric > $3::numeric END)`,
 * `gt: 'm'` the same with `'string'` and `->>`, `exists` `(("metadata" -> $1::text) IS NOT NULL)`.
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
 * SQL so the planner can prove the partial index applies. `->>` reads numbers and booleans as text too, so
 * for a value like `'10'` or `'true'` the compiler adds the containment that keeps the equality exact:
 * `(((metadata ->> 'n'::text) = '10'::text) AND (metadata @> $1::jsonb))` (still provably the index's rows).
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
  /**
   * Key paths (segments joined with `.`) that have a B-tree on their text, `(("metadata" ->> 'k'))`: an
   * equality or `in` of strings on such a key is written as text equality that the B-tree serves,
   * `(("metadata" ->> 'k') = ANY($1::text[]))` — plus the type test `AND jsonb_typeof(("metadata" -> 'k'))
   * NOT IN ('number', 'boolean', 'object', 'array', 'null')`
   * when a value could also be the text of a number, boolean, object or array (`'7'`, `'true'`, `'{…'`) —
   * the same rows as the containment (a JSON string equal to the value), without GIN's recheck of `@>` on
   * every row it selects (measured: 1,000 rows of a 10-value `in` list, 3.0 ms over GIN, 2.1 ms over the
   * B-tree).
   */
  readonly textIndexKeys?: ReadonlySet<string>;
  /**
   * Key paths that have a B-tree on their string expression (`metadataStringExpression`: the text when the
   * value is a JSON string, else NULL): an equality, `in` or range of strings on such a key is written on
   * that expression, `((CASE WHEN jsonb_typeof(("metadata" -> 'k')) = 'string' THEN ("metadata" ->> 'k')
   * END) >= $1::text)` — exact on its own (no per-row type test) and served by that B-tree. Takes precedence
   * over {@link CompileFilterOptions.textIndexKeys}. Measured on PostgreSQL 17, 100,000 rows, a 1% date range
   * ranked exactly: 1.90 ms on the string expression, 2.34 ms on `->>` with its type test.
   */
  readonly stringIndexKeys?: ReadonlySet<string>;
  /**
   * `false`: leave out the type tests that go beside an expression index's condition (`AND
   * jsonb_typeof(…) = 'string'` of text ranges and text equality). For planner estimates only
   * ({@link AnalyzedFilter.estimateWhere}): PostgreSQL has no statistics of such a test and guesses it holds
   * on 0.5% of rows, which made a 1% date range of a million rows an estimate of 50. Default `true`.
   */
  readonly typeTests?: boolean;
}

const FIELD_OPERATORS = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'exists', 'contains'] as const;
type FieldOperator = (typeof FIELD_OPERATORS)[number];
const RANGE_SQL = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
type RangeOperator = keyof typeof RANGE_SQL;
const RANGE_OPERATORS = Object.keys(RANGE_SQL) as readonly RangeOperator[];

/** Deepest nesting of filter objects (`and`/`or`/`not`) and of a `contains` operand. */
export const MAX_FILTER_DEPTH = 32;
/**
 * Most conditions in one filter: every operator (a scalar shorthand is one `eq`), every `createdAt` bound and
 * every member of `and` / `or` / `not` counts one. A filter of 1,000 conditions binds at most ~3,000
 * parameters (PostgreSQL's limit per statement is 65,535) and compiles in milliseconds.
 */
export const MAX_FILTER_CONDITIONS = 1_000;
/** Most values in one `in` / `nin` list, and most JSON values in one `contains` operand. */
export const MAX_FILTER_LIST = 10_000;

const PREDICATE_KEY = /^[\p{L}\p{N}_\-:/@ ]{1,200}$/u;
const PREDICATE_VALUE = /^[\p{L}\p{N}_\-:/@. ]{1,200}$/u;
const TRUE = raw('TRUE');
const FALSE = raw('FALSE');

function filterError(path: string, message: string): PgVectorError {
  return new PgVectorError('INVALID_FILTER', `${path}: ${message}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  const kind = describeValue(value);
  return kind.startsWith('an object') ? 'an object' : kind === 'an Invalid Date' ? 'a Date' : kind;
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

/** Refuses text PostgreSQL cannot take as it is (NUL, lone surrogates), naming what it is. */
function checkText(text: string, path: string, what: 'key' | 'value'): string {
  const problem = textProblem(text);
  if (problem !== undefined) throw filterError(path, `the ${what} has ${problem}`);
  return text;
}

/** The own enumerable string-keyed entries of an object, each property read exactly once. */
function entriesOf(value: object): [string, unknown][] {
  return Object.entries(value);
}

function isScalar(value: unknown, path: string): value is JsonScalar {
  if (typeof value === 'number' && !Number.isFinite(value))
    throw filterError(path, `${value} is not a finite number`);
  if (typeof value === 'string') checkText(value, path, 'value');
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

function undefinedError(path: string): PgVectorError {
  return filterError(path, 'is undefined (an unset variable?); leave the key out, or give a value');
}

/**
 * A `contains` operand, validated and copied (each property read once): what is checked is what is sent.
 * Counts its values against {@link MAX_FILTER_LIST}.
 */
class JsonCopier {
  private values = 0;
  private readonly open = new Set<object>();

  constructor(private readonly root: string) {}

  copy(value: unknown, path: string, depth: number): unknown {
    if (depth > MAX_FILTER_DEPTH) throw filterError(path, `nested deeper than ${MAX_FILTER_DEPTH} levels`);
    if (++this.values > MAX_FILTER_LIST) throw filterError(this.root, `more than ${MAX_FILTER_LIST} values`);
    if (value === undefined) throw undefinedError(path);
    if (isScalar(value, path)) return value;
    const array = Array.isArray(value);
    if (!array && !isPlainObject(value))
      throw filterError(path, `expected a JSON value, got ${describe(value)}`);
    const object = value as object;
    if (this.open.has(object)) throw filterError(path, 'refers back to an enclosing value (a cycle)');
    this.open.add(object);
    try {
      if (array) {
        const items = Array.from(value as unknown[]);
        return items.map((v, i) => this.copy(v, `${path}[${i}]`, depth + 1));
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of entriesOf(object)) {
        const at = keyPath(path, k);
        checkText(k, at, 'key');
        Object.defineProperty(out, k, {
          value: this.copy(v, at, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    } finally {
      this.open.delete(object);
    }
  }
}

/**
 * Checks partial-index predicates from configuration. Throws `INVALID_CONFIG` for a key or value outside
 * the allowed characters (see {@link PartialIndexPredicate}).
 */
function shownSetting(value: unknown): string {
  if (typeof value === 'string') return quoted(value, 200);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : describeValue(value);
}

/** Predicates already checked: frozen ones (the store's configuration) cannot change after their check. */
const CHECKED_PREDICATES = new WeakSet<PartialIndexPredicate>();

function checkPredicate(p: PartialIndexPredicate): void {
  if (typeof p === 'object' && p !== null && CHECKED_PREDICATES.has(p)) return;
  const key: unknown = p?.key;
  if (typeof key !== 'string' || !PREDICATE_KEY.test(key)) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `partial index key ${shownSetting(key)} must be 1-200 letters, digits, spaces or _ - : / @`,
    );
  }
  const value: unknown = p.value;
  if (typeof value !== 'string' || !PREDICATE_VALUE.test(value)) {
    throw new PgVectorError(
      'INVALID_CONFIG',
      `partial index value ${shownSetting(value)} for key '${key}' must be 1-200 letters, digits, spaces or _ - : / @ .`,
    );
  }
  if (Object.isFrozen(p)) CHECKED_PREDICATES.add(p);
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

/**
 * The meaning of a filter as a tree, simplified before it is written as SQL: constants fold (`and: []` is
 * TRUE, `or: []` FALSE, `not` of a constant its opposite), and a condition OR-ed with its own negation is
 * TRUE (AND-ed: FALSE). Every negation in the language is "is not TRUE" (NULL-safe), so `c OR NOT c` holds on
 * every row, a missing key included.
 */
type FilterNode =
  | { readonly kind: 'const'; readonly value: boolean }
  | Leaf
  | { readonly kind: 'and' | 'or'; readonly parts: readonly FilterNode[]; readonly id: string }
  | { readonly kind: 'not'; readonly part: FilterNode; readonly id: string };

const CONST_TRUE: FilterNode = { kind: 'const', value: true };
const CONST_FALSE: FilterNode = { kind: 'const', value: false };

function constant(value: boolean): FilterNode {
  return value ? CONST_TRUE : CONST_FALSE;
}

/** A stable identity of a condition: its SQL and values (Dates by time). */
function sqlId(s: Sql): string {
  return JSON.stringify([s.text, s.values]);
}

function nodeId(node: FilterNode): string {
  return node.kind === 'const' ? String(node.value) : node.id;
}

/** The id of what `node` is the negation of, if it is one. */
function negated(node: FilterNode): string | undefined {
  if (node.kind === 'not') return nodeId(node.part);
  if (node.kind === 'leaf') return node.negates;
  return undefined;
}

/**
 * A condition. Its id (the SQL and values, serialized) is computed when first asked for: a filter of one
 * condition never needs it, and searches compile their filter each time.
 */
class Leaf {
  readonly kind = 'leaf' as const;
  private ownId: string | undefined;
  constructor(
    readonly sql: Sql,
    private readonly negatesNode: FilterNode | undefined,
    /** The configured predicate this condition is written as (an `eq` on a partial index's key). */
    readonly predicate: PartialIndexPredicate | undefined,
    /** What the condition asks of one indexable expression, when it is that simple (see {@link StatCondition}). */
    readonly stat: StatCondition | undefined,
  ) {}

  get id(): string {
    this.ownId ??= sqlId(this.sql);
    return this.ownId;
  }

  /** The id of the condition this one is the negation of. */
  get negates(): string | undefined {
    return this.negatesNode === undefined ? undefined : nodeId(this.negatesNode);
  }
}

function leaf(
  s: Sql,
  about: {
    readonly negates?: FilterNode;
    readonly predicate?: PartialIndexPredicate;
    readonly stat?: StatCondition;
  } = {},
): FilterNode {
  if (s === TRUE) return CONST_TRUE;
  if (s === FALSE) return CONST_FALSE;
  return new Leaf(s, about.negates, about.predicate, about.stat);
}

/** The conditions of a filter that is one {@link StatCondition} or an `and` of them; else undefined. */
function statConditions(tree: FilterNode): readonly StatCondition[] | undefined {
  const parts = tree.kind === 'and' ? tree.parts : [tree];
  const found: StatCondition[] = [];
  for (const part of parts) {
    if (part.kind !== 'leaf' || part.stat === undefined) return undefined;
    found.push(part.stat);
  }
  return found.length === 0 ? undefined : found;
}

/** The partial-index predicates written as literals among the top-level conjuncts of a filter. */
function conjunctPredicates(tree: FilterNode): PartialIndexPredicate[] {
  const conjuncts = tree.kind === 'and' ? tree.parts : [tree];
  const found: PartialIndexPredicate[] = [];
  for (const c of conjuncts) {
    if (c.kind === 'leaf' && c.predicate !== undefined && !found.includes(c.predicate))
      found.push(c.predicate);
  }
  return found;
}

function junction(kind: 'and' | 'or', parts: readonly FilterNode[]): FilterNode {
  // `and`: TRUE is neutral, FALSE absorbs; `or` the other way round.
  const neutral = kind === 'and';
  const [only] = parts;
  // One condition (the usual filter of one key): nothing to fold, no id to compute.
  if (parts.length === 1 && only !== undefined && only.kind !== 'const') return only;
  const kept: FilterNode[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    if (part.kind === 'const') {
      if (part.value === neutral) continue;
      return constant(!neutral);
    }
    const flat = part.kind === kind ? part.parts : [part];
    for (const p of flat) {
      const id = nodeId(p);
      if (!seen.has(id)) {
        seen.add(id);
        kept.push(p);
      }
    }
  }
  for (const p of kept) {
    const opposite = negated(p);
    if (opposite !== undefined && seen.has(opposite)) return constant(!neutral);
  }
  if (kept.length === 0) return constant(neutral);
  if (kept.length === 1) return kept[0] as FilterNode;
  return { kind, parts: kept, id: `${kind}(${kept.map(nodeId).join(',')})` };
}

function negation(part: FilterNode): FilterNode {
  if (part.kind === 'const') return constant(!part.value);
  return { kind: 'not', part, id: `not(${nodeId(part)})` };
}

function nodeSql(node: FilterNode): Sql {
  switch (node.kind) {
    case 'const':
      return node.value ? TRUE : FALSE;
    case 'leaf':
      return node.sql;
    case 'not':
      return sql`(${nodeSql(node.part)} IS NOT TRUE)`;
    default:
      return sql`(${join(node.parts.map(nodeSql), node.kind === 'and' ? ' AND ' : ' OR ')})`;
  }
}

class Compiler {
  private readonly m: Sql;
  private readonly createdAt: Sql;
  private readonly predicates: readonly PartialIndexPredicate[];
  private readonly textKeys: ReadonlySet<string>;
  private readonly stringKeys: ReadonlySet<string>;
  private readonly typeTests: boolean;
  /** Whether a type test beside a text condition was written (the estimate form then differs). */
  wroteTypeTest = false;
  private conditions = 0;
  private readonly open = new Set<object>();

  constructor(options: CompileFilterOptions) {
    this.m = options.metadataColumn;
    this.createdAt = options.createdAtColumn;
    this.predicates = options.partialIndexPredicates ?? [];
    this.predicates.forEach(checkPredicate);
    this.textKeys = options.textIndexKeys ?? new Set();
    this.stringKeys = options.stringIndexKeys ?? new Set();
    this.typeTests = options.typeTests !== false;
  }

  /** Counts one condition against {@link MAX_FILTER_CONDITIONS}. */
  private count(path: string): void {
    if (++this.conditions > MAX_FILTER_CONDITIONS) {
      throw filterError(
        path,
        `the filter has more than ${MAX_FILTER_CONDITIONS} conditions; split the work, or use in: [...] lists`,
      );
    }
  }

  filter(node: unknown, path: string, depth: number): FilterNode {
    if (depth > MAX_FILTER_DEPTH) throw filterError(path, `nested deeper than ${MAX_FILTER_DEPTH} levels`);
    if (node === undefined) throw undefinedError(path);
    if (!isPlainObject(node)) throw filterError(path, `expected a filter object, got ${describe(node)}`);
    if (this.open.has(node)) throw filterError(path, 'refers back to an enclosing value (a cycle)');
    this.open.add(node);
    try {
      const parts: FilterNode[] = [];
      for (const [key, value] of entriesOf(node)) {
        const at = keyPath(path, key);
        if (value === undefined) throw undefinedError(at);
        switch (key) {
          case 'and':
          case 'or':
            parts.push(this.logical(key, value, at, depth));
            break;
          case 'not':
            this.count(at);
            parts.push(negation(this.filter(value, at, depth + 1)));
            break;
          case 'createdAt':
            parts.push(...this.dateRange(value, at));
            break;
          default:
            parts.push(...this.field(checkText(key, at, 'key'), value, at));
        }
      }
      return junction('and', parts);
    } finally {
      this.open.delete(node);
    }
  }

  private logical(kind: 'and' | 'or', value: unknown, path: string, depth: number): FilterNode {
    if (!Array.isArray(value))
      throw filterError(path, `expected an array of filters, got ${describe(value)}`);
    const members = Array.from(value as unknown[]);
    const parts = members.map((f, i) => {
      const at = `${path}[${i}]`;
      this.count(at);
      return this.filter(f, at, depth + 1);
    });
    return junction(kind, parts);
  }

  private dateRange(value: unknown, path: string): FilterNode[] {
    if (!isPlainObject(value))
      throw filterError(path, `expected { gt, gte, lt, lte } with Dates, got ${describe(value)}`);
    const parts: FilterNode[] = [];
    for (const [op, date] of entriesOf(value)) {
      const at = keyPath(path, op);
      if (date === undefined) throw undefinedError(at);
      if (!isRangeOperator(op)) {
        throw filterError(at, `unknown operator '${op}'; createdAt accepts: gt, gte, lt, lte`);
      }
      const problem = dateProblem(date);
      if (problem !== undefined) {
        throw filterError(
          at,
          `expected a valid Date in years ${MIN_DATE_YEAR}-${MAX_DATE_YEAR}, got ${problem.startsWith('a Date') || problem === 'an Invalid Date' ? problem : describe(date)}`,
        );
      }
      this.count(at);
      // A copy: the caller's Date could change before the query is sent.
      const copy = new Date((date as Date).getTime());
      parts.push(
        leaf(sql`(${this.createdAt} ${raw(RANGE_SQL[op])} ${copy})`, {
          stat: { kind: 'createdAt', path: '', op, values: [copy] },
        }),
      );
    }
    if (parts.length === 0) throw filterError(path, 'expected at least one of gt, gte, lt, lte');
    return parts;
  }

  private field(key: string, value: unknown, path: string): FilterNode[] {
    const segments = key.split('.');
    if (segments.some((s) => s === '')) {
      throw filterError(path, `metadata key ${JSON.stringify(key)} is empty or has an empty path segment`);
    }
    if (Array.isArray(value)) {
      throw filterError(path, 'an array is not a condition: use { in: [...] } or { contains: [...] }');
    }
    if (isScalar(value, path)) {
      this.count(path);
      return [this.eq(segments, value)];
    }
    if (!isPlainObject(value))
      throw filterError(path, `expected a value or an operator object, got ${describe(value)}`);
    const parts: FilterNode[] = [];
    for (const [op, operand] of entriesOf(value)) {
      const at = keyPath(path, op);
      if (operand === undefined) throw undefinedError(at);
      this.count(at);
      parts.push(this.operator(segments, op, operand, at));
    }
    if (parts.length === 0)
      throw filterError(path, `expected at least one operator: ${FIELD_OPERATORS.join(', ')}`);
    return parts;
  }

  private operator(segments: string[], op: string, operand: unknown, path: string): FilterNode {
    if (!isFieldOperator(op)) {
      throw filterError(path, `unknown operator '${op}'; valid operators: ${FIELD_OPERATORS.join(', ')}`);
    }
    switch (op) {
      case 'eq':
        return this.eq(segments, scalar(operand, path));
      case 'ne': {
        const eq = this.eq(segments, scalar(operand, path));
        return leaf(sql`(${nodeSql(eq)} IS NOT TRUE)`, { negates: eq });
      }
      case 'in': {
        const list = this.in(segments, scalarList(operand, path));
        return leaf(list.sql, list.stat === undefined ? {} : { stat: list.stat });
      }
      case 'nin': {
        const inList = leaf(this.in(segments, scalarList(operand, path)).sql);
        return inList.kind === 'const'
          ? negation(inList)
          : leaf(sql`(${nodeSql(inList)} IS NOT TRUE)`, { negates: inList });
      }
      case 'exists': {
        if (typeof operand !== 'boolean')
          throw filterError(path, `expected true or false, got ${describe(operand)}`);
        const exists = leaf(sql`(${this.json(segments)} IS NOT NULL)`);
        return operand ? exists : leaf(sql`(${this.json(segments)} IS NULL)`, { negates: exists });
      }
      case 'contains': {
        const copy = new JsonCopier(path).copy(operand, path, 0);
        return leaf(sql`(${this.m} @> ${JSON.stringify(nest(segments, copy))}::jsonb)`);
      }
      default: {
        const range = this.range(segments, op, operand, path);
        return leaf(range.sql, range.stat === undefined ? {} : { stat: range.stat });
      }
    }
  }

  /**
   * True when strings at this path are better written as text equality: a B-tree on the path's text
   * exists ({@link CompileFilterOptions.textIndexKeys}) and the path can be written as a literal.
   */
  private textIndexed(segments: string[]): boolean {
    return this.textKeys.has(segments.join('.')) && this.literalColumn(segments) !== undefined;
  }

  /**
   * The string expression of a path when a B-tree on it exists ({@link CompileFilterOptions.stringIndexKeys})
   * and the path can be written as a literal; else undefined.
   */
  private stringIndexed(segments: string[]): Sql | undefined {
    const column = this.literalColumn(segments);
    if (column === undefined || !this.stringKeys.has(segments.join('.'))) return undefined;
    return raw(metadataStringExpression(column, segments));
  }

  /** `(string expression = ANY(values))`: exact equality with JSON strings, served by its B-tree. */
  private stringEquality(expression: Sql, values: readonly string[]): Sql {
    return values.length === 1
      ? sql`(${expression} = ${values[0]}::text)`
      : sql`(${expression} = ANY(${values}::text[]))`;
  }

  /**
   * `(text = ANY(values) AND it is a JSON string)`: exact equality with JSON strings, B-tree-servable. The
   * type test is left out when no value could be the text of another JSON type (`->>` renders numbers,
   * booleans, objects and arrays as text, and JSON null as SQL NULL): `'t7'` can only be the string "t7".
   */
  private textEquality(segments: string[], values: readonly string[]): Sql {
    const typed = this.typeTests && values.some((v) => !onlyAStringReadsAs(v));
    if (typed) this.wroteTypeTest = true;
    const isString = typed ? sql` AND ${notAnotherType(this.json(segments))}` : sql``;
    return values.length === 1
      ? sql`(${this.text(segments)} = ${values[0]}::text${isString})`
      : sql`(${this.text(segments)} = ANY(${values}::text[])${isString})`;
  }

  private eq(segments: string[], value: JsonScalar): FilterNode {
    const string = typeof value === 'string' ? this.stringIndexed(segments) : undefined;
    const text = string === undefined && typeof value === 'string' && this.textIndexed(segments);
    const contains =
      string !== undefined
        ? this.stringEquality(string, [value as string])
        : text
          ? this.textEquality(segments, [value as string])
          : sql`(${this.m} @> ${JSON.stringify(nest(segments, value))}::jsonb)`;
    const predicate =
      typeof value === 'string' && segments.length === 1
        ? this.predicates.find((p) => p.key === segments[0] && p.value === value)
        : undefined;
    if (predicate === undefined) {
      if (string === undefined && !text) return leaf(contains);
      const kind = string !== undefined ? 'string' : 'text';
      return leaf(contains, {
        stat: { kind, path: segments.join('.'), op: 'eq', values: [value as string] },
      });
    }
    // `->>` renders numbers and booleans as text too: where one could read as the value, the containment
    // keeps the equality exact (the planner still proves the partial index from the first conjunct).
    const literal = partialIndexPredicateSql(this.m, predicate);
    return leaf(textMeansString(predicate.value) ? literal : sql`(${literal} AND ${contains})`, {
      predicate,
    });
  }

  private in(segments: string[], values: readonly JsonScalar[]): { sql: Sql; stat?: StatCondition } {
    if (values.length === 0) return { sql: FALSE };
    const strings = values.every((v) => typeof v === 'string');
    const string = strings ? this.stringIndexed(segments) : undefined;
    const stat = (kind: 'text' | 'string'): StatCondition => ({
      kind,
      path: segments.join('.'),
      op: 'in',
      values: values as readonly string[],
    });
    if (string !== undefined) {
      return { sql: this.stringEquality(string, values as readonly string[]), stat: stat('string') };
    }
    if (strings && this.textIndexed(segments)) {
      return { sql: this.textEquality(segments, values as readonly string[]), stat: stat('text') };
    }
    const docs = values.map((v) => JSON.stringify(nest(segments, v)));
    return { sql: sql`(${this.m} @> ANY(${docs}::jsonb[]))` };
  }

  private range(
    segments: string[],
    op: RangeOperator,
    operand: unknown,
    path: string,
  ): { sql: Sql; stat?: StatCondition } {
    const cmp = raw(RANGE_SQL[op]);
    const column = this.literalColumn(segments);
    const stat = (kind: StatCondition['kind'], value: string | number): StatCondition => ({
      kind,
      path: segments.join('.'),
      op,
      values: [value],
    });
    if (typeof operand === 'number') {
      if (!Number.isFinite(operand)) throw filterError(path, `${operand} is not a finite number`);
      if (column !== undefined) {
        return {
          sql: sql`(${raw(metadataNumberExpression(column, segments))} ${cmp} ${operand}::numeric)`,
          stat: stat('number', operand),
        };
      }
      return {
        sql: sql`(CASE WHEN jsonb_typeof(${this.json(segments)}) = 'number' THEN ${this.json(segments)}::numeric ${cmp} ${operand}::numeric END)`,
      };
    }
    if (typeof operand === 'string') {
      checkText(operand, path, 'value');
      const string = this.stringIndexed(segments);
      if (string !== undefined)
        return { sql: sql`(${string} ${cmp} ${operand}::text)`, stat: stat('string', operand) };
      if (column !== undefined) {
        // `->>` never fails, so the type test can be a plain conjunct (the B-tree serves the first one).
        if (!this.typeTests) {
          return { sql: sql`(${this.text(segments)} ${cmp} ${operand}::text)`, stat: stat('text', operand) };
        }
        this.wroteTypeTest = true;
        return {
          sql: sql`(${this.text(segments)} ${cmp} ${operand}::text AND ${notAnotherType(this.json(segments))})`,
          stat: stat('text', operand),
        };
      }
      return {
        sql: sql`(CASE WHEN jsonb_typeof(${this.json(segments)}) = 'string' THEN ${this.text(segments)} ${cmp} ${operand}::text END)`,
      };
    }
    throw filterError(path, `expected a number or a string, got ${describe(operand)}`);
  }

  /**
   * The metadata column's text when `segments` can be written as literals into the expressions of
   * filter-expressions.ts (the ones index DDL uses); undefined when the path must stay bound.
   */
  private literalColumn(segments: readonly string[]): string | undefined {
    return this.m.values.length === 0 && isIndexableKeyPath(segments) ? this.m.text : undefined;
  }

  /** The value at a path as text: `("metadata" ->> 'k')`, or `->> $1::text` for a key that must be bound. */
  private text(segments: string[]): Sql {
    const column = this.literalColumn(segments);
    if (column !== undefined) return raw(metadataTextExpression(column, segments));
    return segments.length === 1
      ? sql`(${this.m} ->> ${segments[0]}::text)`
      : sql`(${this.m} #>> ${segments}::text[])`;
  }

  /** The value at a path as jsonb: `("metadata" -> 'k')`, or `-> $1::text` for a key that must be bound. */
  private json(segments: string[]): Sql {
    const column = this.literalColumn(segments);
    if (column !== undefined) return raw(metadataJsonExpression(column, segments));
    return segments.length === 1
      ? sql`(${this.m} -> ${segments[0]}::text)`
      : sql`(${this.m} #> ${segments}::text[])`;
  }
}

/**
 * Whether `("metadata" ->> 'k') = 'value'` holds on the JSON string `value` only: no JSON number (printed
 * as plain decimal digits) or boolean reads as this text.
 */
function textMeansString(value: string): boolean {
  return !/^-?[0-9]+(\.[0-9]+)?$/.test(value) && value !== 'true' && value !== 'false';
}

/**
 * The type test beside a text condition on `->>` (which is NULL for a missing key, so only the other JSON
 * types need excluding): `jsonb_typeof(…) NOT IN ('number', 'boolean', 'object', 'array', 'null')`, not `=
 * 'string'`. Same rows, but PostgreSQL, which has no statistics of the test, guesses an equality holds on
 * 0.5% of rows and each inequality on 99.5%: with `= 'string'` a 1% date range of a million rows was
 * estimated at 50 rows, and the search was planned as a B-tree scan and a sort of 10,000 rows.
 */
function notAnotherType(json: Sql): Sql {
  return sql`jsonb_typeof(${json}) NOT IN ('number', 'boolean', 'object', 'array', 'null')`;
}

/**
 * Whether only a JSON string reads as `value` through `->>`: {@link textMeansString}, and not the text of an
 * object or array (which `->>` renders as JSON, starting with `{` or `[`).
 */
function onlyAStringReadsAs(value: string): boolean {
  return textMeansString(value) && !/^[[{]/.test(value);
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
  const values = Array.from(operand as unknown[]);
  if (values.length > MAX_FILTER_LIST) throw filterError(path, `more than ${MAX_FILTER_LIST} values`);
  return values.map((v, i) => {
    if (v === undefined) throw undefinedError(`${path}[${i}]`);
    return scalar(v, `${path}[${i}]`);
  });
}

function nest(segments: readonly string[], value: unknown): unknown {
  return segments.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

/** A compiled filter and what it means. */
export interface AnalyzedFilter {
  /** The SQL boolean expression, for `WHERE ${…}`: `TRUE` / `FALSE` when the filter means every / no row. */
  readonly where: Sql;
  /** The filter holds on every row, whatever the table holds (`{}`, `{ and: [{}, {}] }`, `{ not: { or: [] } }`). */
  readonly everyRow: boolean;
  /** The filter holds on no row (`{ or: [] }`, `{ a: { in: [] } }`). */
  readonly noRow: boolean;
  /**
   * The configured {@link PartialIndexPredicate}s that are top-level conjuncts of the filter, written as
   * their literal SQL: every row the filter selects satisfies each, so a partial index with that predicate
   * can serve the query (`{ type: 'article', price: { lt: 5 } }` → `[{ key: 'type', value: 'article' }]`;
   * none for `{ or: [{ type: 'article' }, …] }` or `{ type: { in: ['article'] } }`). The objects are the
   * configured ones.
   */
  readonly partialPredicates: readonly PartialIndexPredicate[];
  /**
   * The same filter without the type tests beside expression-index conditions
   * ({@link CompileFilterOptions.typeTests}): for the planner's row estimate only — it selects the same rows
   * or more (values of another JSON type whose text falls in a range).
   */
  readonly estimateWhere: Sql;
  /**
   * When the filter is one condition on an indexable expression, or an `and` of such conditions: what each
   * asks (the store estimates them from the statistics of the indexes on those expressions); else absent.
   */
  readonly conditions?: readonly StatCondition[];
}

/**
 * One condition on one indexable expression, as the filter compiler wrote it: `eq` / `in` on the text
 * (`kind: 'text'`, `("metadata" ->> 'k')`) or string expression (`'string'`) of a metadata key, a range on
 * its text, string or number expression (`'number'`), or a `createdAt` range (`'createdAt'`, `path` empty).
 * The values are the operands as bound (strings, numbers, Dates).
 */
export interface StatCondition {
  readonly kind: 'text' | 'string' | 'number' | 'createdAt';
  /** The key path, segments joined by `.` (empty for `createdAt`). */
  readonly path: string;
  readonly op: 'eq' | 'in' | RangeOperator;
  readonly values: readonly (string | number | Date)[];
}

/**
 * Validates a filter, works out what it means and compiles it: {@link compileFilter} plus whether the filter
 * holds on every row or on none. The store's `deleteWhere` refuses a filter that means every row (unless
 * `{ all: true }`), however it is written.
 *
 * ### Examples
 * ```ts
 * analyzeFilter({ and: [{}, { not: { or: [] } }] }, options).everyRow; // true
 * analyzeFilter({ or: [{ lang: 'en' }, { lang: { ne: 'en' } }] }, options).everyRow; // true
 * ```
 */
export function analyzeFilter<M extends object = Record<string, unknown>>(
  filter: Filter<M> | undefined,
  options: CompileFilterOptions,
): AnalyzedFilter {
  const compiler = new Compiler(options);
  const tree = filter === undefined ? CONST_TRUE : compiler.filter(filter, 'filter', 0);
  const where = nodeSql(tree);
  // Validated above: the second pass only writes the same conditions without their type tests.
  const estimateWhere = !compiler.wroteTypeTest
    ? where
    : nodeSql(new Compiler({ ...options, typeTests: false }).filter(filter, 'filter', 0));
  const conditions = statConditions(tree);
  return {
    where,
    estimateWhere,
    everyRow: tree.kind === 'const' && tree.value,
    noRow: tree.kind === 'const' && !tree.value,
    partialPredicates: conjunctPredicates(tree),
    ...(conditions === undefined ? {} : { conditions }),
  };
}

/**
 * Validates a filter and compiles it into one SQL boolean expression, for `WHERE ${…}`. An absent or empty
 * filter compiles to `TRUE`; a filter that means every row however it is written (`{ and: [{}, {}] }`,
 * `{ not: { or: [] } }`, `{ or: [c, { not: c }] }`) compiles to `TRUE` too, one that means no row to
 * `FALSE`. Throws `INVALID_FILTER` naming where the filter went wrong (e.g.
 * `filter.and[1].price.gt: expected a number or a string, got an object`) — also for an `undefined` value
 * (an unset variable must not widen a filter), text with NUL characters or unpaired surrogates, Dates outside
 * years 1-9999, cycles, and filters over the limits ({@link MAX_FILTER_CONDITIONS},
 * {@link MAX_FILTER_DEPTH}, {@link MAX_FILTER_LIST}) — and `INVALID_CONFIG` for a bad partial-index
 * predicate. Each property of the filter is read once: what is validated is what is compiled.
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
 * The generated SQL (PostgreSQL), values `'{"author":{"name":"Ada"}}'`, `20`:
 * ```sql
 * ((("metadata" ->> 'type'::text) = 'article'::text)
 *  AND ("metadata" @> $1::jsonb)
 *  AND ((CASE WHEN jsonb_typeof(("metadata" -> 'price')) = 'number' THEN ("metadata" -> 'price')::numeric END) < $2::numeric))
 * ```
 */
export function compileFilter<M extends object = Record<string, unknown>>(
  filter: Filter<M> | undefined,
  options: CompileFilterOptions,
): Sql {
  return analyzeFilter(filter, options).where;
}
