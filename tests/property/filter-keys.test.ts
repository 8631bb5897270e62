// Issue 10: filter keys become SQL literals (so that indexes can serve the filters), and no key can inject.
// For arbitrary keys — quotes, backslashes, braces, commas, spaces, `null` segments, any BMP character but
// NUL and surrogates, emoji — arbitrary rows and arbitrary filters over those keys: the compiled SQL holds a
// key only as a whole literal of LITERAL_KEY characters (else it is bound), holds nothing but the compiler's
// own tokens outside literals, and, run on the database of the run (embedded, or TEST_DATABASE_URL), selects
// exactly the rows the reference evaluator selects. Keys with lone surrogates or NUL are refused.
import { raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgVectorError } from '../../src/core/errors.js';
import {
  analyzeFilter,
  type CompileFilterOptions,
  type LooseFilter,
  type PartialIndexPredicate,
} from '../../src/core/filter.js';
import { isIndexableKeyPath } from '../../src/core/filter-expressions.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { type Json, matches, type ReferenceFacts } from './filter-reference.js';
import { sqlTextProblems } from './sql-literals.js';

fc.configureGlobal({ endOnFailure: true });

const SEED = Number(process.env.CAMPAIGN_SEED ?? 20_261_202);
const SCALE = Number(process.env.CAMPAIGN_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

/** Strings rows hold and ranges compare (their collation order is measured on the server). */
const STRINGS = [
  '',
  'a',
  'b',
  'ab',
  'B',
  '1',
  '10',
  '2',
  'true',
  'null',
  'é',
  "x'y",
  'a"b',
  '\\',
  '{a,b}',
  '[]',
  '[1]',
  '{}',
  ' ',
  '😀',
];

const PREDICATES: readonly PartialIndexPredicate[] = [
  { key: 'k', value: 'a' },
  { key: 'n', value: '1' },
  { key: 'flag', value: 'true' },
];
const options: CompileFilterOptions = {
  metadataColumn: raw('"metadata"'),
  createdAtColumn: raw('"created_at"'),
  partialIndexPredicates: PREDICATES,
};
const SQL_RULES = {
  identifiers: ['"metadata"', '"created_at"'],
  configured: ["'a'", "'1'", "'true'", "'k'", "'n'", "'flag'"],
};

// ---- arbitraries ----

const unit = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('a', 'b', 'k', 'Z', '0', '7', '_', '-', ':', '@', '/', 'é', 'ж', '値'),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      ...["'", '"', '\\', '{', '}', ',', ' ', '(', ')', ';', '$', '\t', '\n', '%', '*', '[', ']', '?', '😀'],
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1, max: 0xffff })
      .filter((c) => (c < 0xd800 || c > 0xdfff) && c !== 0x2e)
      .map((c) => String.fromCharCode(c)),
  },
);
const segment = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit, minLength: 1, maxLength: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom('null', 'NULL', 'Null') },
);
/** A key: one or two segments (a path), or one of the keys the configured predicates name. */
const key = fc.oneof(
  { weight: 6, arbitrary: fc.array(segment, { minLength: 1, maxLength: 2 }).map((s) => s.join('.')) },
  { weight: 1, arbitrary: fc.constantFrom('k', 'n', 'flag', 'a.b', 'a.NULL', 'null') },
);

const string = fc.constantFrom(...STRINGS);
const number = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(1.5, -2.25));
const scalar: fc.Arbitrary<Json> = fc.oneof(string, number, fc.boolean(), fc.constant(null));
const value: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.record({ x: scalar }, { requiredKeys: [] }) as fc.Arbitrary<Json> },
);

/** Sets `v` at `segments` of `target`, making (or replacing) objects on the way. */
function setPath(target: { [k: string]: Json }, segments: readonly string[], v: Json): void {
  let at = target;
  for (const s of segments.slice(0, -1)) {
    const next = at[s];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) at[s] = {};
    at = at[s] as { [k: string]: Json };
  }
  at[segments[segments.length - 1] as string] = v;
}

