// Index use on the real `documents` table (vector(1536), the migrations' HNSW and partial HNSW indexes), with
// enough rows that the planner prefers the indexes: plans, per-query settings, iterative scans.
import { sqltag as sql } from '@prisma/client/runtime/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, createVectorStore, encodeVectorBinary, type VectorStore } from '../../src/index.js';
import { buildSearchSql } from '../../src/store/sql.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { readServerFacts, type ServerFacts } from '../support/server-facts.js';
import { random, randomVector, vectorIndexStatements } from './helpers.js';

type Meta = { type: 'article' | 'note'; lang: 'en' | 'de'; n: number };

const ARTICLES = 1000;
const NOTES = 1000;
const ROWS_PER_INSERT = 200;
const next = random(7);
let db: TestDatabase;
let pgc: pg.Client;
let store: VectorStore<Meta>;
let facts: ServerFacts;
const query = randomVector(next, 1536);

beforeAll(async () => {
  db = await openTestDatabase();
  pgc = await db.connect();
  facts = await readServerFacts(pgc);
  // Load first, then build the HNSW indexes (as the playbook says): inserting 1536-dim rows one by one into
  // two HNSW graphs takes ~30 ms a row on PGlite, building them afterwards a few seconds.
  const started = Date.now();
  await pgc.query('DROP INDEX documents_embedding_hnsw_idx, documents_embedding_article_hnsw_idx');
  for (let start = 0; start < ARTICLES + NOTES; start += ROWS_PER_INSERT) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let i = start; i < Math.min(start + ROWS_PER_INSERT, ARTICLES + NOTES); i++) {
      const meta: Meta = { type: i < ARTICLES ? 'article' : 'note', lang: i % 10 === 3 ? 'de' : 'en', n: i };
      values.push(`doc ${i}`, JSON.stringify(meta), encodeVectorBinary(randomVector(next, 1536)));
      const p = values.length;
      tuples.push(`($${p - 2}, $${p - 1}::jsonb, $${p}::vector(1536))`);
    }
    await pgc.query(
      `INSERT INTO documents (content, metadata, embedding) VALUES ${tuples.join(', ')}`,
      values,
    );
  }
  const loaded = Date.now();
  for (const statement of vectorIndexStatements()) await pgc.query(statement);
  await pgc.query('ANALYZE documents');
  console.info(
    `seeded ${ARTICLES + NOTES} rows in ${loaded - started} ms, built the HNSW indexes in ${Date.now() - loaded} ms`,
  );
  store = createVectorStore<Meta>(db.prisma, { schema: db.schema });
});

afterAll(async () => {
  await pgc?.end();
  await db?.close();
});

