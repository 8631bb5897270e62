/**
 * The index-servable SQL forms of metadata filters, as TEXT: one place that both the filter compiler (which
 * writes them into queries) and the index tooling (which writes them into `CREATE INDEX` and `@@index`) use,
 * so that the planner sees the same expression on both sides. PostgreSQL matches an expression index only
 * when the query's expression is the indexed one, constants included: a key bound as a parameter
 * (`"metadata" ->> $1`) can never use `(("metadata" ->> 'tenant'))`. Keys therefore become SQL literals here,
 * but only keys made of {@link LITERAL_KEY} characters (no quote, backslash, brace, comma, space or control
 * character): such a literal means the same under any `standard_conforming_strings`, and cannot end early.
 * Other keys stay bound parameters (correct, not index-servable).
 *
 * The forms (column `"metadata"`, key `price`; a path `a.b` uses `#>` / `#>>` with `'{a,b}'`):
 *
 * | use | expression | index that serves it |
 * |---|---|---|
 * | equality, `in`, `contains` | `"metadata" @> $1::jsonb` (key inside the bound JSON) | `USING gin ("metadata" jsonb_path_ops)` |
 * | text equality, `in`, ranges (ISO dates too) | `("metadata" ->> 'price')` | `((("metadata" ->> 'price')))` B-tree |
 * | numeric ranges | `(CASE WHEN jsonb_typeof(("metadata" -> 'price')) = 'number' THEN ("metadata" -> 'price')::numeric END)` | the same expression, B-tree |
 * | string equality, `in`, ranges, with no per-row type test | `(CASE WHEN jsonb_typeof(("metadata" -> 'day')) = 'string' THEN ("metadata" ->> 'day') END)` | the same expression, B-tree |
 */

/** Characters a key (or path segment) may have to be written as a literal: letters, digits, `_ - : @ /`. */
export const LITERAL_KEY = /^[\p{L}\p{N}_\-:@/]{1,200}$/u;

/** True when every segment of a key path can be written as an SQL literal (see {@link LITERAL_KEY}). */
export function isLiteralKeyPath(segments: readonly string[]): boolean {
  return segments.length > 0 && segments.every(isLiteralKey);
}

/** {@link LITERAL_KEY} of one segment, remembered: a filter's keys are tested several times per search. */
function isLiteralKey(segment: string): boolean {
  let known = LITERAL_KEYS.get(segment);
  if (known === undefined) {
    known = LITERAL_KEY.test(segment);
    if (LITERAL_KEYS.size >= 1024) LITERAL_KEYS.clear();
    LITERAL_KEYS.set(segment, known);
  }
  return known;
}

const LITERAL_KEYS = new Map<string, boolean>();

function literalPath(segments: readonly string[]): string {
  if (!isLiteralKeyPath(segments)) {
    throw new TypeError(`key path ${JSON.stringify(segments.join('.'))} cannot be written as an SQL literal`);
  }
  return segments.length === 1 ? `'${segments[0]}'` : `'{${segments.join(',')}}'`;
}

/**
 * The value at a key path as jsonb: `("metadata" -> 'k')`, or `("metadata" #> '{a,b}')`. `column` is an
 * already-quoted column reference. Throws a TypeError for a path that fails {@link isLiteralKeyPath}.
 */
export function metadataJsonExpression(column: string, segments: readonly string[]): string {
  return `(${column} ${segments.length === 1 ? '->' : '#>'} ${literalPath(segments)})`;
}

/** The value at a key path as text: `("metadata" ->> 'k')`, or `("metadata" #>> '{a,b}')`. */
export function metadataTextExpression(column: string, segments: readonly string[]): string {
  return `(${column} ${segments.length === 1 ? '->>' : '#>>'} ${literalPath(segments)})`;
}

/**
 * The value at a key path as numeric, NULL unless it is a JSON number (never a cast error):
 * `(CASE WHEN jsonb_typeof(("metadata" -> 'k')) = 'number' THEN ("metadata" -> 'k')::numeric END)`.
 * Immutable, so it can be indexed.
 */
export function metadataNumberExpression(column: string, segments: readonly string[]): string {
  const json = metadataJsonExpression(column, segments);
  return `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN ${json}::numeric END)`;
}

/**
 * The value at a key path as text, NULL unless it is a JSON string:
 * `(CASE WHEN jsonb_typeof(("metadata" -> 'k')) = 'string' THEN ("metadata" ->> 'k') END)`. Immutable, so it
 * can be indexed; a string condition on it needs no type test of its own (`->>` alone also reads numbers,
 * booleans, objects and arrays as text, so a condition on it carries a per-row `jsonb_typeof` test).
 */
export function metadataStringExpression(column: string, segments: readonly string[]): string {
  const json = metadataJsonExpression(column, segments);
  return `(CASE WHEN jsonb_typeof(${json}) = 'string' THEN ${metadataTextExpression(column, segments)} END)`;
}

/**
 * True when the literal of a key path means that path: {@link isLiteralKeyPath}, and, for a path of several
 * segments, no segment that an array literal reads as NULL (`'{a,null}'` is `ARRAY['a', NULL]`, any case:
 * `#>` with it is always NULL, so the expression would never see the key `null`). Such a path stays a bound
 * parameter.
 */
