// The store's direct path to the pg.Pool given to PrismaPg: binary `COPY … FROM STDIN` bulk loads, and
// searches sent to the pool instead of $queryRaw, against PostgreSQL + pgvector over the wire (embedded PGlite
// server, or TEST_DATABASE_URL).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createVectorStore, type Metric, type SearchOptions, type VectorStore } from '../../src/index.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { itemsTableSql, random, randomBits, randomVector, rejection } from './helpers.js';

type Meta = { type: string; n: number };

let db: TestDatabase;
let pool: pg.Pool;
let prisma: PrismaClient;
let pgc: pg.Client;
const next = random(7);
const DIMS = 8;

async function rows(table: string): Promise<Record<string, unknown>[]> {
  const { rows } = await pgc.query(
    `SELECT id, content, metadata, embedding::text AS embedding, created_at FROM "${table}" ORDER BY id`,
  );
  return rows;
}

function store(table: string, extra: object = {}): VectorStore<Meta> {
  return createVectorStore<Meta>(prisma, {
    schema: db.schema,
    table,
    dimensions: DIMS,
    partialIndexPredicates: [],
    pool,
    ...extra,
  });
}

const doc = (i: number, extra: object = {}) => ({
  id: `d${String(i).padStart(5, '0')}`,
  content: `document ${i}`,
  metadata: { type: i % 2 === 0 ? 'article' : 'note', n: i },
  embedding: randomVector(next, DIMS),
  ...extra,
});

/** The pool has no connection checked out (a failed load released its connection). */
function expectPoolIdle(): void {
  expect(pool.idleCount).toBe(pool.totalCount);
  expect(pool.waitingCount).toBe(0);
}

beforeAll(async () => {
  db = await openTestDatabase();
  // As an application wires it: one pool for Prisma's adapter and for the store's COPY.
  pool = new pg.Pool({ ...db.poolConfig, max: 4 });
  prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema: db.schema }) });
  pgc = await db.connect();
  for (const [table, type] of [
    ['copy_items', `vector(${DIMS})`],
    ['insert_items', `vector(${DIMS})`],
    ['copy_half', 'halfvec(4)'],
    ['insert_half', 'halfvec(4)'],
    ['copy_sparse', 'sparsevec(10)'],
    ['copy_bits', 'bit(12)'],
    ['big_items', 'vector(2)'],
  ] as const) {
    await pgc.query(itemsTableSql(table, type));
  }
});

afterAll(async () => {
  await pgc?.end();
  await prisma?.$disconnect();
  await pool?.end();
  await db?.close();
});