describe('plans', () => {
  it('an unfiltered search uses the HNSW index, ordered by the bare distance expression', async () => {
    const { indexes, plan, settings } = await store.explainSearch(query, { k: 10 });
    expect(indexes).toEqual(['documents_embedding_hnsw_idx']);
    expect(plan.join('\n')).toMatch(
      /Order By: \(embedding <=> '\[[^\]]*…\(\d[\d,]* more characters\)\]'::vector\(1536\)\)/,
    );
    // ef_search is always set (k as a floor; the server's 40 is kept), the iterative scan explicitly off.
    expect(settings).toEqual(facts.iterativeScan ? { efSearch: 40, iterativeScan: 'off' } : { efSearch: 40 });
  });

  it('a { type: "article" } search scans the partial index, without an iterative scan (every row of it matches)', async () => {
    const { indexes, plan, settings, choice } = await store.explainSearch(query, {
      k: 10,
      filter: { type: 'article' },
      strategy: 'partial', // on this small table the planner would rank the articles exactly
      efSearch: 40, // pgvector's cost estimate grows with ef_search: at 100 this small table gets a seq scan
    });
    expect(choice.strategy).toBe('partial');
    expect(indexes).toEqual(['documents_embedding_article_hnsw_idx']);
    // The filter is the predicate itself: no continuation past ef_search is needed, so no relaxed order
    // and no re-sort (on pgvector < 0.8, which has no iterative scan, no raised ef_search either).
    expect(settings).toEqual(facts.iterativeScan ? { efSearch: 40, iterativeScan: 'off' } : { efSearch: 40 });
    expect(plan[0]).toMatch(/^Limit/);
    expect(plan.join('\n')).not.toMatch(/Sort Key/);
    // With another condition beside the predicate the partial scan is iterative, re-sorted.
    const both = await store.explainSearch(query, {
      k: 10,
      filter: { type: 'article', lang: { in: ['en', 'de'] } } as never,
      strategy: 'partial',
      efSearch: 40,
    });
    if (facts.iterativeScan) {
      expect(both.settings).toEqual({ efSearch: 40, iterativeScan: 'relaxed_order', maxScanTuples: 20_000 });
      expect(both.plan[1]).toMatch(/Sort Key: \(\(s\.distance \+ '0'::double precision\)\)/);
    } else {
      expect(both.settings).toEqual({ efSearch: 100 });
    }
  });

  it('under a generic plan too: the literal predicate keeps the partial index, a bound one loses it', async (ctx) => {
    if (facts.major < 16)
      ctx.skip(`EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16; the server is ${facts.major}`);
    const c = store.config;
    const genericPlan = async (partialIndexPredicates: typeof c.partialIndexPredicates) => {
      const statement = buildSearchSql(c, {
        query: sql`${'unused: only the text is explained'}::vector(1536)`,
        metric: 'cosine',
        k: 10,
        where: compileFilter<Meta>(
          { type: 'article' },
          {
            metadataColumn: c.columns.metadata,
            createdAtColumn: c.columns.createdAt,
            partialIndexPredicates,
          },
        ),
        fields: ['content'],
        includeEmbedding: false,
        relaxed: true,
      });
      // The store's exact SQL text, its $1… left as parameters of unknown value (as a prepared statement).
      const plan = await pgc.query<{ 'QUERY PLAN': string }>(`EXPLAIN (GENERIC_PLAN) ${statement.text}`);
      return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    expect(await genericPlan(c.partialIndexPredicates)).toMatch(
      /Index Scan using documents_embedding_article_hnsw_idx/,
    );
    expect(await genericPlan([])).not.toMatch(/documents_embedding_article_hnsw_idx/);
  });
});

describe('per-query settings', () => {
  it('efSearch reaches the index scan, never below k (k is never capped), and is gone afterwards', async () => {
    const before = (await pgc.query(`SELECT current_setting('hnsw.ef_search') AS v`)).rows[0].v;
    expect(before).not.toBe('1');
    const { results, underfilled, settings } = await store.search(query, {
      k: 10,
      efSearch: 1,
      iterativeScan: 'off',
    });
    expect(settings).toEqual({ efSearch: 10, iterativeScan: 'off' });
    expect(results).toHaveLength(10);
    expect(underfilled).toBeUndefined();
    const wide = await store.search(query, { k: 10, efSearch: 123, iterativeScan: 'off' });
    expect(wide.settings).toEqual({ efSearch: 123, iterativeScan: 'off' });
    const { rows } = await pgc.query(`SELECT current_setting('hnsw.ef_search') AS v`);
    expect(rows[0].v).toBe(before); // the server's value (pgvector's default: 40), not the search's
  });

  it('k above 40 raises ef_search to k, so an HNSW scan can return k rows', async () => {
    const { results, settings } = await store.search(query, { k: 100 });
    expect(settings).toEqual(
      facts.iterativeScan ? { efSearch: 100, iterativeScan: 'off' } : { efSearch: 100 },
    );
    expect(results).toHaveLength(100);
  });

  it('a filtered search returns k rows thanks to the iterative scan, and fewer without it', async (ctx) => {
    if (!facts.iterativeScan)
      ctx.skip(`iterative scans need pgvector 0.8.0; the server has ${facts.pgvector}`);
    const filter = { lang: { ne: 'en' } } as const; // 10% of the rows; the planner still picks the HNSW index
    const strategy = 'iterative'; // on this small table the planner would rank the rows exactly
    expect((await store.explainSearch(query, { k: 10, filter, strategy })).indexes).toEqual([
      'documents_embedding_hnsw_idx',
    ]);

    const relaxed = await store.search(query, { k: 10, filter, strategy });
    expect(relaxed.results).toHaveLength(10);
    expect(relaxed.underfilled).toBeUndefined();
    expect(relaxed.results.every((h) => h.metadata?.lang === 'de')).toBe(true);
    const distances = relaxed.results.map((h) => h.distance);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));

    const off = await store.search(query, { k: 10, filter, strategy, iterativeScan: 'off' });
    expect(off.results.length).toBeLessThan(10);
    expect(off.underfilled).toEqual({ found: off.results.length, requested: 10 });

    const strict = await store.search(query, { k: 10, filter, strategy, iterativeScan: 'strict_order' });
    expect(strict.results).toHaveLength(10);
  });
});
