// Issue 10: the planner serves compiled filters from indexes whose DDL uses the texts of
// src/core/filter-expressions.ts — a GIN `jsonb_path_ops` index for equality, `in` and nested equality, an
// expression B-tree on `->>` for string ranges (ISO dates), one on the numeric CASE expression for numeric
// ranges. `enable_seqscan = off` (SET LOCAL, in a transaction) makes the plans independent of table size;
// each query's rows are also checked against hand-written SQL. Runs on the embedded database, or on the
// server TEST_DATABASE_URL names.
import { raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeFilter,
  type LooseFilter,
  type PartialIndexPredicate,
  partialIndexPredicateSql,
} from '../../src/core/filter.js';
import { metadataNumberExpression, metadataTextExpression } from '../../src/core/filter-expressions.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

const TABLE = 'filter_plan_rows';
const ROWS = 3_000;
const COLUMN = '"metadata"';
const INDEXES = {
  gin: `CREATE INDEX "fp_gin" ON "${TABLE}" USING gin (${COLUMN} jsonb_path_ops)`,
  published: `CREATE INDEX "fp_published" ON "${TABLE}" (${metadataTextExpression(COLUMN, ['published'])})`,
  price: `CREATE INDEX "fp_price" ON "${TABLE}" (${metadataNumberExpression(COLUMN, ['price'])})`,
  authorName: `CREATE INDEX "fp_author_name" ON "${TABLE}" (${metadataTextExpression(COLUMN, ['author', 'name'])})`,
  rank: `CREATE INDEX "fp_author_rank" ON "${TABLE}" (${metadataNumberExpression(COLUMN, ['author', 'rank'])})`,
  codeText: `CREATE INDEX "fp_code_text" ON "${TABLE}" (${metadataTextExpression(COLUMN, ['code'])})`,
};

const PREDICATES: readonly PartialIndexPredicate[] = [
  { key: 'tenant', value: 't7' },
  { key: 'code', value: '3' }, // `->>` reads the number 3 as '3' too: compiled as the literal AND containment
];
const PARTIAL = PREDICATES.map(
  (p, i) =>
    `CREATE INDEX "fp_partial_${i}" ON "${TABLE}" (id) WHERE ${partialIndexPredicateSql(raw(COLUMN), p).text}`,
);

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
  client = await db.connect();
  await client.query(
    `CREATE TABLE "${TABLE}" (id int PRIMARY KEY, "metadata" jsonb, "created_at" timestamp(3))`,
  );
  await client.query(
    `INSERT INTO "${TABLE}" (id, "metadata", "created_at")
     SELECT i, jsonb_build_object(
         'tenant', 't' || (i % 100),
         'price', CASE WHEN i % 97 = 0 THEN to_jsonb('n/a'::text) ELSE to_jsonb((i % 500) + 0.5) END,
         'published', to_char(date '2024-01-01' + (i % 365), 'YYYY-MM-DD'),
         'author', jsonb_build_object('name', 'n' || (i % 50), 'rank', i % 20),
         'tags', CASE WHEN i % 10 = 0 THEN '["featured"]'::jsonb ELSE '[]'::jsonb END)
       || CASE WHEN i % 7 = 0 THEN jsonb_build_object('code', (i % 13)::text) ELSE jsonb_build_object('code', i % 13) END,
       now()
     FROM generate_series(1, ${ROWS}) AS i`,
  );
  for (const ddl of [...Object.values(INDEXES), ...PARTIAL]) await client.query(ddl);
  await client.query(`ANALYZE "${TABLE}"`);
}, 180_000);

afterAll(async () => {
  await client?.end();
  await db?.close();
});

function compiled(filter: LooseFilter, textIndexKeys?: ReadonlySet<string>): Sql {
  return analyzeFilter(filter, {
    metadataColumn: raw(COLUMN),
    createdAtColumn: raw('"created_at"'),
    ...(textIndexKeys === undefined ? {} : { textIndexKeys }),
  }).where;
}

async function plan(where: Sql, tail = ''): Promise<string> {
  const query = sql`EXPLAIN SELECT id FROM ${raw(`"${TABLE}"`)} WHERE ${where}${raw(tail)}`;
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(query.text, query.values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.query('ROLLBACK');
  }
}

async function ids(where: Sql | string): Promise<number[]> {
  const query = typeof where === 'string' ? raw(where) : where;
  const s = sql`SELECT id FROM ${raw(`"${TABLE}"`)} WHERE ${query} ORDER BY id`;
  return (await client.query<{ id: number }>(s.text, s.values)).rows.map((r) => r.id);
}

