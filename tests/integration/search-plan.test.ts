// The per-query search plan (index / iterative / partial / exact), the k guarantee (k rows whatever the
// session's, role's or database's ef_search / probes, and right after a rolled-back bulk load) and recall
// targets, against PostgreSQL + pgvector (embedded PGlite server, or TEST_DATABASE_URL).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createVectorStore, type VectorStore } from '../../src/index.js';
import { createTestRole, openTestDatabase, type TestDatabase } from '../support/database.js';
import { exactDistance, itemsTableSql, random, randomVector, recordingPool, rejection } from './helpers.js';

type Meta = { tenant: string; type: string; n: number };

let db: TestDatabase;
let pool: pg.Pool;
let prisma: PrismaClient;
let pgc: pg.Client;
const next = random(11);
const DIMS = 8;
const ROWS = 3000;
/** Every 100th row belongs to the tiny tenant (30 rows); every other row is an article. */
const docs = Array.from({ length: ROWS }, (_, i) => ({
  id: `p${String(i).padStart(5, '0')}`,
  content: `row ${i}`,
  metadata: { tenant: i % 100 === 0 ? 'tiny' : 'big', type: i % 2 === 0 ? 'article' : 'note', n: i },
  embedding: randomVector(next, DIMS),
}));
const queries = Array.from({ length: 5 }, () => randomVector(next, DIMS));

