// Plans from the table's statistics (src/store/statistics.ts) against PostgreSQL + pgvector (embedded PGlite
// server, or TEST_DATABASE_URL): on skewed data, the store's figure for each filter is the planner's own
// (EXPLAIN of the same WHERE), and the plan it takes from it returns the exact answer.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createVectorStore, type VectorStore } from '../../src/index.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { exactDistance, itemsTableSql, random, randomVector } from './helpers.js';

type Meta = { tenant: string; price: number; day: string };

let db: TestDatabase;
let pool: pg.Pool;
let prisma: PrismaClient;
let pgc: pg.Client;
const next = random(23);
const DIMS = 4;
const ROWS = 6000;
const DAY0 = Date.UTC(2024, 0, 1);
const dayOf = (i: number) => new Date(DAY0 + (i % 360) * 86_400_000).toISOString().slice(0, 10);
/** Skewed tenants: 'big' 30%, 'mid' 8%, the rest spread over 400 small ones; prices 0–1000 with 5% at 250. */
const docs = Array.from({ length: ROWS }, (_, i) => {
  const r = next();
  const tenant = r < 0.3 ? 'big' : r < 0.38 ? 'mid' : `t${Math.floor(next() * 400)}`;
  const price = next() < 0.05 ? 250 : Math.round(next() * 100_000) / 100;
  return {
    id: `s${String(i).padStart(5, '0')}`,
    content: `row ${i}`,
    metadata: { tenant, price, day: dayOf(Math.floor(next() * 360)) } satisfies Meta,
    embedding: randomVector(next, DIMS),
  };
});

const PRICE = `(CASE WHEN jsonb_typeof((metadata -> 'price')) = 'number' THEN (metadata -> 'price')::numeric END)`;

function store(extra: object = {}): VectorStore<Meta> {
  return createVectorStore<Meta>(prisma, {
    schema: db.schema,
    table: 'stat_items',
    dimensions: DIMS,
    planner: { exactRows: 300 },
    pool,
    ...extra,
  });
}