function row(keys: readonly string[]): fc.Arbitrary<{ [k: string]: Json } | null> {
  const entries = fc.array(fc.tuple(fc.constantFrom(...keys), value), { maxLength: keys.length + 1 });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    {
      weight: 8,
      arbitrary: entries.map((es) => {
        const m: { [k: string]: Json } = {};
        for (const [k, v] of es) setPath(m, k.split('.'), v);
        return m;
      }),
    },
  );
}

const OPERATORS = ['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'exists', 'contains'] as const;

function filterOf(keys: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const eqOperand = fc.oneof(scalar, fc.string({ unit, maxLength: 3 }));
  const rangeOperand = fc.oneof(string, number);
  const operands = fc.record({
    eq: eqOperand,
    ne: eqOperand,
    in: fc.array(eqOperand, { maxLength: 3 }),
    nin: fc.array(eqOperand, { maxLength: 3 }),
    gt: rangeOperand,
    gte: rangeOperand,
    lt: rangeOperand,
    lte: rangeOperand,
    exists: fc.boolean(),
    contains: value,
  });
  const condition = fc.oneof(
    scalar,
    fc
      .tuple(fc.uniqueArray(fc.constantFrom(...OPERATORS), { minLength: 1, maxLength: 2 }), operands)
      .map(([ops, o]) => Object.fromEntries(ops.map((op) => [op, o[op]]))),
  );
  const fields = fc.dictionary(fc.constantFrom(...keys), condition, { minKeys: 1, maxKeys: 2 });
  return fc.oneof(
    { weight: 3, arbitrary: fields },
    { weight: 1, arbitrary: fc.record({ or: fc.array(fields, { minLength: 1, maxLength: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ not: fields }) },
    {
      weight: 1,
      arbitrary: fc.tuple(fields, fields).map(([a, b]) => ({ and: [a, { or: [b, { not: a }] }] })),
    },
  );
}

const scenario = fc
  .uniqueArray(key, { minLength: 1, maxLength: 3 })
  .filter((keys) => keys.every((k) => k.split('.').every((s) => s !== '')))
  .chain((keys) =>
    fc.record({
      keys: fc.constant(keys),
      rows: fc.array(row(keys), { minLength: 1, maxLength: 8 }),
      filter: filterOf(keys),
      viaPrisma: fc.boolean(),
    }),
  );

// ---- checks ----

function keysOf(filter: unknown, out = new Set<string>()): Set<string> {
  for (const [k, v] of Object.entries(filter as object)) {
    if (k === 'and' || k === 'or') for (const f of v as unknown[]) keysOf(f, out);
    else if (k === 'not') keysOf(v, out);
    else out.add(k);
  }
  return out;
}

function checkText(where: Sql, filter: unknown): void {
  const keys = [...keysOf(filter)];
  expect(sqlTextProblems(where.text, { ...SQL_RULES, keys })).toEqual([]);
  // A key that cannot be a literal appears in no literal: it is bound (or inside a bound JSON document).
  const literals = new Set((where.text.match(/'[^']*'/g) ?? []).map((l) => l.slice(1, -1)));
  for (const k of keys) {
    const segments = k.split('.');
    if (!isIndexableKeyPath(segments)) {
      expect(literals.has(segments.length === 1 ? k : `{${segments.join(',')}}`)).toBe(false);
    }
  }
}

let db: TestDatabase;
let client: pg.Client;
let facts: ReferenceFacts;
const tally = {
  cases: 0,
  literalKeys: 0,
  boundKeys: 0,
  rowsSelected: 0,
  viaPrisma: 0,
  textForms: 0,
  stringForms: 0,
};

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
  client = await db.connect();
  const { rows } = await client.query<{ s: string; r: number }>(
    'SELECT s, (rank() OVER (ORDER BY s))::int AS r FROM unnest($1::text[]) AS s',
    [STRINGS],
  );
  const probe = await client.query<{ nested: boolean }>(
    `SELECT '{"k": ["a", "b"]}'::jsonb @> '{"k": "a"}'::jsonb AS nested`,
  );
  facts = { rank: new Map(rows.map((r) => [r.s, r.r])), nestedScalarInArray: probe.rows[0]?.nested === true };
}, 180_000);

afterAll(async () => {
  console.log(
    `filter keys (${db?.kind === 'external' ? 'native' : 'embedded'}, seed ${SEED}): ${tally.cases} cases on the database, ` +
      `${tally.literalKeys} literal and ${tally.boundKeys} bound key uses, ${tally.rowsSelected} rows selected, ` +
      `${tally.viaPrisma} through Prisma`,
  );
  await client?.end();
  await db?.close();
});

describe('filter keys as SQL literals (issue 10)', () => {
  it('refuses keys with lone surrogates or NUL before any SQL', () => {
    const bad = fc
      .tuple(fc.string({ unit, maxLength: 3 }), fc.constantFrom('\ud800', '\udfff', '\udc00x', '\u0000'))
      .map(([a, b]) => a + b);
    fc.assert(
      fc.property(bad, (k) => {
        for (const f of [{ [k]: 1 }, { [k]: { gt: 1 } }, { [`a.${k}`]: { exists: true } }]) {
          let error: unknown;
          try {
            analyzeFilter(f as LooseFilter, options);
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(PgVectorError);
          expect((error as PgVectorError).code).toBe('INVALID_FILTER');
        }
      }),
      { seed: SEED, numRuns: runs(300) },
    );
  });

  it('writes a key only as a whole literal of allowed characters, or binds it (pure)', () => {
    fc.assert(
      fc.property(scenario, ({ filter }) => {
        checkText(analyzeFilter(filter as LooseFilter, options).where, filter);
      }),
      { seed: SEED + 1, numRuns: runs(3_000) },
    );
  });

  it('selects on the database exactly the rows the reference selects', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ keys, rows, filter, viaPrisma }) => {
        // As compiled for a table with a B-tree on every key's text too (equality and `in` of strings are
        // then text equality plus a type test), and on every key's string expression (string equality,
        // `in` and ranges on it, no type test): the same rows every way.
        const forms = [
          options,
          { ...options, textIndexKeys: new Set(keys) },
          { ...options, stringIndexKeys: new Set(keys) },
        ].map((o) => analyzeFilter(filter as LooseFilter, o).where);
        for (const where of forms) await selectsAsReference(where, keys, rows, filter, viaPrisma);
      }),
      { seed: SEED + 2, numRuns: runs(600) },
    );
    expect(tally.literalKeys).toBeGreaterThan(0);
    expect(tally.boundKeys).toBeGreaterThan(0);
    expect(tally.rowsSelected).toBeGreaterThan(0);
    expect(tally.textForms).toBeGreaterThan(0);
    expect(tally.stringForms).toBeGreaterThan(0);
  });

  async function selectsAsReference(
    where: Sql,
    keys: readonly string[],
    rows: readonly ({ [key: string]: Json } | null)[],
    filter: unknown,
    viaPrisma: boolean,
  ): Promise<void> {
    checkText(where, filter);
    if (/->> '[^']*'\) = (ANY\()?\$/.test(where.text)) tally.textForms++;
    if (/= 'string' THEN \("metadata" #?>> '[^']*'\) END\) (=|>|<|>=|<=) (ANY\()?\$/.test(where.text)) {
      tally.stringForms++;
    }
    for (const k of keys) {
      if (isIndexableKeyPath(k.split('.'))) tally.literalKeys++;
      else tally.boundKeys++;
    }
    const query = sql`SELECT ord::int AS ord FROM (
            SELECT NULLIF(value, 'null'::jsonb) AS "metadata", ord
            FROM jsonb_array_elements(${JSON.stringify(rows)}::jsonb) WITH ORDINALITY AS e(value, ord)
          ) AS t WHERE ${where} ORDER BY ord`;
    const got = viaPrisma
      ? (await db.prisma.$queryRaw<{ ord: number }[]>(query)).map((r) => r.ord)
      : (await client.query<{ ord: number }>(query.text, query.values)).rows.map((r) => r.ord);
    const at = new Date(0);
    const want = rows
      .map((m, i) => ({ m, ord: i + 1 }))
      .filter(({ m }) => matches(filter, { metadata: m, createdAt: at, hasEmbedding: true }, facts))
      .map((r) => r.ord);
    tally.cases++;
    tally.rowsSelected += got.length;
    if (viaPrisma) tally.viaPrisma++;
    expect(got, `${JSON.stringify(filter)}\n${where.text}\n${JSON.stringify(rows)}`).toEqual(want);
  }
});
