// The vector store against PostgreSQL + pgvector over the wire (embedded PGlite server, or TEST_DATABASE_URL),
// through Prisma Client with @prisma/adapter-pg: vectors travel in pgvector's binary format.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import {
  createVectorStore,
  distanceToSimilarity,
  type Filter,
  isPgVectorError,
  type Metric,
  PgVectorError,
  type SearchHit,
  type VectorStore,
  vectorStoreExtension,
} from '../../src/index.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { readServerFacts, type ServerFacts } from '../support/server-facts.js';
import {
  exactDistance,
  itemsTableSql,
  prismaOn,
  random,
  randomBits,
  randomVector,
  rejection,
} from './helpers.js';

type Meta = {
  type: 'article' | 'note';
  lang: string;
  price?: number;
  tags?: string[];
  author?: { name: string };
};

let db: TestDatabase;
let pgc: pg.Client;
let facts: ServerFacts;
const next = random(42);
const DIMS = 8;

async function count(table: string): Promise<number> {
  const { rows } = await pgc.query(`SELECT count(*)::int AS n FROM "${db.schema}"."${table}"`);
  return rows[0].n;
}

beforeAll(async () => {
  db = await openTestDatabase();
  pgc = await db.connect();
  facts = await readServerFacts(pgc);
  await pgc.query(itemsTableSql('items', `vector(${DIMS})`));
  await pgc.query(itemsTableSql('bits', 'bit(16)'));
  await pgc.query(itemsTableSql('sparse_items', 'sparsevec(10)'));
  await pgc.query(itemsTableSql('half_items', 'halfvec(4)'));
  await pgc.query(itemsTableSql('bulk_items', 'vector(2)'));
  await pgc.query(itemsTableSql('indexed_items', 'vector(2)'));
  await pgc.query('CREATE INDEX ON indexed_items (content)');
});

afterAll(async () => {
  await pgc?.end();
  await db?.close();
});

function itemsStore<M extends object = Meta>(prisma: PrismaClient = db.prisma, table = 'items') {
  return createVectorStore<M>(prisma, {
    schema: db.schema,
    table,
    dimensions: DIMS,
    partialIndexPredicates: [],
  });
}

describe('documents table (defaults)', () => {
  const vector = () => randomVector(next, 1536);
  let store: VectorStore<Meta>;
  beforeAll(() => {
    store = createVectorStore<Meta>(db.prisma, { schema: db.schema });
  });

  it('sends vectors in binary through @prisma/adapter-pg', () => {
    expect(store.vectorEncoding).toBe('binary');
    expect(store.inTransaction).toBe(false);
  });

  it('adds, reads, updates, upserts and deletes documents', async () => {
    const embedding = vector();
    const { id, createdAt } = await store.add({
      content: 'first',
      metadata: { type: 'article', lang: 'en' },
      embedding,
    });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(createdAt).toBeInstanceOf(Date);

    const [doc] = await store.getByIds([id], { includeEmbedding: true });
    expect(doc).toMatchObject({ id, content: 'first', metadata: { type: 'article', lang: 'en' }, createdAt });
    // pgvector prints the shortest decimal of each float4: rounding it back to float4 gives the value stored.
    expect(doc?.embedding?.map(Math.fround)).toEqual(embedding);

    expect(await store.update(id, { content: 'changed', metadata: null, embedding: null })).toBe(true);
    expect(await store.update('missing', { content: 'x' })).toBe(false);
    const [changed] = await store.getByIds([id, 'missing', id], { includeEmbedding: true });
    expect(changed).toMatchObject({ id, content: 'changed', metadata: null, embedding: null });

    expect(await store.upsert({ id: 'fixed-1', content: 'v1', embedding: vector() })).toEqual({
      id: 'fixed-1',
      inserted: true,
    });
    const at = new Date('2024-03-01T10:00:00.000Z');
    expect(await store.upsert({ id: 'fixed-1', content: 'v2', createdAt: at })).toEqual({
      id: 'fixed-1',
      inserted: false,
    });
    const [upserted] = await store.getByIds(['fixed-1'], { includeEmbedding: true });
    expect(upserted).toMatchObject({ content: 'v2', embedding: null });
    expect(upserted?.createdAt).not.toEqual(at); // an update keeps the creation time

    expect(await store.deleteByIds([id, 'fixed-1', 'missing'])).toEqual({ deleted: 2 });
    expect(await store.getByIds([id])).toEqual([]);
  });

  it('stores a given creation time exactly', async () => {
    const at = new Date('2023-12-31T23:59:58.123Z');
    const { id, createdAt } = await store.add({ id: 'dated', content: 'x', createdAt: at });
    expect(createdAt).toEqual(at);
    expect((await store.getByIds([id]))[0]?.createdAt).toEqual(at);
    await store.deleteByIds([id]);
  });

  it('addText / addTexts / searchText use the default HashingEmbedder', async () => {
    await store.addText(
      'pgvector stores embeddings next to relational rows',
      { type: 'article', lang: 'en' },
      { id: 't1' },
    );
    const r = await store.addTexts([
      { id: 't2', content: 'HNSW indexes trade recall for speed', metadata: { type: 'note', lang: 'en' } },
      { id: 't3', content: 'Kochrezepte mit Kartoffeln', metadata: { type: 'note', lang: 'de' } },
    ]);
    expect(r).toMatchObject({ inserted: 2, ids: ['t2', 't3'], analyzed: false });
    const { results } = await store.searchText('HNSW recall', { k: 3, filter: { lang: 'en' } });
    expect(results[0]?.id).toBe('t2');
    expect(results.map((h) => h.id).sort()).toEqual(['t1', 't2']);
    await store.deleteByIds(['t1', 't2', 't3']);
  });
});

