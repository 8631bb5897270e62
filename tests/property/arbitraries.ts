/**
 * fast-check arbitraries of the campaign: well-formed values the reference can judge (filters, metadata,
 * documents) and hostile ones (lone surrogates, NULs, BigInts, symbols, objects without a prototype,
 * getters, Dates out of range, SQL in every string).
 */
import fc from 'fast-check';
import type { Json } from './filter-reference.js';

/** The strings metadata values and range operands are drawn from (their collation order is measured). */
export const STRINGS = ['', 'a', 'b', 'ab', 'ba', 'abc', '1', '2', '10', 'é', 'z'] as const;
/** Strings only compared for equality: quotes, SQL, unicode. */
export const ODD_STRINGS = ["x'y", 'a"b', '\\', "'; DROP TABLE campaign_canary; --", '😀', 'Ω', ' '] as const;
export const KEYS = ['a', 'b', 'n', 'tags', 'o', 'o.x', 'flag', 'missing', "we'ird", '😀'] as const;
/** Dates of the filter rows: a fixed set, so that createdAt filters select some of them. */
export const DATES = [0, 1, 2, 3, 4, 5].map((d) => new Date(Date.UTC(2024, 0, 1 + d, 12, 0, 0, 123)));

const string = fc.constantFrom(...STRINGS);
const anyString = fc.oneof(string, fc.constantFrom(...ODD_STRINGS));
const number = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(1.5, -2.25, 1e21));
export const scalar: fc.Arbitrary<Json> = fc.oneof(anyString, number, fc.boolean(), fc.constant(null));
const rangeOperand = fc.oneof(string, number);

/** Metadata of a filter row: the keys filters use, values of every JSON type. */
export const metadata: fc.Arbitrary<{ [key: string]: Json } | null> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        a: fc.oneof(string, number, fc.boolean(), fc.constant(null)),
        b: fc.oneof(string, fc.constantFrom(...ODD_STRINGS)),
        n: number,
        tags: fc.array(string, { maxLength: 3 }),
        o: fc.oneof(
          fc.record({ x: fc.oneof(string, number, fc.constant(null)) }, { requiredKeys: [] }),
          string,
        ),
        flag: fc.boolean(),
        "we'ird": anyString,
        '😀': number,
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<{ [key: string]: Json }>,
  },
);

const containsOperand: fc.Arbitrary<Json> = fc.oneof(
  scalar,
  fc.array(fc.oneof(string, number), { maxLength: 2 }),
  fc.record({ x: fc.oneof(string, number) }, { requiredKeys: [] }) as fc.Arbitrary<Json>,
);

const OPERATORS = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'exists', 'contains'] as const;
const operands = fc.record({
  eq: scalar,
  ne: scalar,
  in: fc.array(scalar, { maxLength: 3 }),
  nin: fc.array(scalar, { maxLength: 3 }),
  gt: rangeOperand,
  gte: rangeOperand,
  lt: rangeOperand,
  lte: rangeOperand,
  exists: fc.boolean(),
  contains: containsOperand,
});

/** A condition on one key: a scalar (eq), or one or two operators. */
const condition: fc.Arbitrary<unknown> = fc.oneof(
  scalar,
  fc
    .tuple(fc.uniqueArray(fc.constantFrom(...OPERATORS), { minLength: 1, maxLength: 2 }), operands)
    .map(([ops, values]) => Object.fromEntries(ops.map((op) => [op, values[op]]))),
);

const dateRange = fc
  .record(
    {
      gt: fc.constantFrom(...DATES),
      gte: fc.constantFrom(...DATES),
      lt: fc.constantFrom(...DATES),
      lte: fc.constantFrom(...DATES),
    },
    { requiredKeys: [] },
  )
  .filter((o) => Object.keys(o).length > 0);

function filterAt(depth: number): fc.Arbitrary<Record<string, unknown>> {
  const fields = fc.dictionary(fc.constantFrom(...KEYS), condition, { minKeys: 1, maxKeys: 2 });
  if (depth === 0) return fields;
  const inner = filterAt(depth - 1);
  const logical = fc.oneof(
    fc.record({ and: fc.array(inner, { minLength: 1, maxLength: 2 }) }),
    fc.record({ or: fc.array(inner, { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: inner }),
    fc.record({ createdAt: dateRange }),
  );
  // Small filters select some rows: most are one or two conditions, some combine smaller ones.
  return fc.oneof(
    { weight: 3, arbitrary: fields },
    { weight: 2, arbitrary: logical },
    {
      weight: 1,
      arbitrary: fc.tuple(fields, logical).map(([f, l]) => ({ ...f, ...l })),
    },
  );
}

/** Well-formed filters of the whole language, nested up to three levels. */
export const filter: fc.Arbitrary<Record<string, unknown>> = filterAt(3);

// ---- hostile values ----

const LONE = ['\ud800', '\udbff', '\udc00', '\udfff'];
/** Strings of any UTF-16 code units: lone surrogates, NULs, quotes, SQL. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  anyString,
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('a', '\u0000', "'", '"', '\\', ';', '.', '😀', ...LONE),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    ),
    maxLength: 6,
  }),
);

/** Dates in and out of years 1-9999, and invalid ones. */
export const hostileDate: fc.Arbitrary<Date> = fc.oneof(
  fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2030, 0, 1)), noInvalidDate: true }),
  fc.constantFrom(
    new Date(Number.NaN),
    new Date(8.64e15),
    new Date(-8.64e15),
    new Date(Date.UTC(10_000, 0, 1)),
    new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
    (() => {
      const d = new Date(Date.UTC(2000, 0, 1));
      d.setUTCFullYear(0);
      return d;
    })(),
    (() => {
      const d = new Date(Date.UTC(2000, 0, 1));
      d.setUTCFullYear(1);
      return d;
    })(),
  ),
);

