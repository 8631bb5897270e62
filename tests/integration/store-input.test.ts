// Hostile input through the store's public API (issue 12), against PostgreSQL + pgvector over the wire
// (embedded PGlite server, or TEST_DATABASE_URL), with and without the pool: every refusal is a
// PgVectorError before any SQL, and the table holds exactly what it held.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createVectorStore, type LooseFilter, PgVectorError, type VectorStore } from '../../src/index.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { itemsTableSql, rejection } from './helpers.js';

let db: TestDatabase;
let pool: pg.Pool;
let prisma: PrismaClient;
let pgc: pg.Client;
const DIMS = 3;
const TABLE = 'hostile_items';

function store(extra: object = {}): VectorStore {
  return createVectorStore(prisma, {
    schema: db.schema,
    table: TABLE,
    dimensions: DIMS,
    partialIndexPredicates: [],
    ...extra,
  });
}

async function ids(): Promise<string[]> {
  const { rows } = await pgc.query(`SELECT id FROM "${TABLE}" ORDER BY id COLLATE "C"`);
  return rows.map((r) => r.id);
}

const SEED = ['r1', 'r2', 'r3'];

const isEmpty = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === null;

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
  pool = new pg.Pool({ ...db.poolConfig, max: 3 });
  prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema: db.schema }) });
  pgc = await db.connect();
  await pgc.query('CREATE EXTENSION IF NOT EXISTS vector');
  await pgc.query(itemsTableSql(TABLE, `vector(${DIMS})`));
});

beforeEach(async () => {
  await pgc.query(`DELETE FROM "${TABLE}"`);
  await store().addMany(
    SEED.map((id, i) => ({ id, content: id, metadata: { tenant: `t${i}` }, embedding: [1, i + 1, 0] })),
  );
});

afterAll(async () => {
  await pgc?.end();
  await prisma?.$disconnect();
  await pool?.end();
  await db?.close();
});

describe('deleteWhere refuses every filter that means every row (item 1)', () => {
  it.each([
    [{ and: [{}, {}] }],
    [{ or: [{}, {}] }],
    [{ not: { or: [] } }],
    [{ not: { not: {} } }],
    [{ or: [{ tenant: 't0' }, { not: { tenant: 't0' } }] }],
    [{ tenant: { nin: [] } }],
  ])('%j', async (filter) => {
    const e = await rejection(store().deleteWhere(filter as LooseFilter));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^refusing to delete every row: the filter matches every row/);
    expect(await ids()).toEqual(SEED);
  });

  it('an undefined condition (an unset variable) is refused, not ignored', async () => {
    const tenant: string | undefined = undefined;
    const e = await rejection(store().deleteWhere({ and: [{ tenant }] }));
    expect(e.code).toBe('INVALID_FILTER');
    expect(e.message).toMatch(/^filter\.and\[0\]\.tenant: is undefined/);
    expect(await ids()).toEqual(SEED);
  });

  it('still deletes what a real filter matches, and every row with { all: true }', async () => {
    expect(await store().deleteWhere({ tenant: 't1' })).toMatchObject({ deleted: 1 });
    expect(await store().deleteWhere({ or: [] })).toMatchObject({ deleted: 0 });
    expect(await store().deleteWhere({ and: [{}, {}] }, { all: true })).toMatchObject({ deleted: 2 });
    expect(await ids()).toEqual([]);
  });
});