describe('search: each metric orders exactly as computed in JS', () => {
  const rows = Array.from({ length: 40 }, (_, i) => ({ id: `v${i}`, embedding: randomVector(next, DIMS) }));
  const query = randomVector(next, DIMS);
  beforeAll(async () => {
    await itemsStore().addMany(rows.map((r) => ({ ...r, content: r.id })));
  });

  for (const metric of ['cosine', 'l2', 'innerProduct', 'l1'] as const) {
    it(metric, async () => {
      const store = createVectorStore(db.prisma, {
        schema: db.schema,
        table: 'items',
        dimensions: DIMS,
        metric,
        partialIndexPredicates: [],
      });
      const expected = rows
        .map((r) => ({ id: r.id, distance: exactDistance[metric](r.embedding, query) }))
        .sort((a, b) => a.distance - b.distance);
      const { results, underfilled, warnings } = await store.search(query, { k: 40 });
      expect(underfilled).toBeUndefined();
      expect(warnings).toEqual([]);
      expect(results).toHaveLength(40);
      results.forEach((hit, i) => {
        expect(hit.distance).toBeCloseTo((expected[i] as { distance: number }).distance, 5);
        const own = expected.find((e) => e.id === hit.id);
        expect(hit.distance).toBeCloseTo(own?.distance as number, 5);
        expect(hit.similarity).toBeCloseTo(distanceToSimilarity(metric, hit.distance), 12);
      });
      expect(results.map((h) => h.id)).toEqual(expected.map((e) => e.id));
    });
  }

  it('a metric other than the configured one works, with a warning that no index serves it', async () => {
    const { results, warnings } = await itemsStore().search(query, { k: 3, metric: 'l2' });
    const best = rows
      .map((r) => ({ id: r.id, d: exactDistance.l2(r.embedding, query) }))
      .sort((a, b) => a.d - b.d);
    expect(results.map((h) => h.id)).toEqual(best.slice(0, 3).map((b) => b.id));
    expect(warnings[0]).toMatch(/differs from the store's 'cosine'.*cannot use the index/);
  });

  it('maxDistance and minSimilarity keep only close rows, still best first', async () => {
    const store = itemsStore();
    const all = (await store.search(query, { k: 40 })).results;
    const cut = (all[9] as { distance: number }).distance;
    const within = await store.search(query, { k: 40, maxDistance: cut });
    expect(within.results.map((h) => h.id)).toEqual(all.slice(0, 10).map((h) => h.id));
    expect(within.underfilled).toEqual({ found: 10, requested: 40 });
    const similar = await store.search(query, { k: 40, minSimilarity: 1 - cut - 1e-9 });
    expect(similar.results.map((h) => h.id)).toEqual(all.slice(0, 10).map((h) => h.id));
  });

  it('select and includeEmbedding shape the hits', async () => {
    const { results } = await itemsStore().search(query, {
      k: 1,
      select: ['content'],
      includeEmbedding: true,
    });
    const hit = results[0];
    expect(Object.keys(hit ?? {}).sort()).toEqual(['content', 'distance', 'embedding', 'id', 'similarity']);
    expect(hit?.embedding.map(Math.fround)).toEqual(rows.find((r) => r.id === hit?.id)?.embedding);
  });

  it('hamming and jaccard on bit(16)', async () => {
    const bitRows = Array.from({ length: 30 }, (_, i) => ({
      id: `b${i}`,
      content: 'b',
      embedding: randomBits(next, 16),
    }));
    const q = randomBits(next, 16);
    for (const metric of ['hamming', 'jaccard'] as const) {
      const store = createVectorStore(db.prisma, {
        schema: db.schema,
        table: 'bits',
        vectorType: 'bit',
        dimensions: 16,
        metric,
        partialIndexPredicates: [],
      });
      if (metric === 'hamming') await store.addMany(bitRows);
      const { results } = await store.search(q, { k: 30, includeEmbedding: true });
      const expected = bitRows.map((r) => exactDistance[metric](r.embedding, q)).sort((a, b) => a - b);
      expect(results.map((h) => h.distance)).toEqual(expected.map((d) => expect.closeTo(d, 6)));
      for (const hit of results) {
        const row = bitRows.find((r) => r.id === hit.id);
        expect(hit.embedding).toBe(row?.embedding);
        expect(hit.distance).toBeCloseTo(exactDistance[metric](row?.embedding ?? '', q), 6);
      }
      if (metric === 'hamming') expect(results[0]?.similarity).toBe(1 - (results[0]?.distance ?? 0) / 16);
    }
  });

  it('sparsevec: binary write, search and read back (zero-based indices)', async () => {
    const store = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'sparse_items',
      vectorType: 'sparsevec',
      dimensions: 10,
      metric: 'l2',
      partialIndexPredicates: [],
    });
    await store.addMany([
      { id: 's1', content: 'a', embedding: { indices: [0, 9], values: [1, 2], dims: 10 } },
      { id: 's2', content: 'b', embedding: new Map([[3, 1]]) },
    ]);
    const { results } = await store.search(
      { indices: [9], values: [2], dims: 10 },
      { k: 2, includeEmbedding: true },
    );
    expect(results.map((h) => [h.id, h.distance])).toEqual([
      ['s1', 1],
      ['s2', Math.sqrt(5)],
    ]);
    expect(results[0]?.embedding).toEqual({ indices: [0, 9], values: [1, 2], dims: 10 });
  });

  it('halfvec: binary vectors are cast to halfvec on the server', async () => {
    const store = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'half_items',
      vectorType: 'halfvec',
      dimensions: 4,
      metric: 'l2',
      partialIndexPredicates: [],
    });
    await store.add({ id: 'h1', content: 'h', embedding: [0.5, 1, 1.5, 2] });
    const { results } = await store.search([0.5, 1, 1.5, 2], { k: 1, includeEmbedding: true });
    expect(results[0]).toMatchObject({ id: 'h1', distance: 0, embedding: [0.5, 1, 1.5, 2] });
  });
});