export function isIndexableKeyPath(segments: readonly string[]): boolean {
  return isLiteralKeyPath(segments) && (segments.length === 1 || !segments.some((s) => /^null$/i.test(s)));
}

/**
 * The key path of a text expression as `pg_get_indexdef(index, 1, true)` deparses it for the metadata column
 * named `column` (unquoted name): `(metadata ->> 'tenant'::text)` → `['tenant']`,
 * `(metadata #>> '{a,b}'::text[])` → `['a', 'b']`; `undefined` for any other expression or a path that is
 * not {@link isIndexableKeyPath}.
 */
export function textExpressionKeyPath(column: string, deparsed: string): string[] | undefined {
  const name = /^[a-z_][a-z0-9_$]*$/.test(column) ? column : `"${column.replaceAll('"', '""')}"`;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const one = new RegExp(`^\\(${escaped} ->> '([^']*)'::text\\)$`).exec(deparsed);
  const many = new RegExp(`^\\(${escaped} #>> '\\{([^'}]*)\\}'::text\\[\\]\\)$`).exec(deparsed);
  const segments =
    one !== null ? [one[1] as string] : many !== null ? (many[1] as string).split(',') : undefined;
  return segments !== undefined && isIndexableKeyPath(segments) ? segments : undefined;
}

/**
 * The key path of a string expression ({@link metadataStringExpression}) as `pg_get_indexdef(index, 1, true)`
 * deparses it for the metadata column named `column` (whitespace aside): `CASE WHEN jsonb_typeof(metadata ->
 * 'day'::text) = 'string'::text THEN metadata ->> 'day'::text ELSE NULL::text END` → `['day']`; `undefined`
 * for any other expression.
 */
export function stringExpressionKeyPath(column: string, deparsed: string): string[] | undefined {
  return caseExpressionKeyPath(column, deparsed, 'string');
}

/**
 * The key path of a number expression ({@link metadataNumberExpression}) as `pg_get_indexdef(index, 1, true)`
 * deparses it (whitespace aside): `CASE WHEN jsonb_typeof(metadata -> 'price'::text) = 'number'::text THEN
 * (metadata -> 'price'::text)::numeric ELSE NULL::numeric END` → `['price']`; `undefined` for any other.
 */
export function numberExpressionKeyPath(column: string, deparsed: string): string[] | undefined {
  return caseExpressionKeyPath(column, deparsed, 'number');
}

function caseExpressionKeyPath(
  column: string,
  deparsed: string,
  type: 'string' | 'number',
): string[] | undefined {
  const name = /^[a-z_][a-z0-9_$]*$/.test(column) ? column : `"${column.replaceAll('"', '""')}"`;
  const c = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const flat = deparsed
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\( ?(.*?) ?\)$/, '$1');
  const one = "'([^']*)'::text";
  const many = "'\\{([^'}]*)\\}'::text\\[\\]";
  const shape = (path: string, get: string, getText: string) =>
    type === 'string'
      ? `^CASE WHEN jsonb_typeof\\(${c} ${get} ${path}\\) = 'string'::text THEN ${c} ${getText} ${path} ELSE NULL::text END$`
      : `^CASE WHEN jsonb_typeof\\(${c} ${get} ${path}\\) = 'number'::text THEN \\(${c} ${get} ${path}\\)::numeric ELSE NULL::numeric END$`;
  const single = new RegExp(shape(one, '->', '->>')).exec(flat);
  const nested = new RegExp(shape(many, '#>', '#>>')).exec(flat);
  const match = single ?? nested;
  if (match === null || match[1] !== match[2]) return undefined;
  const segments = single !== null ? [match[1] as string] : (match[1] as string).split(',');
  return isIndexableKeyPath(segments) ? segments : undefined;
}

/**
 * The first key expression of each valid, non-partial expression B-tree of a table, as the server deparses it
 * (`pg_get_indexdef(index, 1, true)`); `$1` is the table as `to_regclass` reads it (`'"documents"'`). Where the
 * filter compiler can write conditions such an index serves: see {@link filterIndexKeys}.
 */
export const EXPRESSION_INDEXES_SQL =
  'SELECT pg_get_indexdef(i.indexrelid, 1, true) AS "expression" FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = to_regclass($1) AND i.indisvalid AND i.indpred IS NULL AND am.amname = \'btree\' AND i.indkey[0] = 0';

/**
 * The metadata key paths (segments joined by `.`) with a B-tree a filter can be written for: on their text
 * (`CompileFilterOptions.textIndexKeys`) or on their string expression (`…stringIndexKeys`).
 */
export interface FilterIndexKeys {
  readonly text: ReadonlySet<string>;
  readonly string: ReadonlySet<string>;
}

/**
 * The {@link FilterIndexKeys} of the rows of {@link EXPRESSION_INDEXES_SQL} (their `expression`), for the
 * metadata column named `column` (unquoted name).
 */
export function filterIndexKeys(
  column: string,
  rows: readonly { readonly expression?: unknown }[],
): FilterIndexKeys {
  const text = new Set<string>();
  const string = new Set<string>();
  for (const row of rows) {
    if (typeof row.expression !== 'string') continue;
    const plain = textExpressionKeyPath(column, row.expression);
    if (plain !== undefined) text.add(plain.join('.'));
    const typed = stringExpressionKeyPath(column, row.expression);
    if (typed !== undefined) string.add(typed.join('.'));
  }
  return { text, string };
}
