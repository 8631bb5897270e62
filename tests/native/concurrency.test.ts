// What only a real server shows, part 2: concurrency. 8 writers (add, upsertMany, deleteByIds) and 8
// searchers share one pg.Pool (the store's `pool`, also behind Prisma's adapter) for 30 s against real
// sessions. Every call must succeed, every search result be well-formed, and the table end exactly as the
// writes imply (each writer owns its ids, so the intended set is known).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createVectorStore, type SearchOptions, type VectorStore } from '../../src/index.js';
import { exactDistance, itemsTableSql, random } from '../integration/helpers.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { describeOnly } from '../support/engines.js';

type Meta = { type: string; w: number };
const DIMS = 32;
const SEED_ROWS = 2000;
const WRITERS = 8;
const SEARCHERS = 8;
const DURATION_MS = Number(process.env.PPV_CONCURRENCY_MS ?? 30_000);
const POOL_MAX = 12;

/** A random unit vector, float4-exact (what the server stores). */
function unitVector(next: () => number): number[] {
  const v = Array.from({ length: DIMS }, () => next() * 2 - 1);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => Math.fround(x / norm));
}

const percentile = (xs: number[], p: number) =>
  xs.length === 0 ? 0 : ([...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] as number);

// On both engines: the store's answer to what the 8 writers showed, a search whose HNSW candidates are
// mostly rows deleted since the last VACUUM.
describe('a search over an HNSW graph full of deleted rows', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
  });

  afterAll(async () => {
    await db?.close();
  });

  it('comes back with k rows: the short first run is repeated with an iterative scan', async () => {
    const c = await db.connect();
    try {
      await c.query('CREATE EXTENSION IF NOT EXISTS vector');
      await c.query(itemsTableSql('churn', 'vector(8)'));
      await c.query('ALTER TABLE churn SET (autovacuum_enabled = false)');
      await c.query('CREATE INDEX churn_hnsw_idx ON churn USING hnsw (embedding vector_l2_ops)');
      const next = random(5);
      const store = createVectorStore<Meta>(db.prisma, {
        table: 'churn',
        dimensions: 8,
        metric: 'l2',
        partialIndexPredicates: [],
        vacuumAfterBulk: false,
      });
      const vector = () => Array.from({ length: 8 }, () => Math.fround(next() * 2 - 1));
      await store.addMany(
        Array.from({ length: 4000 }, (_, i) => ({ id: `r${i}`, content: `row ${i}`, embedding: vector() })),
      );
      // Delete 90 % of the rows, no VACUUM: the graph still holds them, the heap drops them.
      await c.query('DELETE FROM churn WHERE (substr(id, 2)::int % 10) <> 0');
      const q = vector();
      const plan = await store.explainSearch(q, { k: 40, iterativeScan: 'off' });
      expect(plan.indexes, plan.plan.join('\n')).toContain('churn_hnsw_idx');
      // Without an iterative scan the index scan stops after ef_search (40) candidates, mostly dead (a forced
      // strategy gets no exact fallback).
      const off = await store.search(q, { k: 40, iterativeScan: 'off', strategy: 'index' });
      expect(off.results.length).toBeLessThan(40);
      expect(off.underfilled).toEqual({ found: off.results.length, requested: 40 });
      // Not forced, the same search still returns k: the exact fallback ranks the ~400 live rows.
      const fallback = await store.search(q, { k: 40, iterativeScan: 'off' });
      expect(fallback.results).toHaveLength(40);
      expect(fallback.plan.strategy).toBe('exact');
      // The default: the same search, run again with the iterative scan when it came back short.
      const again = await store.search(q, { k: 40 });
      expect(again.results).toHaveLength(40);
      expect(again.underfilled).toBeUndefined();
      expect(again.settings.iterativeScan).toBe('relaxed_order');
      const distances = again.results.map((r) => r.distance);
      expect(distances).toEqual([...distances].sort((a, b) => a - b));
      // A search that is full the first time runs once: its own ef_search (≥ k), no iterative scan.
      const full = await store.search(q, { k: 2 });
      expect(full.results).toHaveLength(2);
      expect(full.settings).toEqual({ efSearch: 40, iterativeScan: 'off' });
    } finally {
      await c.end();
    }
  });
});