describe('search: filters match a hand-computed selection', () => {
  const table = 'filtered_items';
  const docs = Array.from({ length: 60 }, (_, i) => ({
    id: `f${i}`,
    content: `doc ${i}`,
    metadata: {
      type: i % 3 === 0 ? 'article' : 'note',
      lang: ['en', 'de', 'fr'][i % 4 === 0 ? 1 : i % 5 === 0 ? 2 : 0] as string,
      price: i,
      tags: i % 2 === 0 ? ['even'] : ['odd', ...(i % 7 === 0 ? ['seven'] : [])],
      ...(i % 6 === 0 ? { author: { name: i % 12 === 0 ? 'Ada' : 'Grace' } } : {}),
    } satisfies Meta,
    createdAt: new Date(Date.UTC(2024, 0, 1 + i)),
    embedding: randomVector(next, DIMS),
  }));
  const query = randomVector(next, DIMS);
  let store: VectorStore<Meta>;
  beforeAll(async () => {
    await pgc.query(itemsTableSql(table, `vector(${DIMS})`));
    store = createVectorStore<Meta>(db.prisma, { schema: db.schema, table, dimensions: DIMS });
    await store.addMany(docs);
  });

  const cases: [string, Filter<Meta>, (d: (typeof docs)[number]) => boolean][] = [
    ['equality (partial-index predicate)', { type: 'article' }, (d) => d.metadata.type === 'article'],
    ['in', { lang: { in: ['de', 'fr'] } }, (d) => d.metadata.lang !== 'en'],
    ['range', { price: { gte: 10, lt: 20 } }, (d) => d.metadata.price >= 10 && d.metadata.price < 20],
    ['contains', { tags: { contains: ['seven'] } }, (d) => d.metadata.tags.includes('seven')],
    ['nested path', { 'author.name': 'Ada' }, (d) => d.metadata.author?.name === 'Ada'],
    ['exists false', { author: { exists: false } }, (d) => d.metadata.author === undefined],
    ['not', { not: { lang: 'en' } }, (d) => d.metadata.lang !== 'en'],
    [
      'or + and',
      { or: [{ type: 'article', lang: 'de' }, { price: { gt: 55 } }] },
      (d) => (d.metadata.type === 'article' && d.metadata.lang === 'de') || d.metadata.price > 55,
    ],
    [
      'createdAt',
      { createdAt: { gte: new Date(Date.UTC(2024, 0, 11)), lt: new Date(Date.UTC(2024, 0, 21)) } },
      (d) => d.createdAt >= new Date(Date.UTC(2024, 0, 11)) && d.createdAt < new Date(Date.UTC(2024, 0, 21)),
    ],
  ];
  for (const [name, filter, predicate] of cases) {
    it(name, async () => {
      const expected = docs
        .filter(predicate)
        .map((d) => ({ id: d.id, distance: exactDistance.cosine(d.embedding, query) }))
        .sort((a, b) => a.distance - b.distance);
      expect(expected.length).toBeGreaterThan(0);
      const { results, underfilled, settings, plan } = await store.search(query, { k: 60, filter });
      expect(results.map((h) => h.id)).toEqual(expected.map((e) => e.id));
      expect(underfilled).toEqual({ found: expected.length, requested: 60 });
      if (plan.strategy === 'exact') {
        expect(settings).toEqual({}); // ranked exactly: no index settings
      } else {
        // pgvector < 0.8 has no iterative scan: the store raises ef_search to 10 × k instead.
        expect(settings).toMatchObject(
          facts.iterativeScan ? { iterativeScan: 'relaxed_order' } : { efSearch: 600 },
        );
      }
      // Every strategy gives the same rows.
      const iterative = await store.search(query, { k: 60, filter, strategy: 'iterative' });
      expect(iterative.results.map((h) => h.id)).toEqual(expected.map((e) => e.id));
    });
  }

  it('deleteWhere deletes what a filter matches and refuses an empty filter', async () => {
    const refused = await rejection(store.deleteWhere({}));
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.fix).toMatch(/all: true/);
    expect((await rejection(store.deleteWhere({ and: [] }))).code).toBe('INVALID_ARGUMENT');
    const before = await count(table);
    const fr = docs.filter((d) => d.metadata.lang === 'fr').length;
    expect(await store.deleteWhere({ lang: 'fr' })).toEqual({ deleted: fr, vacuumRecommended: false });
    expect(await count(table)).toBe(before - fr);
    expect((await store.deleteWhere({}, { all: true })).deleted).toBe(before - fr);
    expect(await count(table)).toBe(0);
  });
});