describe('addMany with a pool', () => {
  it('writes exactly what the INSERT path writes, ids in input order', async () => {
    const at = new Date('2024-05-06T07:08:09.123Z');
    const docs = [
      doc(1),
      { content: 'no id, no metadata', embedding: randomVector(next, DIMS) },
      doc(2, { createdAt: at }),
      doc(3, { embedding: null, metadata: null, content: 'ünïcödé ✓ \t "quoted"' }),
      doc(4),
    ];
    const copied = await store('copy_items').addMany(docs);
    expect(copied).toMatchObject({
      method: 'copy',
      inserted: 5,
      updated: 0,
      analyzed: false,
      vacuumed: false,
    });
    // Rows with a creation time go in a COPY of their own (a different column list).
    expect(copied.batches).toBe(3);
    expect(copied.ids[0]).toBe('d00001');
    expect(copied.ids[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(copied.ids.slice(2)).toEqual(['d00002', 'd00003', 'd00004']);

    const inserted = await store('insert_items').addMany(
      docs.map((d, i) => (i === 1 ? { ...d, id: copied.ids[1] } : d)),
      { method: 'insert' },
    );
    expect(inserted).toMatchObject({ method: 'insert', inserted: 5, batches: 1 });
    expect(inserted).not.toHaveProperty('copySkipped');

    const a = await rows('copy_items');
    const b = await rows('insert_items');
    const withoutDefaultTimes = (list: Record<string, unknown>[]) =>
      list.map((r) => ({ ...r, created_at: r.id === 'd00002' ? r.created_at : 'default' }));
    expect(withoutDefaultTimes(a)).toEqual(withoutDefaultTimes(b));
    expect(a.find((r) => r.id === 'd00002')?.created_at).toEqual(at);
    // Rows without a creation time got the column's default (now(), the transaction's start).
    const defaulted = a.find((r) => r.id === 'd00001')?.created_at as Date;
    expect(Math.abs(defaulted.getTime() - Date.now())).toBeLessThan(60_000);
    expect(a.find((r) => r.id === 'd00003')).toMatchObject({
      content: 'ünïcödé ✓ \t "quoted"',
      metadata: null,
      embedding: null,
    });
    expectPoolIdle();
  });

  it('halfvec, sparsevec and bit go in their binary formats (halfvec rounded like the server casts)', async () => {
    const halfs = [
      [0.1, -2.5, 65504, 1e-7],
      [1 / 3, 0.000061, -0.0000001, 1234.5678],
      [2049, 4097, 0.99951171875, -65519],
    ];
    const half = { dimensions: 4, vectorType: 'halfvec' as const };
    expect(
      (
        await store('copy_half', half).addMany(
          halfs.map((embedding, i) => ({ id: `h${i}`, content: 'h', embedding })),
        )
      ).method,
    ).toBe('copy');
    await store('insert_half', half).addMany(
      halfs.map((embedding, i) => ({ id: `h${i}`, content: 'h', embedding })),
      { method: 'insert' },
    );
    expect(await rows('copy_half')).toEqual(
      (await rows('insert_half')).map((r) => ({ ...r, created_at: expect.any(Date) })),
    );

    const sparse = createVectorStore(prisma, {
      schema: db.schema,
      table: 'copy_sparse',
      dimensions: 10,
      vectorType: 'sparsevec',
      partialIndexPredicates: [],
      pool,
    });
    const s = await sparse.addMany([
      { id: 's1', content: 's', embedding: { dims: 10, indices: [0, 7], values: [0.5, -1.25] } },
      { id: 's2', content: 's', embedding: new Map([[9, 3]]) },
    ]);
    expect(s.method).toBe('copy');
    expect((await rows('copy_sparse')).map((r) => r.embedding)).toEqual(['{1:0.5,8:-1.25}/10', '{10:3}/10']);

    const bits = createVectorStore(prisma, {
      schema: db.schema,
      table: 'copy_bits',
      dimensions: 12,
      vectorType: 'bit',
      metric: 'hamming',
      partialIndexPredicates: [],
      pool,
    });
    const value = randomBits(next, 12);
    expect((await bits.addMany([{ id: 'b1', content: 'b', embedding: value }])).method).toBe('copy');
    expect((await rows('copy_bits'))[0]?.embedding).toBe(value);
  });

  it('streams an async iterable over several COPY statements in one transaction, then ANALYZE and VACUUM', async () => {
    // 2,400 rows of ~8 KiB: more than one 16 MiB COPY statement.
    const big = 'x'.repeat(8 * 1024);
    async function* source() {
      for (let i = 0; i < 2_400; i++) yield { id: `big${i}`, content: big, embedding: [i, 1] };
    }
    const r = await store('big_items', { dimensions: 2 }).addMany(source(), { returnIds: false });
    expect(r).toMatchObject({ method: 'copy', inserted: 2_400, ids: [], analyzed: true, vacuumed: true });
    expect(r.batches).toBe(2);
    const { rows: stats } = await pgc.query(
      'SELECT count(*)::int AS n, min(embedding::text) AS first FROM big_items WHERE embedding IS NOT NULL',
    );
    expect(stats[0]).toEqual({ n: 2_400, first: '[0,1]' });
    await pgc.query('DELETE FROM big_items');
  });

  it('a duplicate key in a later COPY statement rolls back the whole load and names the document', async () => {
    await pgc.query("INSERT INTO big_items (id, content) VALUES ('existing', 'already there')");
    const big = 'y'.repeat(8 * 1024);
    function* source() {
      for (let i = 0; i < 2_400; i++)
        yield { id: i === 2_300 ? 'existing' : `dup${i}`, content: big, embedding: [1, i] };
    }
    const e = await rejection(store('big_items', { dimensions: 2 }).addMany(source()));
    expect(e.code).toBe('DATABASE_ERROR');
    expect(e.message).toMatch(/^addMany: COPY \(docs\[2300\]\) failed \(SQLSTATE 23505\)/);
    expect(e.server?.sqlState).toBe('23505');
    expect((await pgc.query('SELECT id FROM big_items')).rows).toEqual([{ id: 'existing' }]);
    expectPoolIdle();
    await pgc.query('DELETE FROM big_items');
  });

  it('an invalid document in a stream aborts the COPY: nothing lands, the error names it', async () => {
    async function* source() {
      for (let i = 0; i < 3_000; i++) {
        yield {
          id: `bad${i}`,
          content: 'x'.repeat(8 * 1024),
          embedding: i === 2_500 ? [1, Number.NaN] : [1, i],
        };
      }
    }
    const e = await rejection(store('big_items', { dimensions: 2 }).addMany(source()));
    expect(e.code).toBe('INVALID_VECTOR');
    expect(e.message).toMatch(/^docs\[2500\]\.embedding/);
    expect((await pgc.query('SELECT count(*)::int AS n FROM big_items')).rows[0].n).toBe(0);
    expectPoolIdle();

    // A source that throws: its own error, nothing written; an id given twice: refused before the server.
    async function* failing() {
      yield { id: 'f1', content: 'ok', embedding: [1, 1] };
      throw new Error('upstream closed');
    }
    await expect(store('big_items', { dimensions: 2 }).addMany(failing())).rejects.toThrow('upstream closed');
    const twice = await rejection(
      store('big_items', { dimensions: 2 }).addMany([
        { id: 'same', content: 'a', embedding: [1, 0] },
        { id: 'same', content: 'b', embedding: [0, 1] },
      ]),
    );
    expect(twice.message).toBe("docs[1].id 'same' repeats docs[0].id");
    expect((await pgc.query('SELECT count(*)::int AS n FROM big_items')).rows[0].n).toBe(0);
    expectPoolIdle();

    // The pool and the session are fine afterwards.
    expect(
      (
        await store('big_items', { dimensions: 2 }).addMany([
          { id: 'after', content: 'a', embedding: [1, 0] },
        ])
      ).method,
    ).toBe('copy');
    await pgc.query('DELETE FROM big_items');
  });

  it("uses INSERTs in a caller's transaction or when told, and says why", async () => {
    const s = store('copy_items');
    await prisma.$transaction(async (tx) => {
      const r = await s.withClient(tx).addMany([doc(10), doc(11)]);
      expect(r.method).toBe('insert');
      expect(r.copySkipped).toMatch(/caller's transaction/);
      await expect(s.withClient(tx).addMany([doc(12)], { method: 'copy' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });
    const up = await s.upsertMany([doc(10, { content: 'changed' }), doc(13)], { method: 'insert' });
    expect(up).toMatchObject({ method: 'insert', inserted: 1, updated: 1 });
    expect(up).not.toHaveProperty('copySkipped');
    const plain = createVectorStore(prisma, {
      schema: db.schema,
      table: 'copy_items',
      dimensions: DIMS,
      partialIndexPredicates: [],
    });
    expect((await plain.addMany([doc(14)])).method).toBe('insert');
    expect((await plain.addMany([doc(15)])).copySkipped).toBeUndefined();
    await expect(plain.addMany([doc(16)], { method: 'copy' })).rejects.toThrow(/no pool/);
  });

  it('upserts through a staging table: new rows inserted, existing ones replaced, creation times kept', async () => {
    const s = store('copy_items');
    await s.addMany([doc(50)]);
    const before = await rows('copy_items');
    const kept = before.find((r) => r.id === 'd00050');
    const at = new Date('2020-02-02T02:02:02.020Z');
    async function* source() {
      yield doc(50, { content: 'replaced', metadata: { type: 'note', n: -1 } });
      yield doc(51, { createdAt: at });
      yield doc(52, { embedding: null });
    }
    const r = await s.upsertMany(source());
    expect(r).toMatchObject({ method: 'copy', inserted: 2, updated: 1, ids: ['d00050', 'd00051', 'd00052'] });
    const after = await rows('copy_items');
    expect(after.find((x) => x.id === 'd00050')).toMatchObject({
      content: 'replaced',
      metadata: { type: 'note', n: -1 },
      created_at: kept?.created_at,
    });
    expect(after.find((x) => x.id === 'd00051')?.created_at).toEqual(at);
    expect(after.find((x) => x.id === 'd00052')?.embedding).toBeNull();
    expect(after).toHaveLength(before.length + 2);

    // Ids are required and distinct, in arrays and streams alike; nothing is written then.
    await expect(s.upsertMany([{ content: 'no id', embedding: null }])).rejects.toThrow(
      'docs[0].id is required to upsert',
    );
    function* twice() {
      yield doc(60);
      yield doc(61);
      yield doc(60, { content: 'again' });
    }
    await expect(s.upsertMany(twice())).rejects.toThrow("docs[2].id 'd00060' repeats docs[0].id");
    expect(await rows('copy_items')).toHaveLength(after.length);
    expectPoolIdle();
    // The staging table went with the transaction: the next upsert creates it again.
    expect(await s.upsertMany([doc(51, { content: 'again' })])).toMatchObject({ inserted: 0, updated: 1 });
  });

  it('refuses a pool that is not a pg.Pool, and bad options', async () => {
    expect(() => store('copy_items', { pool: 'postgres://x' })).toThrow(/pool must be a pg.Pool/);
    expect(() => store('copy_items', { pool: { connect() {} } })).toThrow(/connect\(\) and query\(\)/);
    await expect(store('copy_items').addMany([doc(20)], { method: 'fast' as never })).rejects.toThrow(
      /method must be/,
    );
    await expect(store('copy_items').addMany(42 as never)).rejects.toThrow(/array or an \(async\) iterable/);
  });
});

describe('addMany with an iterable and no pool (INSERTs)', () => {
  const plain = () =>
    createVectorStore<Meta>(prisma, {
      schema: db.schema,
      table: 'big_items',
      dimensions: 2,
      partialIndexPredicates: [],
    });

  it('validates and inserts batch by batch in one transaction, then ANALYZE and VACUUM', async () => {
    function* source() {
      for (let i = 0; i < 1_200; i++) yield { id: `s${i}`, content: 's', embedding: [1, i] };
    }
    const r = await plain().addMany(source(), { batchSize: 500 });
    expect(r).toMatchObject({
      method: 'insert',
      inserted: 1_200,
      batches: 3,
      analyzed: true,
      vacuumed: true,
    });
    expect(r.ids.slice(0, 2)).toEqual(['s0', 's1']);
    expect(r.ids).toHaveLength(1_200);
    await pgc.query('DELETE FROM big_items');
  });

  it('an invalid document or a failing batch rolls back the batches before it', async () => {
    async function* invalid() {
      for (let i = 0; i < 1_200; i++)
        yield { id: `s${i}`, content: 's', embedding: i === 1_100 ? [1] : [1, i] };
    }
    const e = await rejection(plain().addMany(invalid(), { batchSize: 500 }));
    expect(e.code).toBe('DIMENSION_MISMATCH');
    expect(e.message).toMatch(/^docs\[1100\]\.embedding/);
    await pgc.query("INSERT INTO big_items (id, content) VALUES ('taken', 'x')");
    function* clash() {
      for (let i = 0; i < 1_200; i++)
        yield { id: i === 1_100 ? 'taken' : `s${i}`, content: 's', embedding: [1, i] };
    }
    const dup = await rejection(plain().addMany(clash(), { batchSize: 500 }));
    expect(dup.message).toMatch(/^addMany: batch of docs\[1000\.\.1199\] failed \(SQLSTATE 23505\)/);
    expect((await pgc.query('SELECT id FROM big_items')).rows).toEqual([{ id: 'taken' }]);
    await pgc.query('DELETE FROM big_items');
  });
});

describe('search through the pool', () => {
  const viaPool = () => store('search_items');
  const viaPrisma = () => store('search_items', { searchVia: 'prisma' });
  const queries = Array.from({ length: 4 }, () => randomVector(next, DIMS));
  const base = Date.UTC(2024, 0, 1, 22, 30); // late evening UTC: another calendar day west of Greenwich

  beforeAll(async () => {
    await pgc.query(itemsTableSql('search_items', `vector(${DIMS})`));
    await store('search_items').addMany(
      Array.from({ length: 300 }, (_, i) => doc(i, { createdAt: new Date(base + i * 3_600_000) })),
    );
    await pgc.query('CREATE INDEX ON search_items USING hnsw (embedding vector_cosine_ops)');
  });

  const cases: [string, SearchOptions<Meta, 'content' | 'metadata' | 'createdAt', boolean>][] = [
    ['defaults', {}],
    ['k and a metadata filter', { k: 5, filter: { type: 'article' } }],
    ['operators', { filter: { n: { gte: 100, lt: 200 }, type: { in: ['note', 'x'] } } }],
    [
      'createdAt range',
      {
        filter: { createdAt: { gte: new Date(base + 50 * 3_600_000), lt: new Date(base + 80 * 3_600_000) } },
      },
    ],
    ['efSearch (settings in a transaction)', { efSearch: 80 }],
    ['iterative scan off', { filter: { type: 'note' }, iterativeScan: 'off' }],
    ['select and embeddings', { select: ['createdAt'], includeEmbedding: true }],
    ['maxDistance', { maxDistance: 0.9 }],
    ['another metric', { metric: 'l2' as Metric, k: 3 }],
  ];

  it.each(cases)('%s: the same hits as through Prisma', async (_, options) => {
    for (const q of queries) {
      const a = await viaPool().search(q, options);
      const b = await viaPrisma().search(q, options);
      expect(a).toEqual(b);
      expect(a.results.length).toBeGreaterThan(0);
    }
  });

  it('reads timestamps as UTC and sends Dates as UTC in any process time zone', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      expect(new Date(base).getDate()).toBe(1); // the zone is in effect: 14:30 on Jan 1 there
      const options = { k: 300, filter: { createdAt: { gte: new Date(base + 10 * 3_600_000) } } };
      const a = await viaPool().search(queries[0] as number[], options);
      expect(a).toEqual(await viaPrisma().search(queries[0] as number[], options));
      expect(a.results).toHaveLength(290);
      const hit = a.results.find((h) => h.id === 'd00010');
      expect(hit?.createdAt).toEqual(new Date(base + 10 * 3_600_000));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('explains the same plan, translates server errors the same way, and releases its connections', async () => {
    const q = queries[0] as number[];
    expect(await viaPool().explainSearch(q, { efSearch: 40 })).toEqual(
      await viaPrisma().explainSearch(q, { efSearch: 40 }),
    );
    // A table that does not exist: the server's error, translated the same way on both paths.
    const wrong = (via: 'pool' | 'prisma') =>
      rejection(store('no_such_items', { searchVia: via }).search(queries[0] as number[], { efSearch: 50 }));
    const [a, b] = [await wrong('pool'), await wrong('prisma')];
    expect(a.message).toMatch(
      /^search failed \(SQLSTATE 42P01\): relation "[a-z_0-9]*\.?no_such_items" does not exist/,
    );
    expect({ code: a.code, server: a.server?.sqlState, fix: a.fix }).toEqual({
      code: b.code,
      server: b.server?.sqlState,
      fix: b.fix,
    });
    expectPoolIdle();
  });

  it("goes through Prisma in a caller's transaction (it sees the transaction's own rows)", async () => {
    await prisma
      .$transaction(async (tx) => {
        const inTx = viaPool().withClient(tx);
        await inTx.add({ id: 'uncommitted', content: 'x', embedding: queries[1] as number[] });
        const r = await inTx.search(queries[1] as number[], { k: 1, efSearch: 100 });
        expect(r.results[0]?.id).toBe('uncommitted');
        throw new Error('roll back');
      })
      .catch((error: Error) => expect(error.message).toBe('roll back'));
    expect((await viaPool().search(queries[1] as number[], { k: 1 })).results[0]?.id).not.toBe('uncommitted');
  });

  it('refuses searchVia pool without a pool, and unknown values', () => {
    const config = { schema: db.schema, table: 'search_items', dimensions: DIMS, partialIndexPredicates: [] };
    expect(() => createVectorStore(prisma, { ...config, searchVia: 'pool' })).toThrow(
      /searchVia 'pool' needs a pool/,
    );
    expect(() => createVectorStore(prisma, { ...config, pool, searchVia: 'wire' as never })).toThrow(
      /searchVia must be one of/,
    );
    expect(createVectorStore(prisma, { ...config, searchVia: 'prisma' }).config.searchVia).toBe('prisma');
    expect(createVectorStore(prisma, { ...config, pool }).config.searchVia).toBe('pool');
  });
});

describe('a server that refuses COPY', () => {
  // PostgreSQL refuses COPY FROM into a table under row-level security (SQLSTATE 0A000); INSERTs work.
  const role = `ppv_rls_${process.pid}`;
  let rlsPool: pg.Pool;
  let rlsPrisma: PrismaClient;
  beforeAll(async () => {
    await pgc.query(itemsTableSql('rls_items', `vector(${DIMS})`));
    await pgc.query(`CREATE ROLE ${role}`);
    await pgc.query(`GRANT USAGE ON SCHEMA "${db.schema}" TO ${role}`);
    await pgc.query(`GRANT ALL ON rls_items TO ${role}`);
    await pgc.query('ALTER TABLE rls_items ENABLE ROW LEVEL SECURITY');
    await pgc.query('CREATE POLICY everything ON rls_items USING (true) WITH CHECK (true)');
    rlsPool = new pg.Pool({ ...db.poolConfig, max: 2 });
    rlsPool.on('connect', (client) => {
      void client.query(`SET ROLE ${role}`);
    });
    rlsPrisma = new PrismaClient({ adapter: new PrismaPg(rlsPool, { schema: db.schema }) });
  });
  afterAll(async () => {
    await rlsPrisma?.$disconnect();
    await rlsPool?.end();
    // The embedded server has one session: the role set through the pool is still in effect there.
    await pgc.query('RESET ROLE');
    await pgc.query('DROP TABLE rls_items');
    await pgc.query(`DROP OWNED BY ${role}`);
    await pgc.query(`DROP ROLE ${role}`);
  });

  it('is detected on the first load, which falls back to INSERTs; later loads skip COPY', async () => {
    const s = createVectorStore<Meta>(rlsPrisma, {
      schema: db.schema,
      table: 'rls_items',
      dimensions: DIMS,
      partialIndexPredicates: [],
      pool: rlsPool,
    });
    async function* source() {
      for (let i = 0; i < 3; i++) yield doc(i);
    }
    const first = await s.addMany(source());
    expect(first).toMatchObject({ method: 'insert', inserted: 3, ids: ['d00000', 'd00001', 'd00002'] });
    expect(first.copySkipped).toMatch(
      /the server refused COPY: COPY FROM not supported with row-level security/,
    );
    const second = await s.addMany([doc(3)]);
    expect(second.method).toBe('insert');
    expect(second.copySkipped).toMatch(/refused COPY/);
    await expect(s.addMany([doc(4)], { method: 'copy' })).rejects.toThrow(/refused COPY/);
    expect((await pgc.query('SELECT count(*)::int AS n FROM rls_items')).rows[0].n).toBe(4);
  });
});