function exactIds(q: number[], k: number, keep: (m: Meta) => boolean = () => true): string[] {
  return docs
    .filter((d) => keep(d.metadata))
    .map((d) => ({ id: d.id, d: exactDistance.cosine(q, d.embedding) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, k)
    .map((r) => r.id);
}

function store(extra: object = {}, client: PrismaClient = prisma): VectorStore<Meta> {
  return createVectorStore<Meta>(client, {
    schema: db.schema,
    table: 'plan_items',
    dimensions: DIMS,
    partialIndexPredicates: [{ key: 'type', value: 'article' }],
    planner: { exactRows: 100 },
    pool,
    ...extra,
  });
}

const tiny = { tenant: { contains: 'tiny' } } as const;
const big = { tenant: { contains: 'big' } } as const;

/** Runs `fn` with a database-wide setting (ALTER DATABASE; on the embedded server's one session, SET). */
async function withDatabaseSetting<R>(name: string, value: string, fn: () => Promise<R>): Promise<R> {
  const database = (await pgc.query<{ d: string }>('SELECT current_database() AS d')).rows[0]?.d as string;
  if (db.kind === 'external') {
    await pgc.query(`ALTER DATABASE "${database}" SET ${name} = ${value}`);
    await pool.end();
    pool = new pg.Pool({ ...db.poolConfig, max: 4 }); // new sessions pick the database's settings up
  } else {
    await pgc.query(`SET ${name} = ${value}`);
  }
  try {
    return await fn();
  } finally {
    if (db.kind === 'external') {
      await pgc.query(`ALTER DATABASE "${database}" RESET ${name}`);
      await pool.end();
      pool = new pg.Pool({ ...db.poolConfig, max: 4 });
    } else {
      await pgc.query(`RESET ${name}`);
    }
  }
}

beforeAll(async () => {
  db = await openTestDatabase();
  pool = new pg.Pool({ ...db.poolConfig, max: 4 });
  prisma = new PrismaClient({ adapter: new PrismaPg(db.poolConfig, { schema: db.schema }) });
  pgc = await db.connect();
  for (const table of ['plan_items', 'ivf_items', 'small_items']) {
    await pgc.query(itemsTableSql(table, `vector(${DIMS})`));
  }
  await createVectorStore(prisma, { schema: db.schema, table: 'plan_items', dimensions: DIMS }).addMany(docs);
  await createVectorStore(prisma, { schema: db.schema, table: 'ivf_items', dimensions: DIMS }).addMany(docs);
  await createVectorStore(prisma, { schema: db.schema, table: 'small_items', dimensions: DIMS }).addMany(
    docs.slice(0, 100),
  );
  await pgc.query('CREATE INDEX plan_items_hnsw ON plan_items USING hnsw (embedding vector_cosine_ops)');
  await pgc.query(
    `CREATE INDEX plan_items_article_hnsw ON plan_items USING hnsw (embedding vector_cosine_ops) WHERE ((metadata ->> 'type'::text) = 'article'::text)`,
  );
  await pgc.query('CREATE INDEX plan_items_gin ON plan_items USING gin (metadata jsonb_path_ops)');
  await pgc.query(
    'CREATE INDEX ivf_items_ivf ON ivf_items USING ivfflat (embedding vector_cosine_ops) WITH (lists = 100)',
  );
  await pgc.query('CREATE INDEX small_items_hnsw ON small_items USING hnsw (embedding vector_cosine_ops)');
  await pgc.query('VACUUM ANALYZE plan_items');
  await pgc.query('VACUUM ANALYZE ivf_items');
  await pgc.query('VACUUM ANALYZE small_items');
}, 300_000);

afterAll(async () => {
  await pgc?.end();
  await prisma?.$disconnect();
  await pool?.end();
  await db?.close();
});

describe('k is never capped', () => {
  it('returns k = 50 rows when the database has hnsw.ef_search = 10 (pool and Prisma paths)', async () => {
    await withDatabaseSetting('hnsw.ef_search', '10', async () => {
      await withDatabaseSetting('enable_seqscan', 'off', async () => {
        for (const searchVia of ['pool', 'prisma'] as const) {
          const prismaHere =
            db.kind === 'external'
              ? new PrismaClient({ adapter: new PrismaPg(pool, { schema: db.schema }) })
              : prisma;
          try {
            const s = store({ searchVia }, prismaHere);
            const r = await s.search(queries[0] as number[], { k: 50 });
            expect(r.results).toHaveLength(50);
            expect(r.underfilled).toBeUndefined();
            expect(r.plan.strategy).toBe('index');
            expect(r.settings.efSearch).toBeGreaterThanOrEqual(50);
            expect(r.settings.iterativeScan).not.toBe('relaxed_order'); // one run, no retry needed
            const explained = await s.explainSearch(queries[0] as number[], { k: 50 });
            expect(explained.indexes).toContain('plan_items_hnsw');
          } finally {
            if (prismaHere !== prisma) await prismaHere.$disconnect();
          }
        }
      });
    });
  });

  it.runIf(process.env.TEST_DATABASE_URL)(
    'returns k rows when the role has hnsw.ef_search = 10',
    async () => {
      const role = await createTestRole(db);
      try {
        await pgc.query(`ALTER ROLE "${role.name}" SET hnsw.ef_search = 10`);
        await pgc.query(`ALTER ROLE "${role.name}" SET enable_seqscan = off`);
        const rolePool = new pg.Pool({ connectionString: role.url, max: 2 });
        const rolePrisma = new PrismaClient({ adapter: new PrismaPg(rolePool, { schema: db.schema }) });
        try {
          const check = await rolePool.query<{ ef: string }>(
            `SELECT current_setting('hnsw.ef_search') AS ef`,
          );
          expect(check.rows[0]?.ef).toBe('10');
          const s = createVectorStore<Meta>(rolePrisma, {
            schema: db.schema,
            table: 'plan_items',
            dimensions: DIMS,
            partialIndexPredicates: [],
            pool: rolePool,
          });
          const r = await s.search(queries[1] as number[], { k: 50 });
          expect(r.results).toHaveLength(50);
          expect(r.settings.iterativeScan).not.toBe('relaxed_order'); // one run, no retry needed
        } finally {
          await rolePrisma.$disconnect();
          await rolePool.end();
        }
      } finally {
        await role.drop();
      }
    },
  );

  it("returns k rows in a caller's transaction with SET LOCAL hnsw.ef_search = 10, and restores it", async () => {
    await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL hnsw.ef_search = 10');
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
      const s = store().withClient(tx);
      const r = await s.search(queries[2] as number[], { k: 50 });
      expect(r.results).toHaveLength(50);
      expect(r.settings.iterativeScan).not.toBe('relaxed_order'); // one run, no retry needed
      const filtered = await s.search(queries[2] as number[], { k: 5, filter: tiny });
      expect(filtered.plan.strategy).toBe('exact');
      expect(filtered.results.map((h) => h.id)).toEqual(
        exactIds(queries[2] as number[], 5, (m) => m.tenant === 'tiny'),
      );
      const [after] = await tx.$queryRawUnsafe<{ ef: string }[]>(
        `SELECT current_setting('hnsw.ef_search') AS ef`,
      );
      expect(after?.ef).toBe('10');
    });
  });

  it('keeps a higher ef_search of the database (a tuned value is not lowered)', async () => {
    await withDatabaseSetting('hnsw.ef_search', '300', async () => {
      const r = await store({ searchVia: 'pool' }).search(queries[0] as number[], { k: 10 });
      expect(r.settings.efSearch).toBe(300);
    });
  });

  it('returns k rows with IVFFlat and ivfflat.probes = 1 for the database', async () => {
    await withDatabaseSetting('ivfflat.probes', '1', async () => {
      await withDatabaseSetting('enable_seqscan', 'off', async () => {
        const s = createVectorStore<Meta>(prisma, {
          schema: db.schema,
          table: 'ivf_items',
          dimensions: DIMS,
          indexMethod: 'ivfflat',
          partialIndexPredicates: [],
          pool,
        });
        const explained = await s.explainSearch(queries[3] as number[], { k: 100 });
        expect(explained.indexes).toContain('ivf_items_ivf');
        const r = await s.search(queries[3] as number[], { k: 100 });
        expect(r.results).toHaveLength(100);
        expect(r.underfilled).toBeUndefined();
        // One run: probes 1 visits one list (about 20 rows here); the iterative scan goes on until k came back.
        expect(r.settings).toMatchObject({ probes: 1, iterativeScan: 'relaxed_order' });
        expect(r.plan.strategy).toBe('index');
        const distances = r.results.map((h) => h.distance);
        expect(distances).toEqual([...distances].sort((a, b) => a - b));
      });
    });
  });

  it('returns k rows right after a rolled-back bulk load (dead index entries, no VACUUM)', async () => {
    const dead = 5_000;
    await pgc.query('BEGIN');
    await pgc.query(
      `INSERT INTO small_items (id, content, embedding)
       SELECT 'dead' || g, 'dead', (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, ${DIMS}) d WHERE g > 0)::vector(${DIMS})
       FROM generate_series(1, ${dead}) g`,
    );
    await pgc.query('ROLLBACK');
    // A small budget for the iterative retry, so that only the exact run can find the live rows.
    await withDatabaseSetting('hnsw.max_scan_tuples', '300', () =>
      withDatabaseSetting('enable_seqscan', 'off', async () => {
        const s = createVectorStore<Meta>(prisma, {
          schema: db.schema,
          table: 'small_items',
          dimensions: DIMS,
          partialIndexPredicates: [],
          pool,
        });
        const strategies: string[] = [];
        for (const q of queries) {
          const r = await s.search(q, { k: 10 });
          const want = exactIds(q, 10, (m) => m.n < 100);
          expect(r.results).toHaveLength(10);
          expect(r.underfilled).toBeUndefined();
          strategies.push(r.plan.strategy);
          if (r.plan.strategy === 'exact') {
            expect(r.results.map((h) => h.id)).toEqual(want);
            expect(r.plan.reason).toMatch(/scan returned \d+ of 10 rows/);
          }
        }
        expect(strategies).toContain('exact'); // the dead entries made some searches need the exact run
      }),
    );
  }, 120_000);
});