describe('bulk writes', () => {
  it('validates every document before any SQL and names the bad one', async () => {
    const docs = [
      { content: 'ok', embedding: [1, 2] },
      { content: 'ok', embedding: [1, 2] },
      { content: 'bad', embedding: [1, 2, 3] },
    ];
    const createStore = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'bulk_items',
      dimensions: 2,
    });
    const e = await rejection(createStore.addMany(docs));
    expect(e.code).toBe('DIMENSION_MISMATCH');
    expect(e.message).toMatch(/^docs\[2\]\.embedding: expected 2 dimensions, got 3/);
    const typo = await rejection(createStore.addMany([{ content: 'x', embeding: [1, 2] } as never]));
    expect(typo.message).toMatch(/docs\[0\] has an unknown key 'embeding'/);
    const nan = await rejection(
      createStore.addMany([{ content: 'x', metadata: { n: Number.NaN } }] as never),
    );
    expect(nan.message).toMatch(/docs\[0\]\.metadata\.n is NaN/);
    const dup = await rejection(
      createStore.addMany([
        { id: 'a', content: 'x' },
        { id: 'a', content: 'y' },
      ]),
    );
    expect(dup.message).toMatch(/docs\[1\]\.id 'a' repeats docs\[0\]\.id/);
    const zero = await rejection(createStore.add({ content: 'x', embedding: [0, 0] }));
    expect(zero.code).toBe('INVALID_VECTOR');
    expect(await count('bulk_items')).toBe(0);
  });

  it('a database error in a later batch rolls back the earlier batches', async () => {
    const store = createVectorStore(db.prisma, { schema: db.schema, table: 'bulk_items', dimensions: 2 });
    await store.add({ id: 'taken', content: 'existing', embedding: [1, 1] });
    const docs = Array.from({ length: 30 }, (_, i) => ({
      id: i === 25 ? 'taken' : `bulk-${i}`,
      content: `${i}`,
      embedding: [1, i + 1],
    }));
    const e = await rejection(store.addMany(docs, { batchSize: 10 }));
    expect(e.code).toBe('DATABASE_ERROR');
    expect(e.server?.sqlState).toBe('23505');
    expect(e.message).toMatch(/^addMany: batch 3 of 3 \(docs\[20\.\.29\]\) failed \(SQLSTATE 23505\)/);
    expect(await count('bulk_items')).toBe(1);
    await store.deleteByIds(['taken']);
  });

  it('sizes batches by bind parameters (65 535 per statement) and analyzes large loads', async () => {
    const store = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'bulk_items',
      dimensions: 2,
      metric: 'l2',
      batchSize: 65_535,
      analyzeThreshold: 20_000,
      vacuumAfterBulk: false,
    });
    // 3 parameters per row (content, metadata, embedding): at most 21 845 rows per INSERT.
    const docs = Array.from({ length: 25_000 }, (_, i) => ({
      content: 'c',
      metadata: { i },
      embedding: [i, 1],
    }));
    const started = Date.now();
    const result = await store.addMany(docs);
    const ms = Date.now() - started;
    expect(result).toMatchObject({
      inserted: 25_000,
      updated: 0,
      batches: 2,
      analyzed: true,
      vacuumed: false,
      vacuumRecommended: true,
    });
    expect(result.ids).toHaveLength(25_000);
    expect(await count('bulk_items')).toBe(25_000);
    const { rows } = await pgc.query(
      `SELECT reltuples::int AS n FROM pg_class WHERE oid = '"${db.schema}"."bulk_items"'::regclass`,
    );
    expect(rows[0].n).toBe(25_000); // ANALYZE ran
    console.info(`addMany: 25 000 rows in 2 batches + ANALYZE: ${ms} ms`);
    const maintained = await store.maintain();
    expect(maintained.statement).toBe(`VACUUM (ANALYZE) "${db.schema}"."bulk_items"`);
    expect((await store.deleteWhere({}, { all: true })).vacuumRecommended).toBe(true);
  });

  it('vacuums after a large bulk load on its own, and only recommends it inside a caller transaction', async () => {
    const store = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'bulk_items',
      dimensions: 2,
      analyzeThreshold: 50,
    });
    const vacuumCount = async () => {
      await pgc.query('SELECT pg_stat_force_next_flush()');
      const { rows } = await pgc.query(
        `SELECT vacuum_count::int AS n FROM pg_stat_user_tables WHERE relid = '"${db.schema}"."bulk_items"'::regclass`,
      );
      return rows[0].n as number;
    };
    const docs = (tag: string) =>
      Array.from({ length: 60 }, (_, i) => ({ content: `${tag}${i}`, embedding: [1, i + 1] }));
    const before = await vacuumCount();
    const own = await store.addMany(docs('own'));
    expect(own).toMatchObject({ inserted: 60, analyzed: true, vacuumed: true, vacuumRecommended: false });
    expect(await vacuumCount()).toBe(before + 1);

    const inTx = await db.prisma.$transaction((tx) => store.withClient(tx).addMany(docs('tx')), {
      timeout: 60_000,
    });
    expect(inTx).toMatchObject({ inserted: 60, analyzed: true, vacuumed: false, vacuumRecommended: true });
    expect(await vacuumCount()).toBe(before + 1);
    await store.deleteWhere({}, { all: true });
  });

  it('upsertMany inserts new ids and replaces existing ones in one statement per batch', async () => {
    const store = createVectorStore(db.prisma, { schema: db.schema, table: 'bulk_items', dimensions: 2 });
    await store.add({ id: 'u1', content: 'old', embedding: [1, 1] });
    const r = await store.upsertMany([
      { id: 'u1', content: 'new', embedding: [1, 2] },
      { id: 'u2', content: 'fresh', embedding: [2, 1] },
    ]);
    expect(r).toMatchObject({ inserted: 1, updated: 1, ids: ['u1', 'u2'], batches: 1 });
    expect((await store.getByIds(['u1']))[0]?.content).toBe('new');
    expect((await rejection(store.upsertMany([{ content: 'no id' }]))).message).toMatch(
      /docs\[0\]\.id is required/,
    );
    await store.deleteByIds(['u1', 'u2']);
  });

  // Four Prisma clients (pools of 2) at once. On the embedded wire server every connection shares ONE
  // session: its wire guard keeps the session for one client from Parse to Sync (and for a transaction), so
  // the clients' extended-protocol messages cannot interleave. store-pglite.test.ts runs the same in-process.
  it('concurrent adds and searches from several clients give consistent counts', async () => {
    const clients = Array.from({ length: 4 }, () => prismaOn(db.url, db.schema, 2));
    try {
      const stores = clients.map((c) =>
        createVectorStore(c, { schema: db.schema, table: 'bulk_items', dimensions: 2, metric: 'l2' }),
      );
      const work = stores.flatMap((store, s) => [
        ...Array.from({ length: 5 }, (_, b) =>
          store.addMany(
            Array.from({ length: 20 }, (_, i) => ({
              id: `c${s}-${b}-${i}`,
              content: `${s}`,
              metadata: { s },
              embedding: [s + 1, i],
            })),
            { batchSize: 7 },
          ),
        ),
        store.search([1, 1], { k: 5, filter: { s } }),
        store.search([1, 1], { k: 5 }),
      ]);
      const outcomes = await Promise.all(work);
      const inserted = outcomes.reduce((n, o) => n + ('inserted' in o ? o.inserted : 0), 0);
      expect(inserted).toBe(400);
      expect(await count('bulk_items')).toBe(400);
      for (const [s, store] of stores.entries()) {
        const { results } = await store.search([s + 1, 0], { k: 25, filter: { s } });
        expect(results).toHaveLength(25); // k of the 100 rows each client wrote
        expect(results.every((h) => h.content === `${s}`)).toBe(true);
      }
    } finally {
      await Promise.all(clients.map((c) => c.$disconnect()));
    }
    await createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'bulk_items',
      dimensions: 2,
    }).deleteWhere({}, { all: true });
  });
});

