/**
 * A reference evaluator of the filter language (src/core/filter.ts), written from its documented semantics and
 * PostgreSQL's, independent of the compiler: what a filter should match on a row, with SQL's three-valued
 * logic (a range on a missing key is NULL, an equality false; negations are `IS NOT TRUE`). Equality and `in`
 * are exact JSON equality (the compiler writes them as containment): the string `'1'` never equals the number 1.
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** One row as the reference sees it. */
export interface ReferenceRow {
  readonly metadata: { [key: string]: Json } | null;
  readonly createdAt: Date;
  readonly hasEmbedding: boolean;
}

/** Facts of the server the reference needs (measured once per run, never assumed). */
export interface ReferenceFacts {
  /** The database's order of the strings that range operators compare (its collation). */
  readonly rank: ReadonlyMap<string, number>;
  /** Whether `{"k": ["a"]} @> {"k": "a"}` (a scalar contained in an array, below the top level). */
  readonly nestedScalarInArray: boolean;
}

type TV = boolean | null;

function and(values: readonly TV[]): TV {
  if (values.includes(false)) return false;
  return values.includes(null) ? null : true;
}

function or(values: readonly TV[]): TV {
  if (values.includes(true)) return true;
  return values.includes(null) ? null : false;
}

function isObject(v: unknown): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lookup(
  metadata: ReferenceRow['metadata'],
  segments: readonly string[],
): { found: boolean; value?: Json } {
  let current: Json | undefined = metadata ?? undefined;
  if (current === undefined) return { found: false };
  for (const s of segments) {
    if (!isObject(current) || !Object.hasOwn(current, s)) return { found: false };
    current = current[s];
  }
  return { found: true, value: current as Json };
}

/**
 * `metadata @> ANY(docs)`, one document `{"k": v}` per value: NULL on a NULL metadata column, else whether
 * the value at the path is one of them (JSON equality; a missing key is false). `[]` is false.
 */
function equalsAny(row: ReferenceRow, at: { found: boolean; value?: Json }, values: readonly Json[]): TV {
  if (values.length === 0) return false;
  if (row.metadata === null) return null;
  return at.found && values.some((v) => jsonEqual(at.value as Json, v));
}

export function jsonEqual(a: Json, b: Json): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((x, i) => jsonEqual(x, b[i] as Json))
    );
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const ka = Object.keys(a);
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k] as Json, b[k] as Json))
    );
  }
  return a === b;
}

/** jsonb `@>`. */
function contains(container: Json, contained: Json, facts: ReferenceFacts, inObject: boolean): boolean {
  if (isObject(contained)) {
    return (
      isObject(container) &&
      Object.entries(contained).every(
        ([k, v]) => Object.hasOwn(container, k) && contains(container[k] as Json, v, facts, true),
      )
    );
  }
  if (Array.isArray(contained)) {
    if (!Array.isArray(container)) return false;
    return contained.every((e) =>
      typeof e === 'object' && e !== null
        ? container.some(
            (x) =>
              typeof x === 'object' &&
              x !== null &&
              Array.isArray(x) === Array.isArray(e) &&
              contains(x, e, facts, false),
          )
        : container.some((x) => (typeof x !== 'object' || x === null) && x === e),
    );
  }
  if (Array.isArray(container)) {
    return (
      inObject &&
      facts.nestedScalarInArray &&
      container.some((x) => (typeof x !== 'object' || x === null) && x === contained)
    );
  }
  return jsonEqual(container, contained);
}

function nest(segments: readonly string[], value: Json): Json {
  return segments.reduceRight<Json>((inner, key) => ({ [key]: inner }), value);
}

function compareStrings(a: string, b: string, facts: ReferenceFacts): number {
  const ra = facts.rank.get(a);
  const rb = facts.rank.get(b);
  if (ra === undefined || rb === undefined)
    throw new Error(`no collation rank for ${JSON.stringify(a)} / ${JSON.stringify(b)}`);
  return ra - rb;
}

const CMP = {
  gt: (c: number) => c > 0,
  gte: (c: number) => c >= 0,
  lt: (c: number) => c < 0,
  lte: (c: number) => c <= 0,
} as const;

function operator(
  row: ReferenceRow,
  segments: string[],
  op: string,
  operand: unknown,
  facts: ReferenceFacts,
): TV {
  const at = lookup(row.metadata, segments);
  switch (op) {
    case 'eq':
    case 'ne': {
      // Containment of {"k": v}: exact JSON equality at the path (a string equals only a JSON string; 1 = 1.0).
      const eq = equalsAny(row, at, [operand as Json]);
      return op === 'eq' ? eq : eq !== true;
    }
    case 'in':
    case 'nin': {
      const inList = equalsAny(row, at, operand as Json[]);
      return op === 'in' ? inList : inList !== true;
    }
    case 'exists':
      return operand === true ? at.found : !at.found;
    case 'contains':
      return row.metadata === null
        ? null
        : contains(row.metadata, nest(segments, operand as Json), facts, false);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const test = CMP[op];
      if (typeof operand === 'number') {
        return at.found && typeof at.value === 'number' ? test(at.value - operand) : null;
      }
      return at.found && typeof at.value === 'string'
        ? test(compareStrings(at.value, operand as string, facts))
        : null;
    }
    default:
      throw new Error(`reference: unknown operator ${op}`);
  }
}

/** The three-valued truth of `filter` on `row`. */
export function evaluate(filter: unknown, row: ReferenceRow, facts: ReferenceFacts): TV {
  const parts: TV[] = [];
  for (const [key, value] of Object.entries(filter as object)) {
    if (key === 'and') parts.push(and((value as unknown[]).map((f) => evaluate(f, row, facts))));
    else if (key === 'or') parts.push(or((value as unknown[]).map((f) => evaluate(f, row, facts))));
    else if (key === 'not') parts.push(evaluate(value, row, facts) !== true);
    else if (key === 'createdAt') {
      for (const [op, date] of Object.entries(value as object)) {
        parts.push(CMP[op as keyof typeof CMP](row.createdAt.getTime() - (date as Date).getTime()));
      }
    } else {
      const segments = key.split('.');
      if (typeof value !== 'object' || value === null)
        parts.push(operator(row, segments, 'eq', value, facts));
      else
        for (const [op, operand] of Object.entries(value))
          parts.push(operator(row, segments, op, operand, facts));
    }
  }
  return and(parts);
}

/** Whether the row is selected by `WHERE <filter>`. */
export function matches(filter: unknown, row: ReferenceRow, facts: ReferenceFacts): boolean {
  return evaluate(filter, row, facts) === true;
}