describeOnly(
  'native',
  'needs real concurrent sessions (the embedded server runs every connection in one session)',
  'concurrency on one pool',
  () => {
    let db: TestDatabase;
    let admin: pg.Client;
    let pool: pg.Pool;
    let prisma: PrismaClient;
    let store: VectorStore<Meta>;
    let viaPrisma: VectorStore<Meta>;

    beforeAll(async () => {
      db = await openTestDatabase({ migrate: false });
      admin = await db.connect();
      await admin.query('CREATE EXTENSION IF NOT EXISTS vector');
      await admin.query(itemsTableSql('docs', `vector(${DIMS})`));
      await admin.query(
        'CREATE INDEX docs_embedding_hnsw_idx ON docs USING hnsw (embedding vector_cosine_ops)',
      );
      pool = new pg.Pool({ ...db.poolConfig, max: POOL_MAX });
      prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
      const config = { table: 'docs', dimensions: DIMS, partialIndexPredicates: [], pool };
      store = createVectorStore<Meta>(prisma, config);
      viaPrisma = createVectorStore<Meta>(prisma, { ...config, searchVia: 'prisma' });
      const seed = random(1);
      await store.addMany(
        Array.from({ length: SEED_ROWS }, (_, i) => ({
          id: `seed-${i}`,
          content: `seed ${i}`,
          metadata: { type: i % 2 === 0 ? 'a' : 'b', w: -1 },
          embedding: unitVector(seed),
        })),
      );
    });

    afterAll(async () => {
      await prisma?.$disconnect();
      await pool?.end();
      await admin?.end();
      await db?.close();
    });

    it(`${WRITERS} writers and ${SEARCHERS} searchers for ${DURATION_MS / 1000} s: 0 errors, well-formed results, the final rows exactly as written`, async () => {
      const deadline = Date.now() + DURATION_MS;
      const errors: string[] = [];
      const malformed: string[] = [];
      /** id → content, for every row a writer intends to exist now. */
      const intended = new Map<string, string>();
      const ops = { add: 0, upsertMany: 0, upserted: 0, deleteByIds: 0, deleted: 0, search: 0, bigLoads: 0 };
      const searchMs: number[] = [];
      let slowest = { ms: 0, op: '' };
      const fail = (list: string[], what: string) => {
        if (list.length < 20) list.push(what);
        else list.length++;
      };

      const writer = async (w: number) => {
        const next = random(100 + w);
        const own: string[] = []; // this writer's ids that exist now
        let counter = 0;
        let version = 0;
        const newDoc = (content: string) => ({
          id: `w${w}-${counter++}`,
          content,
          metadata: { type: next() < 0.5 ? 'a' : 'b', w },
          embedding: unitVector(next),
        });
        let bigDone = false;
        while (Date.now() < deadline) {
          const r = next();
          const opStarted = performance.now();
          try {
            if (r < 0.4) {
              const d = newDoc(`w${w} v${version++}`);
              const { id } = await store.add(d);
              if (id !== d.id) fail(malformed, `add returned ${id} for ${d.id}`);
              intended.set(d.id, d.content);
              own.push(d.id);
              ops.add++;
            } else if (r < 0.75) {
              // Writers 0 and 1 make one big upsert each, early: COPY + ANALYZE + VACUUM (ANALYZE) amid the
              // rest (more only queue on the table's ShareUpdateExclusiveLock and outlast the run).
              const big = w < 2 && !bigDone && own.length > 20;
              if (big) bigDone = true;
              const fresh = big ? 1200 : 1 + Math.floor(next() * 15);
              const docs = Array.from({ length: fresh }, () => newDoc(`w${w} v${version++}`));
              const replaced = new Set<string>();
              for (let i = 0; i < 10 && own.length > 0; i++)
                replaced.add(own[Math.floor(next() * own.length)] as string);
              for (const id of replaced) {
                docs.push({
                  id,
                  content: `w${w} v${version++}`,
                  metadata: { type: 'b', w },
                  embedding: unitVector(next),
                });
              }
              const result = await store.upsertMany(docs, { returnIds: false });
              if (result.inserted !== fresh || result.updated !== replaced.size) {
                fail(
                  malformed,
                  `upsertMany: ${result.inserted}/${result.updated} for ${fresh}/${replaced.size}`,
                );
              }
              for (const d of docs) intended.set(d.id, d.content);
              for (const d of docs.slice(0, fresh)) own.push(d.id);
              ops.upsertMany++;
              ops.upserted += docs.length;
              if (big) ops.bigLoads++;
            } else {
              const gone = new Set<string>();
              for (let i = 0; i < 8 && own.length > 0; i++) {
                gone.add(own.splice(Math.floor(next() * own.length), 1)[0] as string);
              }
              const { deleted } = await store.deleteByIds([...gone, `w${w}-never`]);
              if (deleted !== gone.size) fail(malformed, `deleteByIds: ${deleted} deleted of ${gone.size}`);
              for (const id of gone) intended.delete(id);
              ops.deleteByIds++;
              ops.deleted += gone.size;
            }
          } catch (error) {
            fail(errors, `writer ${w}: ${error instanceof Error ? error.message : String(error)}`);
          }
          const took = performance.now() - opStarted;
          if (took > slowest.ms)
            slowest = { ms: took, op: r < 0.4 ? 'add' : r < 0.75 ? 'upsertMany' : 'deleteByIds' };
        }
      };

      const searcher = async (s: number) => {
        const next = random(200 + s);
        const target = s < SEARCHERS / 2 ? store : viaPrisma;
        const ks = [1, 5, 10, 20, 50];
        while (Date.now() < deadline) {
          const q = unitVector(next);
          const k = ks[Math.floor(next() * ks.length)] as number;
          const filtered = next() < 0.5;
          const withEmbedding = next() < 0.3;
          const options: SearchOptions<Meta> = {
            k,
            ...(filtered ? { filter: { type: 'a' } } : {}),
            ...(next() < 0.2 ? { efSearch: Math.max(k, 80) } : {}),
          };
          const label = `search ${JSON.stringify({ ...options, via: s < SEARCHERS / 2 ? 'pool' : 'prisma' })}`;
          try {
            const started = performance.now();
            const { results, underfilled } = withEmbedding
              ? await target.search(q, { ...options, includeEmbedding: true })
              : await target.search(q, options);
            searchMs.push(performance.now() - started);
            ops.search++;
            // More than k rows always match (the seed rows are never touched): exactly k must come back.
            if (results.length !== k || underfilled !== undefined) {
              fail(malformed, `${label}: ${results.length} rows${underfilled ? ' (underfilled)' : ''}`);
            }
            const ids = new Set<string>();
            for (const [i, hit] of results.entries()) {
              ids.add(hit.id);
              if (typeof hit.content !== 'string' || !(hit.createdAt instanceof Date))
                fail(malformed, `${label}: bad row ${hit.id}`);
              if (Math.abs(hit.similarity - (1 - hit.distance)) > 1e-9)
                fail(malformed, `${label}: similarity ${hit.similarity} vs distance ${hit.distance}`);
              if (i > 0 && hit.distance < (results[i - 1]?.distance as number))
                fail(malformed, `${label}: not sorted at ${i}`);
              if (filtered && hit.metadata?.type !== 'a')
                fail(malformed, `${label}: ${hit.id} does not match the filter`);
              const embedding = (hit as { embedding?: number[] }).embedding;
              if (withEmbedding) {
                if (!Array.isArray(embedding) || embedding.length !== DIMS)
                  fail(malformed, `${label}: no embedding on ${hit.id}`);
                else if (Math.abs(exactDistance.cosine(embedding, q) - hit.distance) > 1e-5) {
                  fail(
                    malformed,
                    `${label}: distance ${hit.distance} of ${hit.id}, its embedding gives ${exactDistance.cosine(embedding, q)}`,
                  );
                }
              }
            }
            if (ids.size !== results.length) fail(malformed, `${label}: repeated ids`);
          } catch (error) {
            fail(errors, `${label}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      };

      const started = performance.now();
      await Promise.all([
        ...Array.from({ length: WRITERS }, (_, w) => writer(w)),
        ...Array.from({ length: SEARCHERS }, (_, s) => searcher(s)),
      ]);
      const seconds = (performance.now() - started) / 1000;
      const writes = ops.add + ops.upsertMany + ops.deleteByIds;
      console.log(
        `concurrency: ${seconds.toFixed(1)} s, pool max ${POOL_MAX}: ${writes} writes (${(writes / seconds).toFixed(0)}/s: ` +
          `${ops.add} add, ${ops.upsertMany} upsertMany of ${ops.upserted} rows incl. ${ops.bigLoads} of 1,200+, ` +
          `${ops.deleteByIds} deleteByIds of ${ops.deleted} rows), ${ops.search} searches ` +
          `(${(ops.search / seconds).toFixed(0)}/s, p50 ${percentile(searchMs, 0.5).toFixed(1)} ms, p95 ${percentile(searchMs, 0.95).toFixed(1)} ms); ` +
          `${errors.length} errors, ${malformed.length} malformed; ${intended.size} writer rows intended; ` +
          `slowest write ${slowest.op} ${slowest.ms.toFixed(0)} ms`,
      );
      if (errors.length + malformed.length > 0)
        console.log([...errors, ...malformed].filter(Boolean).slice(0, 20));
      expect(errors).toEqual([]);
      expect(malformed).toEqual([]);
      expect(ops.add).toBeGreaterThan(0);
      expect(ops.upsertMany).toBeGreaterThan(0);
      expect(ops.deleteByIds).toBeGreaterThan(0);
      expect(ops.search).toBeGreaterThan(0);

      // The table holds exactly the intended rows, with their last content, and the untouched seed.
      const { rows } = await admin.query<{ id: string; content: string }>(
        "SELECT id, content FROM docs WHERE id NOT LIKE 'seed-%' ORDER BY id",
      );
      const actual = new Map(rows.map((r) => [r.id, r.content]));
      const missing = [...intended.keys()].filter((id) => !actual.has(id));
      const extra = [...actual.keys()].filter((id) => !intended.has(id));
      const stale = [...intended].filter(([id, content]) => actual.has(id) && actual.get(id) !== content);
      expect({ missing: missing.length, extra: extra.length, stale: stale.length }).toEqual({
        missing: 0,
        extra: 0,
        stale: 0,
      });
      expect(actual.size).toBe(intended.size);
      const { rows: seeds } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM docs WHERE id LIKE 'seed-%'",
      );
      expect(seeds[0]?.n).toBe(SEED_ROWS);
      expect(pool.totalCount).toBeLessThanOrEqual(POOL_MAX);
      expect(pool.waitingCount).toBe(0);
    }, 120_000);
  },
);