describe('unpaired surrogates never reach the driver (item 2)', () => {
  it('two ids that differ only in a lone surrogate cannot overwrite each other', async () => {
    for (const id of ['a\ud800', 'a\udc00']) {
      const e = await rejection(store().upsert({ id, content: 'x', embedding: [1, 0, 0] }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe('doc.id has an unpaired UTF-16 surrogate at index 1');
    }
    for (const s of [store(), store({ pool })]) {
      const e = await rejection(s.addMany([{ id: 'b', content: 'x\ud800' }]));
      expect(e.message).toBe('docs[0].content has an unpaired UTF-16 surrogate at index 1');
      expect((await rejection(s.getByIds(['r1\ud800']))).code).toBe('INVALID_ARGUMENT');
      expect((await rejection(s.deleteByIds(['r1\udc00']))).code).toBe('INVALID_ARGUMENT');
    }
    expect(await ids()).toEqual(SEED);
  });

  it('filters with lone surrogates or NULs are refused before SQL, naming the key', async () => {
    for (const [filter, message] of [
      [
        { 'ten\ud800ant': 't0' },
        'filter["ten\\ud800ant"]: the key has an unpaired UTF-16 surrogate at index 3',
      ],
      [{ tenant: 't\u0000' }, 'filter.tenant: the value has a NUL character (\\u0000) at index 1'],
      [
        { tenant: { contains: 'x\u0000' } },
        'filter.tenant.contains: the value has a NUL character (\\u0000) at index 1',
      ],
    ] as const) {
      for (const run of [
        () => store().search([1, 0, 0], { filter }),
        () => store({ pool }).search([1, 0, 0], { filter }),
        () => store().deleteWhere(filter),
      ]) {
        const e = await rejection(run());
        expect(e.code).toBe('INVALID_FILTER');
        expect(e.message).toBe(message);
      }
    }
    expect(await ids()).toEqual(SEED);
  });
});

describe('hostile option values give PgVectorError, never a TypeError (item 3)', () => {
  const odd = [Object.create(null), 1n, Symbol('s'), () => 1, [], new Map()];

  it('search options', async () => {
    for (const value of odd) {
      for (const key of [
        'k',
        'efSearch',
        'maxScanTuples',
        'probes',
        'iterativeScan',
        'metric',
        'maxDistance',
        'minSimilarity',
        'filter',
        'select',
        'includeEmbedding',
      ]) {
        const error = await store()
          .search([1, 0, 0], { [key]: value })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        // An object without a prototype is a plain object: here, an empty filter.
        if ((key === 'filter' && isEmpty(value)) || (key === 'select' && Array.isArray(value))) {
          expect(error).toBeUndefined();
          continue;
        }
        expect(error, `${key}: ${typeof value}`).toBeInstanceOf(PgVectorError);
        expect(['INVALID_ARGUMENT', 'INVALID_FILTER']).toContain((error as PgVectorError).code);
      }
      const select = await rejection(store().search([1, 0, 0], { select: [value] as never }));
      expect(select.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('write options, read options and the configuration', async () => {
    for (const value of odd) {
      for (const options of [{ batchSize: value }, { method: value }, { returnIds: value }]) {
        expect((await rejection(store().addMany([], options as never))).code).toBe('INVALID_ARGUMENT');
      }
      for (const key of [
        'dimensions',
        'table',
        'metric',
        'batchSize',
        'vectorType',
        'columns',
        'searchVia',
      ]) {
        if (key === 'columns' && isEmpty(value)) continue; // no column renamed
        let error: unknown;
        try {
          createVectorStore(prisma, { [key]: value } as never);
        } catch (e) {
          error = e;
        }
        expect(error, `${key}: ${typeof value}`).toBeInstanceOf(PgVectorError);
      }
    }
    expect(await ids()).toEqual(SEED);
  });

  it('NUL characters in metadata are refused before SQL, naming the document', async () => {
    for (const s of [store(), store({ pool })]) {
      const e = await rejection(
        s.addMany([
          { id: 'ok', content: 'x' },
          { id: 'bad', content: 'x', metadata: { note: 'a\u0000' } },
        ]),
      );
      expect(e.message).toBe('docs[1].metadata.note has a NUL character (\\u0000) at index 1');
    }
    expect(await ids()).toEqual(SEED);
  });
});

describe('limits (item 4)', () => {
  it('a filter of 40,000 conditions is refused at once, not run for seconds', async () => {
    const filter = { or: Array.from({ length: 40_000 }, (_, i) => ({ n: i })) };
    const started = performance.now();
    const e = await rejection(store().search([1, 0, 0], { filter }));
    expect(e.code).toBe('INVALID_FILTER');
    expect(e.message).toMatch(/more than 1000 conditions/);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('createdAt outside years 1-9999 is refused the same way on every path (item 5)', () => {
  it.each([
    ['INSERT', {}],
    ['COPY', { pool }],
  ])('%s', async (_path, extra) => {
    const s = store(extra);
    for (const createdAt of [new Date(Date.UTC(10_000, 0, 1)), new Date(-62_198_755_200_000 - 1)]) {
      for (const write of [
        () => s.add({ content: 'x', createdAt }),
        () => s.addMany([{ content: 'x', createdAt }]),
        () => s.upsertMany([{ id: 'u', content: 'x', createdAt }]),
      ]) {
        const e = await rejection(write());
        expect(e.code).toBe('INVALID_ARGUMENT');
        expect(e.message).toMatch(/createdAt must be a valid Date in years 1-9999, got a Date in year/);
      }
    }
    const last = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    const first = new Date(Date.UTC(2000, 0, 1));
    first.setUTCFullYear(1);
    await s.addMany([
      { id: 'first', content: 'x', createdAt: first },
      { id: 'last', content: 'x', createdAt: last },
    ]);
    const read = await s.getByIds(['first', 'last']);
    expect(read.map((d) => d.createdAt.toISOString())).toEqual([first.toISOString(), last.toISOString()]);
  });

  it('a document with getters is written as it was validated', async () => {
    let reads = 0;
    const doc = {
      content: 'x',
      get id() {
        reads++;
        return reads === 1 ? 'getter' : 'r1'; // a second read would overwrite r1
      },
    };
    expect(await store().upsert(doc)).toEqual({ id: 'getter', inserted: true });
    expect(reads).toBe(1);
    expect(await ids()).toEqual(['getter', ...SEED]);
  });
});

describe('messages (item 7)', () => {
  it('search(q, []) says it got an array', async () => {
    const e = await rejection(store().search([1, 0, 0], [] as never));
    expect(e.message).toBe('search options must be an object, got an array');
  });

  it('a repeated id in a streamed INSERT-path load names the rows', async () => {
    function* docs(repeat: string) {
      for (let i = 0; i < 30; i++) yield { id: i === 25 ? repeat : `s${i}`, content: 'x' };
    }
    const earlier = await rejection(store().addMany(docs('s3'), { batchSize: 10 }));
    expect(earlier.message).toBe("docs[25].id 's3' repeats docs[3].id");
    const quiet = await rejection(store().addMany(docs('s3'), { batchSize: 10, returnIds: false }));
    expect(quiet.server?.sqlState).toBe('23505');
    expect(quiet.message).toMatch(
      /^addMany: batch of docs\[20\.\.29\] failed \(SQLSTATE 23505\): .*\ndocs\[20\.\.29\]: one of these ids was given earlier in this load \(with returnIds: false no ids are kept to say which\)$/s,
    );
    const taken = await rejection(store().addMany(docs('r2'), { batchSize: 10, returnIds: false }));
    expect(taken.message).toMatch(
      /^addMany: batch of docs\[20\.\.29\] failed \(SQLSTATE 23505\): .*\ndocs\[25\]\.id 'r2' is already in the table$/s,
    );
    const taken2 = await rejection(store().addMany(docs('r2'), { batchSize: 10 }));
    expect(taken2.message).toMatch(/\ndocs\[25\]\.id 'r2' is already in the table$/);
    expect(await ids()).toEqual(SEED);
  });
});
