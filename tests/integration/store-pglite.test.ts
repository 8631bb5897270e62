// The vector store on an in-process PGlite through pglite-prisma-adapter: vectors must travel as text there
// (PGlite sends parameters of non-built-in types as text), which 'auto' encoding picks from the adapter name.
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEmbeddedPrismaClient, type EmbeddedPrismaClient } from '../../src/embedded/prisma-client.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createVectorStore } from '../../src/index.js';
import { describeOnly } from '../support/engines.js';
import {
  applyMigrations,
  exactDistance,
  itemsTableSql,
  random,
  randomBits,
  randomVector,
  rejection,
} from './helpers.js';

const ENGINE_ONLY = 'tests the store on the in-process PGlite adapter';

type Meta = { type: 'article' | 'note'; lang: string; n: number };

let embedded: EmbeddedPrismaClient<PrismaClient>;
const next = random(99);

beforeAll(async () => {
  embedded = await createEmbeddedPrismaClient(PrismaClient, { memory: true });
  await applyMigrations(embedded.database.pglite);
  await embedded.database.pglite.exec(
    `${itemsTableSql('items', 'vector(6)')}; ${itemsTableSql('bits', 'bit(12)')}`,
  );
});

afterAll(async () => {
  await embedded?.close();
});

describeOnly('embedded', ENGINE_ONLY, 'pglite-prisma-adapter', () => {
  it("picks text encoding from the adapter name ('auto')", () => {
    expect(createVectorStore(embedded.prisma).vectorEncoding).toBe('text');
  });

  it('adds, searches and filters 1536-dim documents with text vectors', async () => {
    const store = createVectorStore<Meta>(embedded.prisma);
    const docs = Array.from({ length: 12 }, (_, i) => ({
      id: `d${i}`,
      content: `document ${i}`,
      metadata: { type: i % 2 === 0 ? 'article' : 'note', lang: i % 3 === 0 ? 'de' : 'en', n: i } as Meta,
      embedding: randomVector(next, 1536),
    }));
    expect((await store.addMany(docs, { batchSize: 5 })).inserted).toBe(12);
    const query = randomVector(next, 1536);
    const expected = (filter: (m: Meta) => boolean) =>
      docs
        .filter((d) => filter(d.metadata))
        .map((d) => ({ id: d.id, distance: exactDistance.cosine(d.embedding, query) }))
        .sort((a, b) => a.distance - b.distance)
        .map((d) => d.id);
    expect((await store.search(query, { k: 12 })).results.map((h) => h.id)).toEqual(expected(() => true));
    const articles = await store.search(query, { k: 12, filter: { type: 'article' } });
    expect(articles.results.map((h) => h.id)).toEqual(expected((m) => m.type === 'article'));
    const german = await store.search(query, { k: 3, filter: { lang: 'de', n: { gt: 2 } } });
    expect(german.results.map((h) => h.id)).toEqual(expected((m) => m.lang === 'de' && m.n > 2).slice(0, 3));
    const [doc] = await store.getByIds(['d4'], { includeEmbedding: true });
    expect(doc?.embedding?.map(Math.fround)).toEqual(docs[4]?.embedding);
    expect(await store.maintain()).toMatchObject({ statement: 'VACUUM (ANALYZE) "documents"' });
  });

  it('orders exactly for l2 and innerProduct with text vectors', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({
      id: `i${i}`,
      content: '',
      embedding: randomVector(next, 6),
    }));
    const query = randomVector(next, 6);
    for (const metric of ['l2', 'innerProduct'] as const) {
      const store = createVectorStore(embedded.prisma, {
        table: 'items',
        dimensions: 6,
        metric,
        partialIndexPredicates: [],
      });
      if (metric === 'l2') await store.addMany(rows);
      const expected = rows
        .map((r) => ({ id: r.id, d: exactDistance[metric](r.embedding, query) }))
        .sort((a, b) => a.d - b.d);
      const { results } = await store.search(query, { k: 25 });
      expect(results.map((h) => h.id)).toEqual(expected.map((e) => e.id));
      results.forEach((h, i) => {
        expect(h.distance).toBeCloseTo(expected[i]?.d as number, 5);
      });
    }
  });

  it('bit vectors as text', async () => {
    const store = createVectorStore(embedded.prisma, {
      table: 'bits',
      vectorType: 'bit',
      dimensions: 12,
      metric: 'hamming',
      partialIndexPredicates: [],
    });
    const rows = Array.from({ length: 10 }, (_, i) => ({
      id: `b${i}`,
      content: '',
      embedding: randomBits(next, 12),
    }));
    await store.addMany(rows);
    const q = randomBits(next, 12);
    const { results } = await store.search(q, { k: 10 });
    expect(results.map((h) => h.distance)).toEqual(
      rows.map((r) => exactDistance.hamming(r.embedding, q)).sort((a, b) => a - b),
    );
  });

  it('binary vectors do not work through pglite-prisma-adapter (why auto picks text)', async () => {
    const store = createVectorStore(embedded.prisma, {
      table: 'items',
      dimensions: 6,
      vectorEncoding: 'binary',
      partialIndexPredicates: [],
    });
    expect(store.vectorEncoding).toBe('binary');
    const e = await rejection(store.add({ content: 'x', embedding: [1, 2, 3, 4, 5, 6] }));
    expect(e.code).toBe('DATABASE_ERROR');
    expect(e.server?.sqlState).toBe('22021'); // invalid byte sequence for encoding "UTF8": 0x00
  });

  it('concurrent adds and searches from several Prisma clients give consistent counts', async () => {
    const clients = Array.from(
      { length: 4 },
      () => new PrismaClient({ adapter: new PrismaPGlite(embedded.database.pglite) }),
    );
    try {
      const stores = clients.map((c) =>
        createVectorStore(c, { table: 'items', dimensions: 6, metric: 'l2', partialIndexPredicates: [] }),
      );
      const before = (await stores[0]?.search([0, 0, 0, 0, 0, 1], { k: 1000 }))?.results.length ?? 0;
      const outcomes = await Promise.all(
        stores.flatMap((store, s) => [
          ...Array.from({ length: 4 }, (_, b) =>
            store.addMany(
              Array.from({ length: 15 }, (_, i) => ({
                id: `c${s}-${b}-${i}`,
                content: `${s}`,
                metadata: { s },
                embedding: randomVector(next, 6),
              })),
              { batchSize: 4 },
            ),
          ),
          store.search(randomVector(next, 6), { k: 5, filter: { s } }),
          store.search(randomVector(next, 6), { k: 5, efSearch: 50 }),
        ]),
      );
      expect(outcomes.reduce((n, o) => n + ('inserted' in o ? o.inserted : 0), 0)).toBe(240);
      const after = await stores[0]?.search([0, 0, 0, 0, 0, 1], { k: 1000 });
      expect(after?.results.length).toBe(before + 240);
      for (const [s, store] of stores.entries()) {
        const { results } = await store.search(randomVector(next, 6), { k: 100, filter: { s } });
        expect(results).toHaveLength(60);
      }
    } finally {
      await Promise.all(clients.map((c) => c.$disconnect()));
    }
  });
});

describeOnly('embedded', ENGINE_ONLY, 'without pgvector', () => {
  it('EXTENSION_MISSING names the fix', async () => {
    const bare = await createEmbeddedPrismaClient(PrismaClient, { memory: true, vector: false });
    try {
      await bare.database.pglite.exec(itemsTableSql('documents', 'real[]'));
      const store = createVectorStore(bare.prisma, { dimensions: 3 });
      const missing = await rejection(store.search([1, 2, 3]));
      expect(missing.code).toBe('EXTENSION_MISSING');
      expect(missing.fix).toMatch(/CREATE EXTENSION vector/);
      const write = await rejection(store.add({ content: 'x', embedding: [1, 2, 3] }));
      expect(write.code).toBe('EXTENSION_MISSING');
      expect(write.server).toMatchObject({
        sqlState: '42704',
        serverMessage: 'type "vector" does not exist',
      });
      expect(write.fix).toMatch(/install pgvector/);
    } finally {
      await bare.close();
    }
  });
});