/** Anything a caller could pass where a value is expected. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -10n, max: 10n }),
  fc.constant(Symbol('hostile')),
  fc.constant(null).map(() => Object.create(null) as object),
  fc.constant(null).map(() => new Map([[1, 1]])),
  hostileDate,
  fc.array(fc.oneof(fc.integer(), hostileString, fc.constant(null)), { maxLength: 3 }),
  fc.constant(() => 1),
  fc.constant(null).map(() => {
    let n = 0;
    return Object.defineProperty({}, 'x', { get: () => (n++ % 2 === 0 ? 1 : 1n), enumerable: true });
  }),
);

function hostileJsonAt(depth: number): fc.Arbitrary<unknown> {
  if (depth === 0) return hostileValue;
  const inner = hostileJsonAt(depth - 1);
  return fc.oneof(
    hostileValue,
    fc.array(inner, { maxLength: 3 }),
    fc.dictionary(hostileString, inner, { maxKeys: 3 }),
  );
}

/** A JSON-ish value with hostile leaves and keys, nested up to three levels. */
export const hostileJson: fc.Arbitrary<unknown> = hostileJsonAt(3);

/** Filters broken in every way: hostile keys, values, shapes, sizes. */
export const hostileFilter: fc.Arbitrary<unknown> = fc.oneof(
  filter,
  hostileValue,
  fc.dictionary(
    fc.oneof(hostileString, fc.constantFrom('and', 'or', 'not', 'createdAt', ...KEYS)),
    fc.oneof(hostileValue, hostileJson, condition, filter, fc.array(filter, { maxLength: 2 })),
    { maxKeys: 3 },
  ),
  fc.record({
    a: fc.record(
      { eq: hostileValue, in: fc.array(hostileValue, { maxLength: 3 }), contains: hostileJson },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ createdAt: fc.record({ gte: hostileValue, lt: hostileDate }, { requiredKeys: [] }) }),
  fc.integer({ min: 1, max: 60 }).map((depth) => {
    let f: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < depth; i++) f = i % 2 === 0 ? { not: f } : { and: [f, {}] };
    return f;
  }),
  fc.integer({ min: 900, max: 1100 }).map((n) => ({ or: Array.from({ length: n }, (_, i) => ({ n: i })) })),
  fc.constant(null).map(() => {
    const f: Record<string, unknown> = { a: 1 };
    f.and = [f];
    return f;
  }),
);

/** Dense vectors of the campaign's dimensions, and broken ones. */
export function hostileVector(dims: number): fc.Arbitrary<unknown> {
  const element = fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 1e39, -0, 0) },
    { weight: 1, arbitrary: hostileValue },
  );
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), {
        minLength: dims,
        maxLength: dims,
      }),
    },
    { weight: 2, arbitrary: fc.array(element, { minLength: dims - 1, maxLength: dims + 1 }) },
    { weight: 1, arbitrary: fc.float32Array({ minLength: dims, maxLength: dims }) },
    { weight: 1, arbitrary: hostileValue },
  );
}

/** Document-shaped objects: mostly valid, every field sometimes hostile, unknown keys, getters. */
export function hostileDocument(dims: number, id: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: hostileValue },
    {
      weight: 12,
      arbitrary: fc
        .record(
          {
            id: fc.oneof({ weight: 5, arbitrary: id }, { weight: 1, arbitrary: hostileValue }),
            content: fc.oneof({ weight: 4, arbitrary: anyString }, { weight: 1, arbitrary: hostileValue }),
            metadata: fc.oneof(
              { weight: 3, arbitrary: metadata },
              { weight: 1, arbitrary: hostileJson },
              { weight: 1, arbitrary: fc.dictionary(hostileString, hostileJson, { maxKeys: 2 }) },
            ),
            embedding: fc.oneof(
              { weight: 3, arbitrary: hostileVector(dims) },
              { weight: 1, arbitrary: fc.constant(null) },
            ),
            createdAt: hostileDate,
          },
          { requiredKeys: ['content'] },
        )
        .chain((d) => fc.integer({ min: 0, max: 19 }).map((r) => (r === 0 ? { ...d, embeding: [1] } : d)))
        .map((d) => d as Record<string, unknown>),
    },
  );
}