function exactIds(q: number[], k: number, keep: (m: Meta) => boolean): string[] {
  return docs
    .filter((d) => keep(d.metadata))
    .map((d) => ({ id: d.id, d: exactDistance.cosine(q, d.embedding) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, k)
    .map((r) => r.id);
}

async function plannerRows(where: string, values: unknown[]): Promise<number> {
  const { rows } = await pgc.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM stat_items WHERE ${where}`, values);
  const plan = rows[0]?.['QUERY PLAN'];
  return (typeof plan === 'string' ? JSON.parse(plan) : plan)[0].Plan['Plan Rows'];
}

beforeAll(async () => {
  db = await openTestDatabase();
  pool = new pg.Pool({ ...db.poolConfig, max: 4 });
  prisma = new PrismaClient({ adapter: new PrismaPg(db.poolConfig, { schema: db.schema }) });
  pgc = await db.connect();
  await pgc.query(itemsTableSql('stat_items', `vector(${DIMS})`));
  await createVectorStore(prisma, { schema: db.schema, table: 'stat_items', dimensions: DIMS }).addMany(
    docs.map((d, i) => ({ ...d, createdAt: new Date(DAY0 + i * 3_600_000) })),
  );
  await pgc.query('CREATE INDEX stat_items_hnsw ON stat_items USING hnsw (embedding vector_cosine_ops)');
  await pgc.query(`CREATE INDEX stat_items_tenant ON stat_items ((metadata ->> 'tenant'))`);
  await pgc.query(`CREATE INDEX stat_items_price ON stat_items ((${PRICE}))`);
  await pgc.query('CREATE INDEX stat_items_created ON stat_items (created_at)');
  await pgc.query('VACUUM ANALYZE stat_items');
}, 300_000);

afterAll(async () => {
  await pgc?.end();
  await prisma?.$disconnect();
  await pool?.end();
  await db?.close();
});

describe('plans from the table statistics', () => {
  it("the store's figure is the planner's for equality, in, numeric and created-at ranges, and their and", async () => {
    const s = store();
    const q = randomVector(next, DIMS);
    const at = (hours: number) => new Date(DAY0 + hours * 3_600_000);
    const cases: [Record<string, unknown>, string, unknown[]][] = [
      [{ tenant: 'big' }, `(metadata ->> 'tenant') = $1`, ['big']],
      [{ tenant: 'mid' }, `(metadata ->> 'tenant') = $1`, ['mid']],
      [{ tenant: 't17' }, `(metadata ->> 'tenant') = $1`, ['t17']],
      [
        { tenant: { in: ['mid', 't1', 't2', 'nobody'] } },
        `(metadata ->> 'tenant') = ANY($1)`,
        [['mid', 't1', 't2', 'nobody']],
      ],
      [{ price: { gte: 100, lt: 180 } }, `${PRICE} >= $1 AND ${PRICE} < $2`, [100, 180]],
      [{ price: { gte: 200, lte: 250 } }, `${PRICE} >= $1 AND ${PRICE} <= $2`, [200, 250]],
      [{ price: { gt: 990 } }, `${PRICE} > $1`, [990]],
      [{ price: { lt: 5 } }, `${PRICE} < $1`, [5]],
      [
        { createdAt: { gte: at(100), lt: at(300) } },
        'created_at >= $1 AND created_at < $2',
        [at(100), at(300)],
      ],
      [
        { tenant: 'mid', price: { gte: 0, lt: 500 } },
        `(metadata ->> 'tenant') = $1 AND ${PRICE} >= $2 AND ${PRICE} < $3`,
        ['mid', 0, 500],
      ],
    ];
    const sources: string[] = [];
    for (const [filter, where, values] of cases) {
      const r = await s.search(q, { k: 5, filter: filter as never });
      const shown = JSON.stringify(filter);
      const expected = await plannerRows(where, values);
      sources.push(r.plan.estimateSource);
      if (r.plan.estimateSource === 'statistics') {
        // The planner clamps to at least one row; the store's figure is rounded.
        expect(Math.abs((r.plan.estimatedRows as number) - expected), shown).toBeLessThanOrEqual(
          Math.max(2, expected * 0.05),
        );
      } else {
        // A figure within exactRows whose bound is above twice it — an `and`'s bound is its tightest
        // condition's ('mid' alone: ~500 rows, bound ~1,000): estimated with statements.
        expect(r.plan.estimateSource, shown).toMatch(/^(count|planner|guard)$/);
        expect(expected, shown).toBeLessThanOrEqual(300 * 1.05);
      }
      const keep = (m: Meta, i: number): boolean => {
        const f = filter as {
          tenant?: unknown;
          price?: Record<string, number>;
          createdAt?: Record<string, Date>;
        };
        if (typeof f.tenant === 'string' && m.tenant !== f.tenant) return false;
        if (typeof f.tenant === 'object' && !(f.tenant as { in: string[] }).in.includes(m.tenant))
          return false;
        const p = f.price ?? {};
        if (p.gte !== undefined && !(m.price >= p.gte)) return false;
        if (p.gt !== undefined && !(m.price > p.gt)) return false;
        if (p.lte !== undefined && !(m.price <= p.lte)) return false;
        if (p.lt !== undefined && !(m.price < p.lt)) return false;
        const c = f.createdAt;
        const t = DAY0 + i * 3_600_000;
        if (c?.gte !== undefined && !(t >= c.gte.getTime())) return false;
        if (c?.lt !== undefined && !(t < c.lt.getTime())) return false;
        return true;
      };
      const ids = new Set(docs.filter((d, i) => keep(d.metadata, i)).map((d) => d.id));
      expect(r.results.length, shown).toBe(Math.min(5, ids.size));
      expect(
        r.results.every((h) => ids.has(h.id)),
        shown,
      ).toBe(true);
      if (r.plan.strategy === 'exact') {
        const ranked = docs
          .map((d, i) => ({ id: d.id, keep: keep(d.metadata, i), d: exactDistance.cosine(q, d.embedding) }))
          .filter((x) => x.keep)
          .sort((a, b) => a.d - b.d)
          .slice(0, 5)
          .map((x) => x.id);
        expect(
          r.results.map((h) => h.id),
          shown,
        ).toEqual(ranked);
      }
    }
    // Every figure but the `and` of a common tenant comes from the statistics.
    expect(sources.slice(0, -1), sources.join(',')).toEqual(Array(cases.length - 1).fill('statistics'));
    expect(sources.at(-1)).not.toBe('statistics');
    // Small figures (and their bound) within exactRows: exact with no guard; large ones: iterative.
    const small = await s.search(q, { k: 5, filter: { tenant: 't17' } });
    expect(small.plan).toMatchObject({ strategy: 'exact', estimateSource: 'statistics' });
    expect(small.results.map((h) => h.id)).toEqual(exactIds(q, 5, (m) => m.tenant === 't17'));
    const large = await s.search(q, { k: 5, filter: { tenant: 'big' } });
    expect(large.plan).toMatchObject({ strategy: 'iterative', estimateSource: 'statistics' });
  });

  it("in a caller's transaction: the copy read outside serves; none is read inside", async () => {
    const s = store();
    const q = randomVector(next, DIMS);
    const tiny = (m: Meta) => m.tenant === 't17';
    await prisma.$transaction(async (tx) => {
      const r = await s.withClient(tx as never).search(q, { k: 5, filter: { tenant: 't17' } });
      expect(r.plan.estimateSource).not.toBe('statistics');
      expect(r.results.map((h) => h.id)).toEqual(exactIds(q, 5, tiny));
    });
    expect((await s.search(q, { k: 5, filter: { tenant: 't17' } })).plan.estimateSource).toBe('statistics');
    await prisma.$transaction(async (tx) => {
      const r = await s.withClient(tx as never).search(q, { k: 5, filter: { tenant: 't17' } });
      expect(r.plan.estimateSource).toBe('statistics');
      expect(r.results.map((h) => h.id)).toEqual(exactIds(q, 5, tiny));
    });
  });

  it('statistics are read again after estimateCacheMs, and after refreshRecallProfile()', async () => {
    const s = store({ planner: { exactRows: 300, estimateCacheMs: 200 } });
    const q = randomVector(next, DIMS);
    const before = await s.search(q, { k: 5, filter: { tenant: 'mid' } });
    expect(before.plan.estimateSource).toBe('statistics');
    await pgc.query('DROP INDEX stat_items_tenant');
    try {
      await pgc.query('ANALYZE stat_items');
      // Still fresh: the copy read before serves (the index keys too, until refreshRecallProfile()).
      expect((await s.search(q, { k: 5, filter: { tenant: 'mid' } })).plan.estimateSource).toBe('statistics');
      await new Promise((r) => setTimeout(r, 250));
      // Stale: this search starts the reading and still uses the copy; the next one has the new statistics.
      await s.search(q, { k: 5, filter: { tenant: 'mid' } });
      await new Promise((r) => setTimeout(r, 50));
      const after = await s.search(q, { k: 5, filter: { tenant: 'mid' } });
      expect(after.plan.estimateSource).not.toBe('statistics');
      expect(after.results.map((h) => h.id)).toEqual(exactIds(q, 5, (m) => m.tenant === 'mid'));
    } finally {
      await pgc.query(`CREATE INDEX stat_items_tenant ON stat_items ((metadata ->> 'tenant'))`);
      await pgc.query('ANALYZE stat_items');
    }
    await s.refreshRecallProfile();
    expect((await s.search(q, { k: 5, filter: { tenant: 'mid' } })).plan.estimateSource).toBe('statistics');
  });
});