describe('compiled filters use the indexes made from filter-expressions.ts', () => {
  it.each<[string, LooseFilter, string, string]>([
    ['eq string', { tenant: 't7' }, 'fp_gin', `"metadata" ->> 'tenant' = 't7'`],
    ['eq number', { price: 42.5 }, 'fp_gin', `"metadata" -> 'price' = '42.5'`],
    ['eq number (1.0 = 1)', { 'author.rank': 3.0 }, 'fp_gin', `"metadata" #> '{author,rank}' = '3'`],
    ['eq string, not the number', { code: '3' }, 'fp_gin', `"metadata" -> 'code' = '"3"'`],
    ['in', { tenant: { in: ['t1', 't2', 't3'] } }, 'fp_gin', `"metadata" ->> 'tenant' IN ('t1', 't2', 't3')`],
    ['in, mixed types', { code: { in: [3, '4'] } }, 'fp_gin', `"metadata" -> 'code' IN ('3', '"4"')`],
    ['nested-path eq', { 'author.name': 'n3' }, 'fp_gin', `"metadata" #>> '{author,name}' = 'n3'`],
    ['contains', { tags: { contains: ['featured'] } }, 'fp_gin', `"metadata" -> 'tags' ? 'featured'`],
    [
      'string range (ISO dates)',
      { published: { gte: '2024-03-01', lt: '2024-03-08' } },
      'fp_published',
      `"metadata" ->> 'published' >= '2024-03-01' AND "metadata" ->> 'published' < '2024-03-08'`,
    ],
    [
      'numeric range',
      { price: { gt: 495 } },
      'fp_price',
      `CASE WHEN jsonb_typeof("metadata" -> 'price') = 'number' THEN ("metadata" ->> 'price')::numeric > 495 END`,
    ],
    [
      'nested-path string range',
      { 'author.name': { gt: 'n48' } },
      'fp_author_name',
      `"metadata" #>> '{author,name}' > 'n48'`,
    ],
    [
      'nested-path numeric range',
      { 'author.rank': { lte: 1 } },
      'fp_author_rank',
      `("metadata" #>> '{author,rank}')::numeric <= 1`,
    ],
  ])('%s: %j is served by %s', async (_name, filter, index, handWritten) => {
    const where = compiled(filter);
    const shown = await plan(where);
    expect(shown, `${where.text}\n${shown}`).toMatch(
      new RegExp(`(Bitmap Index Scan on|Index Scan using|Index Only Scan using) "?${index}"?`),
    );
    const got = await ids(where);
    expect(got).toEqual(await ids(handWritten));
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(ROWS);
  });
});

describe('equality and `in` of strings on a key with a B-tree on its text', () => {
  const keys = new Set(['published', 'author.name', 'code']);
  it.each<[string, LooseFilter, string, string]>([
    ['eq', { published: '2024-03-01' }, 'fp_published', `"metadata" ->> 'published' = '2024-03-01'`],
    [
      'in',
      { 'author.name': { in: ['n3', 'n4'] } },
      'fp_author_name',
      `"metadata" #>> '{author,name}' IN ('n3', 'n4')`,
    ],
    // `code` holds the string "3" on some rows and the number 3 on others: only the string matches.
    [
      'eq string, not the number (the partial index on it, or the B-tree)',
      { code: '3' },
      '(fp_code_text|fp_partial_1)',
      `"metadata" -> 'code' = '"3"'`,
    ],
    ['in strings', { code: { in: ['3', '4'] } }, 'fp_code_text', `"metadata" -> 'code' IN ('"3"', '"4"')`],
    [
      'in, mixed types: containment',
      { code: { in: [3, '4'] } },
      'fp_gin',
      `"metadata" -> 'code' IN ('3', '"4"')`,
    ],
  ])('%s: %j is served by %s', async (_name, filter, index, handWritten) => {
    const where = compiled(filter, keys);
    const shown = await plan(where);
    expect(shown, `${where.text}\n${shown}`).toMatch(
      new RegExp(`(Bitmap Index Scan on|Index Scan using|Index Only Scan using) "?${index}"?`),
    );
    const got = await ids(where);
    expect(got).toEqual(await ids(handWritten));
    expect(got).toEqual(await ids(compiled(filter)));
    expect(got.length).toBeGreaterThan(0);
  });

  it('negations keep rows whose key is missing or of another type', async () => {
    const filter: LooseFilter = { code: { nin: ['3'] } };
    const got = await ids(compiled(filter, keys));
    expect(got).toEqual(await ids(compiled(filter)));
    expect(got).toEqual(await ids(`("metadata" -> 'code') IS DISTINCT FROM '"3"'`));
  });
});

describe('an equality on a configured partial index', () => {
  it.each<[LooseFilter, string, string]>([
    [{ tenant: 't7', price: { lt: 100 } }, 'fp_partial_0', `"metadata" ->> 'tenant' = 't7'`],
    [{ code: '3' }, 'fp_partial_1', `"metadata" -> 'code' = '"3"'`],
  ])(
    '%j lets the planner prove %s applies (it is written as the literal predicate)',
    async (filter, index, handWritten) => {
      const analyzed = analyzeFilter(filter, {
        metadataColumn: raw(COLUMN),
        createdAtColumn: raw('"created_at"'),
        partialIndexPredicates: PREDICATES,
      });
      expect(analyzed.partialPredicates).toHaveLength(1);
      const shown = await plan(analyzed.where, ' ORDER BY id LIMIT 5');
      expect(shown, `${analyzed.where.text}\n${shown}`).toMatch(
        new RegExp(`Index (Only )?Scan using "?${index}"?`),
      );
      const got = await ids(analyzed.where);
      const hand = await ids(handWritten);
      expect(got).toEqual(
        filter.price === undefined ? hand : hand.filter((id) => id % 97 !== 0 && (id % 500) + 0.5 < 100),
      );
      expect(got.length).toBeGreaterThan(0);
    },
  );
});