describe('search plans', () => {
  it('auto: exact for a tiny tenant (counted), iterative for a big one, partial for the predicate, index unfiltered', async () => {
    const s = store();
    const q = queries[0] as number[];
    const t = await s.search(q, { k: 10, filter: tiny });
    expect(t.plan).toMatchObject({ strategy: 'exact', estimatedRows: 30, estimateSource: 'count' });
    expect(t.plan.reason).toMatch(/matches 30 rows/);
    expect(t.results.map((h) => h.id)).toEqual(exactIds(q, 10, (m) => m.tenant === 'tiny'));
    expect(t.settings).toEqual({});
    const again = await s.search(q, { k: 10, filter: tiny });
    expect(again.plan).toMatchObject({ strategy: 'exact', estimateSource: 'cache' });

    const b = await s.search(q, { k: 10, filter: big });
    expect(b.plan.strategy).toBe('iterative');
    expect(b.plan.estimatedRows).toBeGreaterThan(100);
    expect(b.plan.tableRows).toBe(ROWS);
    expect(b.plan.selectivity).toBeGreaterThan(0.5);
    expect(b.settings).toMatchObject({ iterativeScan: 'relaxed_order', maxScanTuples: 20_000 });

    const p = await s.search(q, { k: 10, filter: { type: 'article', tenant: { contains: 'big' } } });
    expect(p.plan.strategy).toBe('partial');
    expect(p.plan.reason).toMatch(/partial index predicate type = 'article'/);
    expect(p.settings).toMatchObject({ iterativeScan: 'relaxed_order' });
    // The filter is the predicate itself: every row of the partial index matches, no iterative scan.
    const whole = await s.search(q, { k: 10, filter: { type: 'article' }, efSearch: 400 });
    expect(whole.plan.strategy).toBe('partial');
    expect(whole.settings).toEqual({ efSearch: 400, iterativeScan: 'off' });
    expect(new Set(whole.results.map((h) => h.id))).toEqual(
      new Set(exactIds(q, 10, (m) => m.type === 'article')),
    );
    const explained = await s.explainSearch(q, { k: 10, filter: { type: 'article' } });
    expect(explained.indexes).toEqual(['plan_items_article_hnsw']);
    // Not pinned: PostgreSQL picks that index itself, so the search is one statement that applies its own
    // settings — no transaction.
    const sent: string[] = [];
    const recording = recordingPool(() => pool, sent);
    const rs = store({ pool: recording });
    await rs.search(q, { k: 10, filter: { type: 'article' } }); // reads the version, the estimate
    sent.length = 0;
    const gated = await rs.search(q, { k: 10, filter: { type: 'article' } });
    expect(gated.plan.strategy).toBe('partial');
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toMatch(/BEGIN|enable_seqscan/);
    expect(gated.results.map((h) => h.id)).toEqual(
      (await s.search(q, { k: 10, filter: { type: 'article' } })).results.map((h) => h.id),
    );

    const u = await s.search(q, { k: 10 });
    expect(u.plan).toMatchObject({ strategy: 'index', estimateSource: 'none' });
  });

  it('an iterative plan PostgreSQL puts on the vector index anyway is not pinned: one statement after one EXPLAIN', async () => {
    const sent: string[] = [];
    const recording = recordingPool(() => pool, sent);
    const s = store({ pool: recording });
    const q = queries[0] as number[];
    await s.search(q, { k: 5 }); // reads the version
    // Forced iterative (as from a count): 97% of the rows match, and PostgreSQL plans the HNSW scan itself.
    sent.length = 0;
    const first = await s.search(q, { k: 5, filter: big, strategy: 'iterative' });
    expect(sent.filter((t) => t.startsWith('EXPLAIN (FORMAT JSON) SELECT * FROM'))).toHaveLength(1);
    expect(sent.some((t) => /BEGIN|enable_seqscan/.test(t))).toBe(false);
    sent.length = 0;
    const second = await s.search(q, { k: 5, filter: big, strategy: 'iterative' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).not.toMatch(/BEGIN|enable_seqscan|EXPLAIN/);
    const isBig = (m: Meta) => m.tenant === 'big';
    for (const r of [first, second]) {
      expect(r.results).toHaveLength(5);
      expect(r.results.every((h) => isBig(h.metadata as Meta))).toBe(true);
    }
    // 30 matching rows: PostgreSQL would sort them itself, so the iterative scan is pinned (a transaction).
    sent.length = 0;
    const pinned = await s.search(q, { k: 5, filter: tiny, strategy: 'iterative' });
    expect(sent.some((t) => /BEGIN.*enable_seqscan/s.test(t))).toBe(true);
    expect(pinned.results.every((h) => (h.metadata as Meta).tenant === 'tiny')).toBe(true);
    expect(pinned.results).toHaveLength(5);
  });

  it('a filter of a form counted small before runs as one guarded exact statement; more rows re-plan it', async () => {
    const s = store(); // exactRows 100
    const q = queries[1] as number[];
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    const first = await s.search(q, { k: 5, filter: { n: { in: range(0, 40) } } });
    expect(first.plan).toMatchObject({ strategy: 'exact', estimatedRows: 40, estimateSource: 'count' });
    // Other values, same SQL: no EXPLAIN, no count — the exact statement ranks and counts at most 101 rows.
    const values = range(500, 60);
    const second = await s.search(q, { k: 5, filter: { n: { in: values } } });
    expect(second.plan).toMatchObject({ strategy: 'exact', estimateSource: 'guard', guard: 100 });
    expect(second.results.map((h) => h.id)).toEqual(exactIds(q, 5, (m) => values.includes(m.n)));
    const explained = await s.explainSearch(q, { k: 5, filter: { n: { in: range(700, 30) } } });
    expect(explained.choice.estimateSource).toBe('guard');
    expect(explained.indexes).not.toContain('plan_items_hnsw');
    // 1,000 rows match: the guard sees 101, so the search is planned from an estimate and run again (the
    // planner's figure, or a count when it is below 2 × exactRows).
    const many = range(1000, 1000);
    const third = await s.search(q, { k: 5, filter: { n: { in: many } } });
    expect(third.plan.strategy).toBe('iterative');
    expect(third.plan.estimateSource).toMatch(/^(count|planner)$/);
    expect(third.results).toHaveLength(5);
    expect(third.results.every((h) => many.includes((h.metadata as Meta).n))).toBe(true);
    // …and the form is no longer guarded, even after a small count: its guard failed once.
    const fourth = await s.search(q, { k: 5, filter: { n: { in: range(2100, 20) } } });
    expect(fourth.plan.estimateSource).toBe('count');
    const fifth = await s.search(q, { k: 5, filter: { n: { in: range(2200, 20) } } });
    expect(fifth.plan.estimateSource).toBe('count');
    expect(fifth.results.map((h) => h.id)).toEqual(exactIds(q, 5, (m) => m.n >= 2200 && m.n < 2220));
  });

  it('the guard at its bound: exactly exactRows rows stay guarded and exact, one more re-plans', async () => {
    const s = store(); // exactRows 100
    const q = queries[2] as number[];
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    await s.search(q, { k: 5, filter: { n: { in: range(0, 30) } } }); // counted small: the form is guarded
    const full = range(300, 100);
    const atBound = await s.search(q, { k: 5, filter: { n: { in: full } } });
    expect(atBound.plan).toMatchObject({ strategy: 'exact', estimateSource: 'guard', guard: 100 });
    expect(atBound.results.map((h) => h.id)).toEqual(exactIds(q, 5, (m) => full.includes(m.n)));
    const over = range(600, 101);
    const above = await s.search(q, { k: 5, filter: { n: { in: over } } });
    expect(above.plan.estimateSource).not.toBe('guard');
    expect(above.results).toHaveLength(5);
    expect(above.results.every((h) => over.includes((h.metadata as Meta).n))).toBe(true);
  });

  it('a B-tree on a key’s text serves equality and `in` of strings once the store has read it', async () => {
    const s = store();
    const q = queries[2] as number[];
    const inList = { tenant: { in: ['tiny', 'nobody'] } } as const;
    const isTiny = (m: Meta) => m.tenant === 'tiny';
    const before = await s.explainSearch(q, { k: 5, filter: inList });
    expect(before.indexes).toContain('plan_items_gin');
    await pgc.query(`CREATE INDEX plan_items_tenant_text ON plan_items ((metadata ->> 'tenant'))`);
    try {
      await pgc.query('ANALYZE plan_items');
      // Read once per store: the same store still writes containment until it is told to look again.
      expect((await s.explainSearch(q, { k: 5, filter: inList })).indexes).toContain('plan_items_gin');
      await s.refreshRecallProfile();
      for (const filter of [inList, { tenant: 'tiny' }] as const) {
        const explained = await s.explainSearch(q, { k: 5, filter });
        expect(explained.indexes, explained.plan.join('\n')).toContain('plan_items_tenant_text');
        // 'tiny' can only be a JSON string's text: no type test on the rows.
        expect(explained.plan.join('\n')).not.toMatch(/jsonb_typeof/);
        const r = await s.search(q, { k: 5, filter });
        expect(r.results.map((h) => h.id)).toEqual(exactIds(q, 5, isTiny));
      }
      // '7' could be the text of the number 7: the type test comes along, the B-tree still serves it.
      const typed = await s.explainSearch(q, { k: 5, filter: { tenant: { in: ['tiny', '7'] } } });
      expect(typed.indexes).toContain('plan_items_tenant_text');
      expect(typed.plan.join('\n')).toMatch(/jsonb_typeof/);
      // Not all strings: the containment (GIN) form, exact JSON equality.
      const mixed = await s.explainSearch(q, { k: 5, filter: { tenant: { in: ['tiny', 3] } } as never });
      expect(mixed.indexes).toContain('plan_items_gin');
      const negated = await s.search(q, { k: 5, filter: { tenant: { nin: ['big'] } } });
      expect(negated.results.map((h) => h.id)).toEqual(exactIds(q, 5, isTiny));
    } finally {
      await pgc.query('DROP INDEX plan_items_tenant_text');
      await pgc.query('ANALYZE plan_items');
    }
  });

  it('a B-tree on a key’s string expression serves string ranges, equality and `in` with no type test', async () => {
    const s = store();
    const q = queries[4] as number[];
    const stringExpr = `(CASE WHEN jsonb_typeof((metadata -> 'tenant')) = 'string' THEN (metadata ->> 'tenant') END)`;
    await pgc.query(`CREATE INDEX plan_items_tenant_str ON plan_items ((${stringExpr}))`);
    try {
      await pgc.query('ANALYZE plan_items');
      await s.refreshRecallProfile();
      const isTiny = (m: Meta) => m.tenant === 'tiny';
      for (const filter of [
        { tenant: { gte: 'tiny', lt: 'tinz' } },
        { tenant: { in: ['tiny', '7'] } },
        { tenant: 'tiny' },
      ] as const) {
        const explained = await s.explainSearch(q, { k: 5, filter });
        const plan = explained.plan.join('\n');
        expect(explained.indexes, plan).toContain('plan_items_tenant_str');
        // The string expression is NULL unless the value is a JSON string: no test of its own beside it.
        expect(plan.match(/jsonb_typeof/g)?.length ?? 0, plan).toBeLessThanOrEqual(2);
        expect(plan).not.toMatch(/NOT IN|<> ALL/);
        const r = await s.search(q, { k: 5, filter });
        expect(r.plan.strategy).toBe('exact');
        expect(r.results.map((h) => h.id)).toEqual(exactIds(q, 5, isTiny));
      }
    } finally {
      await pgc.query('DROP INDEX plan_items_tenant_str');
      await pgc.query('ANALYZE plan_items');
      await s.refreshRecallProfile();
    }
  });

  it('B-tree-served filters are planned from the table’s statistics: no statement before the search, no guard', async () => {
    const nExpr = `(CASE WHEN jsonb_typeof((metadata -> 'n')) = 'number' THEN (metadata -> 'n')::numeric END)`;
    await pgc.query(`CREATE INDEX plan_items_n ON plan_items ((${nExpr}))`);
    await pgc.query(`CREATE INDEX plan_items_tenant_range ON plan_items ((metadata ->> 'tenant'))`);
    try {
      await pgc.query('ANALYZE plan_items');
      const sent: string[] = [];
      const recording = recordingPool(() => pool, sent);
      const s = store({ pool: recording }); // exactRows 100
      const q = queries[3] as number[];
      await s.search(q, { k: 10, filter: { n: { gte: 2000 } } }); // reads the version, the indexes, the statistics
      expect(sent.some((t) => t.includes('pg_stats'))).toBe(true);
      const searches: [object, (m: Meta) => boolean][] = [
        [{ n: { gte: 0, lt: 40 } }, (m) => m.n < 40],
        [{ n: { gte: 1000, lt: 1030 } }, (m) => m.n >= 1000 && m.n < 1030],
        [{ tenant: 'tiny' }, (m) => m.tenant === 'tiny'],
        [{ tenant: 'tiny', n: { lt: 1500 } }, (m) => m.tenant === 'tiny' && m.n < 1500],
      ];
      for (const [filter, keep] of searches) {
        sent.length = 0;
        const r = await s.search(q, { k: 10, filter });
        // One statement: the exact ranking, with no guard (the statistics' bound is at most exactRows).
        expect(r.plan, JSON.stringify(filter)).toMatchObject({
          strategy: 'exact',
          estimateSource: 'statistics',
        });
        expect(r.plan.guard).toBeUndefined();
        expect(sent, JSON.stringify(filter)).toHaveLength(1);
        expect(sent[0]).not.toMatch(/EXPLAIN|count\(|row_number/);
        expect(r.results.map((h) => h.id)).toEqual(exactIds(q, 10, keep));
      }
      // Above exactRows: iterative from the figure, which is PostgreSQL's (1,500 of 3,000 rows).
      sent.length = 0;
      const wide = await s.search(q, { k: 10, filter: { n: { gte: 0, lt: 1500 } } });
      expect(wide.plan).toMatchObject({ strategy: 'iterative', estimateSource: 'statistics' });
      expect(wide.plan.estimatedRows).toBeGreaterThan(1200);
      expect(wide.plan.estimatedRows).toBeLessThan(1800);
      expect(sent).toHaveLength(1);
      expect(wide.results).toHaveLength(10);
      expect(wide.results.every((h) => (h.metadata as Meta).n < 1500)).toBe(true);
      // 'big' is a most common value (97%).
      const big = await s.search(q, { k: 10, filter: { tenant: 'big' } });
      expect(big.plan).toMatchObject({ strategy: 'iterative', estimateSource: 'statistics' });
      expect(big.plan.estimatedRows).toBeGreaterThan(2700);
      // Near the threshold (~80 rows, bound ~160 ≤ 2 × 100): still exact from the statistics, no guard.
      const between = await s.search(q, { k: 10, filter: { n: { gte: 100, lt: 180 } } });
      expect(between.plan).toMatchObject({ strategy: 'exact', estimateSource: 'statistics' });
      expect(between.plan.guard).toBeUndefined();
      expect(between.results.map((h) => h.id)).toEqual(exactIds(q, 10, (m) => m.n >= 100 && m.n < 180));
      // The explanation says where the figure came from.
      const explained = await s.explainSearch(q, { k: 10, filter: { tenant: 'tiny' } });
      expect(explained.choice.reason).toMatch(/statistics/);
      expect(explained.indexes).not.toContain('plan_items_hnsw');
    } finally {
      await pgc.query('DROP INDEX plan_items_n');
      await pgc.query('DROP INDEX plan_items_tenant_range');
      await pgc.query('ANALYZE plan_items');
    }
  });

  it('without statistics (estimateCacheMs 0): B-tree-served ranges above exactRows from the planner’s figure, no count', async () => {
    const nExpr = `(CASE WHEN jsonb_typeof((metadata -> 'n')) = 'number' THEN (metadata -> 'n')::numeric END)`;
    await pgc.query(`CREATE INDEX plan_items_n ON plan_items ((${nExpr}))`);
    await pgc.query(`CREATE INDEX plan_items_tenant_range ON plan_items ((metadata ->> 'tenant'))`);
    try {
      await pgc.query('ANALYZE plan_items');
      const s = store({ planner: { exactRows: 100, estimateCacheMs: 0 } });
      const q = queries[3] as number[];
      const wide = await s.search(q, { k: 10, filter: { n: { gte: 0, lt: 1500 } } });
      expect(wide.plan).toMatchObject({ strategy: 'iterative', estimateSource: 'planner' });
      expect(wide.results).toHaveLength(10);
      expect(wide.results.every((h) => (h.metadata as Meta).n < 1500)).toBe(true);
      const narrow = await s.search(q, { k: 10, filter: { n: { gte: 0, lt: 50 } } });
      expect(narrow.plan).toMatchObject({ strategy: 'exact', estimatedRows: 50, estimateSource: 'count' });
      expect(narrow.results.map((h) => h.id)).toEqual(exactIds(q, 10, (m) => m.n < 50));
      // A text range: its type test is left out of the estimate (PostgreSQL would guess 0.5% of rows).
      const text = await s.search(q, { k: 10, filter: { tenant: { gte: 'a', lt: 'c' } } });
      expect(text.plan.estimateSource).toBe('planner');
      expect(text.plan.estimatedRows).toBeGreaterThan(2000);
      expect(text.plan.strategy).toBe('iterative');
      expect(text.results.every((h) => (h.metadata as Meta).tenant === 'big')).toBe(true);
    } finally {
      await pgc.query('DROP INDEX plan_items_n');
      await pgc.query('DROP INDEX plan_items_tenant_range');
      await pgc.query('ANALYZE plan_items');
    }
  });

  it('each forced strategy returns the exact answer on a small table', async () => {
    const s = store();
    for (const q of queries) {
      const keepBigArticles = (m: Meta) => m.tenant === 'big' && m.type === 'article';
      const filter = { type: 'article', tenant: { contains: 'big' } } as const;
      const want = exactIds(q, 10, keepBigArticles);
      const exact = await s.search(q, { k: 10, filter, strategy: 'exact' });
      expect(exact.plan).toMatchObject({ strategy: 'exact', estimateSource: 'forced' });
      expect(exact.results.map((h) => h.id)).toEqual(want);
      for (const strategy of ['iterative', 'partial'] as const) {
        const r = await s.search(q, { k: 10, filter, strategy, efSearch: 400 });
        expect(r.plan.strategy).toBe(strategy);
        expect(new Set(r.results.map((h) => h.id))).toEqual(new Set(want));
      }
      const unfiltered = await s.search(q, { k: 10, strategy: 'index', efSearch: 400 });
      expect(new Set(unfiltered.results.map((h) => h.id))).toEqual(new Set(exactIds(q, 10)));
      const exactAll = await s.search(q, { k: 10, strategy: 'exact' });
      expect(exactAll.results.map((h) => h.id)).toEqual(exactIds(q, 10));
    }
  });

  it('explainSearch reports the strategy, estimate and reason; an exact plan scans no vector index', async () => {
    const s = store({ searchVia: 'prisma' });
    const q = queries[1] as number[];
    const e = await s.explainSearch(q, { k: 10, filter: tiny });
    expect(e.choice).toMatchObject({ strategy: 'exact', estimatedRows: 30 });
    expect(e.choice.reason).toMatch(/ranked exactly/);
    expect(e.indexes).not.toContain('plan_items_hnsw');
    expect(e.indexes).not.toContain('plan_items_article_hnsw');
    expect(e.plan.join('\n')).not.toMatch(/hnsw/);
    await withDatabaseSetting('enable_seqscan', 'off', async () => {
      const i = await s.explainSearch(q, { k: 10, filter: big, strategy: 'iterative' });
      expect(i.choice.strategy).toBe('iterative');
      expect(i.indexes).toContain('plan_items_hnsw');
      const p = await s.explainSearch(q, { k: 10, filter: { type: 'article' } });
      expect(p.choice.strategy).toBe('partial');
      expect(p.indexes).toContain('plan_items_article_hnsw');
    });
  });

  it('refuses a bad strategy, partial without a predicate, and bad planner / recall options', async () => {
    const s = store();
    const q = queries[0] as number[];
    const bad = await rejection(s.search(q, { strategy: 'fast' as never }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.message).toMatch(/strategy must be one of 'auto', 'index', 'iterative', 'partial', 'exact'/);
    const partial = await rejection(s.search(q, { filter: big, strategy: 'partial' }));
    expect(partial.code).toBe('INVALID_ARGUMENT');
    expect(partial.message).toMatch(/implies none/);
    expect((await rejection(s.search(q, { recall: 0 }))).code).toBe('INVALID_ARGUMENT');
    for (const planner of [{ exactRows: -1 }, { exactRows: 1.5 }, { nope: 1 }, 'fast'] as const) {
      expect(() => store({ planner })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    }
    expect(() => store({ recall: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

/** A recall profile measured on `index` (the JSON the tuner writes into its comment). */
function profileOn(index: string, entries: readonly object[]) {
  return { version: 1, index, rows: ROWS, measuredAt: '2026-12-01T00:00:00.000Z', entries };
}

describe('recall targets', () => {
  it('without a recall profile: the conservative ef_search and a warning; efSearch wins', async () => {
    const s = store({ recall: 0.95 });
    const q = queries[0] as number[];
    const r = await s.search(q, { k: 10 });
    expect(r.settings.efSearch).toBe(100);
    expect(r.warnings.join('\n')).toMatch(/no recall profile; run prisma-pgvector tune --persist index/);
    expect((await s.search(q, { k: 80 })).settings.efSearch).toBe(160);
    expect((await s.search(q, { k: 10, recall: 0.99 })).settings.efSearch).toBe(200);
    const own = await s.search(q, { k: 10, efSearch: 64 });
    expect(own.settings.efSearch).toBe(64);
    expect(own.warnings).toEqual([]);
    const exact = await s.search(q, { k: 10, filter: tiny });
    expect(exact.plan.strategy).toBe('exact');
    expect(exact.warnings).toEqual([]);
    expect(await s.refreshRecallProfile()).toBeUndefined();
  });

  it('with a recall profile on the index: its ef_search for the k', async () => {
    const profile = profileOn('plan_items_hnsw', [
      { k: 10, strategy: 'index', efSearch: 40, recall: 0.9, recallLow: 0.88, queries: 100 },
      { k: 10, strategy: 'index', efSearch: 120, recall: 0.97, recallLow: 0.96, queries: 100 },
    ]);
    await pgc.query(
      `COMMENT ON INDEX plan_items_hnsw IS 'prisma-pgvector:recall-profile ${JSON.stringify(profile)}'`,
    );
    try {
      const s = store({ recall: 0.95 });
      expect((await s.refreshRecallProfile())?.index).toBe('plan_items_hnsw');
      const r = await s.search(queries[0] as number[], { k: 10 });
      expect(r.settings.efSearch).toBe(120);
      expect(r.warnings).toEqual([]);
      // A partial index is another, smaller graph: the whole index's profile does not apply to it.
      const p = await s.search(queries[0] as number[], {
        k: 10,
        filter: { type: 'article', tenant: { contains: 'big' } },
      });
      expect(p.plan.strategy).toBe('partial');
      expect(p.settings.efSearch).toBe(100);
      expect(p.warnings.join('\n')).toMatch(
        /no recall profile on the partial index of type = 'article'; run prisma-pgvector tune --partial-index type=article/,
      );
    } finally {
      await pgc.query('COMMENT ON INDEX plan_items_hnsw IS NULL');
    }
  });

  it('a partial index with a recall profile of its own: its ef_search, for the filter that is its predicate and for narrower ones', async () => {
    const own = profileOn('plan_items_article_hnsw', [
      { k: 10, strategy: 'iterative', efSearch: 10, recall: 0.9, recallLow: 0.85, queries: 100 },
      { k: 10, strategy: 'iterative', efSearch: 24, recall: 0.94, recallLow: 0.93, queries: 100 },
      { k: 10, strategy: 'iterative', efSearch: 64, recall: 0.98, recallLow: 0.96, queries: 100 },
    ]);
    // A profile measured on another index is not this one's.
    const foreign = { ...own, index: 'plan_items_hnsw' };
    await pgc.query(
      `COMMENT ON INDEX plan_items_article_hnsw IS 'prisma-pgvector:recall-profile ${JSON.stringify(foreign)}'`,
    );
    try {
      const s = store({ recall: 0.95 });
      await s.refreshRecallProfile();
      const before = await s.search(queries[0] as number[], { k: 10, filter: { type: 'article' } });
      expect(before.plan.strategy).toBe('partial');
      expect(before.settings.efSearch).toBe(100);
      await pgc.query(
        `COMMENT ON INDEX plan_items_article_hnsw IS 'prisma-pgvector:recall-profile ${JSON.stringify(own)}'`,
      );
      // Read once per store: the new comment counts after a refresh.
      expect(
        (await s.search(queries[0] as number[], { k: 10, filter: { type: 'article' } })).settings.efSearch,
      ).toBe(100);
      await s.refreshRecallProfile();
      for (const filter of [{ type: 'article' }, { type: 'article', tenant: { contains: 'big' } }] as const) {
        const r = await s.search(queries[0] as number[], { k: 10, filter });
        expect(r.plan.strategy, JSON.stringify(filter)).toBe('partial');
        expect(r.settings.efSearch, JSON.stringify(filter)).toBe(64);
        expect(r.warnings, JSON.stringify(filter)).toEqual([]);
        expect(r.results.length).toBe(10);
      }
      // Recall 0.99: no measured value reaches it, the largest one is used, with a warning.
      const high = await s.search(queries[0] as number[], {
        k: 10,
        filter: { type: 'article' },
        recall: 0.99,
      });
      expect(high.settings.efSearch).toBe(64);
      expect(high.warnings.join('\n')).toMatch(
        /the partial index's recall profile has no ef_search reaching recall 0\.99/,
      );
      // Recall 0.8: 10 reaches it on the profile, but a target never lowers ef_search below pgvector's 40.
      const low = await s.search(queries[0] as number[], { k: 10, filter: { type: 'article' }, recall: 0.8 });
      expect(low.settings.efSearch).toBe(40);
      expect(low.warnings).toEqual([]);
    } finally {
      await pgc.query('COMMENT ON INDEX plan_items_article_hnsw IS NULL');
    }
  });
});