describe('transactions', () => {
  it('works inside the caller transaction: rollback discards the store writes', async () => {
    const store = itemsStore();
    const before = await count('items');
    await expect(
      db.prisma.$transaction(async (tx) => {
        const inTx = store.withClient(tx);
        expect(inTx.inTransaction).toBe(true);
        await inTx.addMany(
          Array.from({ length: 3 }, (_, i) => ({
            id: `tx${i}`,
            content: 'tx',
            embedding: randomVector(next, DIMS),
          })),
          {
            batchSize: 2,
          },
        );
        expect((await inTx.getByIds(['tx0', 'tx1', 'tx2'])).length).toBe(3);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await count('items')).toBe(before);
  });

  it('search settings never leak: own transaction, and restored in the caller transaction', async () => {
    const single = prismaOn(db.url, db.schema, 1); // one connection: SHOW runs where the search ran
    try {
      const store = itemsStore(single);
      const show = async (
        client: { $queryRawUnsafe: PrismaClient['$queryRawUnsafe'] } = single,
        name = 'hnsw.ef_search',
      ) => (await client.$queryRawUnsafe<{ v: string }[]>(`SELECT current_setting('${name}') AS v`))[0]?.v;
      await store.search(randomVector(next, DIMS), { k: 1 }); // loads pgvector in this session
      const defaults = await show();
      const r = await store.search(randomVector(next, DIMS), {
        k: 3,
        efSearch: 123,
        iterativeScan: 'strict_order',
      });
      expect(r.settings).toEqual(
        facts.iterativeScan ? { efSearch: 123, iterativeScan: 'strict_order' } : { efSearch: 123 },
      );
      expect(await show()).toBe(defaults);
      if (facts.iterativeScan) expect(await show(single, 'hnsw.iterative_scan')).toBe('off');

      await single.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SELECT set_config('hnsw.ef_search', '77', true)`);
        const inTx = store.withClient(tx);
        await Promise.all([
          inTx.search(randomVector(next, DIMS), { k: 3, efSearch: 200 }),
          inTx.search(randomVector(next, DIMS), { k: 3, efSearch: 300, filter: { type: 'note' } }),
        ]);
        expect(await show(tx)).toBe('77');
        if (facts.iterativeScan) expect(await show(tx, 'hnsw.iterative_scan')).toBe('off');
      });
      expect(await show()).toBe(defaults);
    } finally {
      await single.$disconnect();
    }
  });

  it('as a Prisma Client extension: $vectorStore() on the root client and on a transaction client', async () => {
    const extended = db.prisma.$extends(
      vectorStoreExtension<Meta>({
        schema: db.schema,
        table: 'items',
        dimensions: DIMS,
        partialIndexPredicates: [],
      }),
    );
    const root = extended.$vectorStore();
    expect(root.inTransaction).toBe(false);
    expect(root.vectorEncoding).toBe('binary');
    const before = await count('items');
    await expect(
      extended.$transaction(async (tx) => {
        const store = tx.$vectorStore();
        expect(store.inTransaction).toBe(true);
        await store.add({ id: 'ext-1', content: 'x', embedding: randomVector(next, DIMS) });
        expect(
          await tx.$queryRawUnsafe(`SELECT id FROM "${db.schema}"."items" WHERE id = 'ext-1'`),
        ).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await count('items')).toBe(before);
    const { results } = await root.search(randomVector(next, DIMS), { k: 2 });
    expect(results).toHaveLength(2);
    expect(() => vectorStoreExtension({ table: 'a b' })).toThrow(/table must be an identifier/);
  });

  it('maintain() refuses to run inside a transaction', async () => {
    await db.prisma.$transaction(async (tx) => {
      const e = await rejection(itemsStore().withClient(tx).maintain());
      expect(e.code).toBe('IN_TRANSACTION');
      expect(e.fix).toMatch(/outside|after the transaction/);
    });
  });
});

describe('database errors become PgVectorErrors with the server fields and a fix', () => {
  it('DIMENSION_MISMATCH when the configured dimensions differ from the column', async () => {
    const store = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'items',
      dimensions: 4,
      partialIndexPredicates: [],
    });
    const e = await rejection(store.add({ content: 'x', embedding: [1, 2, 3, 4] }));
    expect(e.code).toBe('DIMENSION_MISMATCH');
    expect(e.server).toMatchObject({ sqlState: '22000', serverMessage: 'expected 8 dimensions, not 4' });
    expect(e.fix).toMatch(/configure dimensions: 8/);
  });

  it('OPERATOR_MISMATCH when the column type differs from vectorType', async () => {
    const store = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'items',
      dimensions: DIMS,
      vectorType: 'bit',
      metric: 'hamming',
      partialIndexPredicates: [],
    });
    const e = await rejection(store.search('10101010', { k: 1 }));
    expect(e.code).toBe('OPERATOR_MISMATCH');
    expect(e.server).toMatchObject({
      sqlState: '42883',
      serverMessage: 'operator does not exist: vector <~> bit',
    });
    expect(e.fix).toBe("the column is vector but the store sends bit: configure vectorType: 'vector'");
  });

  it('INDEX_ROW_TOO_LARGE when an index entry does not fit a page', async () => {
    const store = createVectorStore(db.prisma, {
      schema: db.schema,
      table: 'indexed_items',
      dimensions: 2,
      partialIndexPredicates: [],
    });
    const content = Array.from({ length: 12_000 }, () =>
      String.fromCharCode(33 + Math.floor(next() * 90)),
    ).join('');
    const e = await rejection(store.add({ content, embedding: [1, 2] }));
    expect(e.code).toBe('INDEX_ROW_TOO_LARGE');
    expect(e.server?.sqlState).toBe('54000');
    expect(e.fix).toMatch(/halfvec/);
  });

  it('DATABASE_ERROR naming the fix for a missing table', async () => {
    const e = await rejection(
      createVectorStore(db.prisma, { schema: db.schema, table: 'nope' }).deleteByIds(['x']),
    );
    expect(e.code).toBe('DATABASE_ERROR');
    expect(e.server?.sqlState).toBe('42P01');
    expect(e.fix).toMatch(/prisma migrate deploy/);
  });

  it('invalid configuration and arguments fail before any SQL', async () => {
    expect(() => createVectorStore(db.prisma, { table: 'documents; DROP TABLE x' })).toThrow(
      /table must be an identifier/,
    );
    expect(() => createVectorStore(db.prisma, { metric: 'hamming' })).toThrow(PgVectorError);
    expect(() => createVectorStore(db.prisma, { dimension: 3 } as never)).toThrow(
      /unknown setting 'dimension'/,
    );
    const store = itemsStore();
    const q = randomVector(next, DIMS);
    expect((await rejection(store.search(q, { k: 0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejection(store.search(q, { efSearch: 5000 }))).message).toMatch(
      /efSearch must be an integer from 1 to 1000/,
    );
    expect((await rejection(store.search(q, { probes: 3 }))).message).toMatch(/probes tunes IVFFlat/);
    expect((await rejection(store.search(q, { metric: 'jaccard' }))).message).toMatch(/needs bit/);
    expect((await rejection(store.search(q, { filter: { price: { gt: {} } } as never }))).code).toBe(
      'INVALID_FILTER',
    );
    const long = await rejection(store.search(randomVector(next, 1536)));
    expect(long.code).toBe('DIMENSION_MISMATCH');
    expect(long.message.length).toBeLessThan(400);
    expect(isPgVectorError(long, 'DIMENSION_MISMATCH')).toBe(true);
  });
});

describe('types', () => {
  it('types hits by metadata, selected fields and includeEmbedding', () => {
    const store = createVectorStore<{ type: 'article' | 'note'; lang: string }>(db.prisma);
    type Search = ReturnType<typeof store.search<'content', true>>;
    expectTypeOf<Awaited<Search>['results'][number]>().toEqualTypeOf<
      SearchHit<{ type: 'article' | 'note'; lang: string }, 'vector', 'content', true>
    >();
    expectTypeOf<SearchHit<{ type: 'article' | 'note'; lang: string }>['metadata']>().toEqualTypeOf<{
      type: 'article' | 'note';
      lang: string;
    } | null>();
    expectTypeOf<SearchHit<Meta, 'vector', 'content', true>>()
      .toHaveProperty('embedding')
      .toEqualTypeOf<number[]>();
    expectTypeOf<SearchHit<Meta, 'bit', 'content', true>>()
      .toHaveProperty('embedding')
      .toEqualTypeOf<string>();
    expectTypeOf<SearchHit<Meta, 'vector', 'content'>>().not.toHaveProperty('metadata');
    expectTypeOf<SearchHit<Meta, 'vector', 'content'>>().not.toHaveProperty('embedding');
    expectTypeOf(store.search).parameter(1).exclude<undefined>().toHaveProperty('filter');
    expectTypeOf<Filter<{ type: 'article' | 'note'; lang: string }>>().toMatchTypeOf<{ type?: unknown }>();
    // @ts-expect-error a value outside the metadata type
    const wrong: Filter<{ type: 'article' | 'note'; lang: string }> = { type: 'blog' };
    expect(wrong).toBeDefined();
    expectTypeOf<Metric>().toEqualTypeOf<'cosine' | 'l2' | 'innerProduct' | 'l1' | 'hamming' | 'jaccard'>();
  });
});
