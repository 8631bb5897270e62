// The search planner's pure parts: the strategy choice, max_scan_tuples sizing, the EXPLAIN reader, the
// estimate cache, the statements it runs, and the exact-search SQL.
import { raw } from '@prisma/client/runtime/client';
import { describe, expect, it } from 'vitest';
import { vectorParam } from '../../src/core/vector.js';
import { resolveStoreConfig } from '../../src/store/config.js';
import { conservativeEfSearch } from '../../src/store/search.js';
import {
  choosePlan,
  defaultExactRows,
  estimateRows,
  exactRowsFor,
  type PlanInput,
  planOrdersByIndex,
  readExplainEstimate,
  scanTuplesFor,
  TtlCache,
} from '../../src/store/search-plan.js';
import {
  buildBoundedCountSql,
  buildEstimateSql,
  buildSearchSql,
  buildSettingsGate,
  buildTableRowsSql,
} from '../../src/store/sql.js';
import { thrown } from '../support/pg-vector-error.js';

const planner = {
  exactRows: 10_000,
  exactRowsScale: 'fixed',
  estimateCacheMs: 30_000,
  exactFallbackRows: 100_000,
} as const;
const base: PlanInput = { requested: 'auto', unfiltered: false, predicates: [], tableRows: 300_000, planner };
const counted = (rows: number, exact = rows <= 10_000) =>
  ({ rows, exact, indexServed: true, source: 'count' }) as const;
const config = resolveStoreConfig({ dimensions: 3, partialIndexPredicates: [] });
const where = raw('("metadata" @> \'{"t":"a"}\'::jsonb)');

describe('choosePlan', () => {
  it('unfiltered: the index', () => {
    expect(choosePlan({ ...base, unfiltered: true })).toMatchObject({
      strategy: 'index',
      estimateSource: 'none',
      selectivity: 1,
    });
  });

  it('few counted rows: exact; many: iterative; a partial predicate: partial', () => {
    const exact = choosePlan({ ...base, estimate: counted(300) });
    expect(exact).toMatchObject({ strategy: 'exact', estimatedRows: 300, estimateSource: 'count' });
    expect(exact.selectivity).toBeCloseTo(0.001);
    expect(exact.reason).toMatch(/matches 300 rows \(≤ exactRows 10,000\)/);
    expect(choosePlan({ ...base, estimate: counted(10_001, false) }).strategy).toBe('iterative');
    expect(choosePlan({ ...base, estimate: counted(300), cached: true }).estimateSource).toBe('cache');
    const partial = choosePlan({
      ...base,
      estimate: counted(20_000, false),
      predicates: [{ key: 'type', value: 'article' }],
      predicateRows: 40_000,
    });
    expect(partial).toMatchObject({ strategy: 'partial', selectivity: 0.5 });
  });

  it('trusts a planner guess of a filter no index serves only on a small table', () => {
    const guess = { rows: 500, exact: false, indexServed: false, source: 'planner' } as const;
    expect(choosePlan({ ...base, estimate: guess }).strategy).toBe('iterative');
    expect(choosePlan({ ...base, estimate: guess, tableRows: 5000 }).strategy).toBe('exact');
    expect(choosePlan({ ...base, estimate: guess, tableRows: null }).strategy).toBe('iterative');
  });

  it('forced strategies, and partial without a predicate refused', () => {
    expect(choosePlan({ ...base, requested: 'exact' })).toMatchObject({
      strategy: 'exact',
      estimateSource: 'forced',
    });
    const e = thrown(() => choosePlan({ ...base, requested: 'partial' }));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/needs a filter that implies a configured partial index predicate/);
  });
});

describe('sizes', () => {
  it('max_scan_tuples grows with 1 / selectivity, within [20,000, 2,000,000]', () => {
    expect(scanTuplesFor(10, null)).toBe(20_000);
    expect(scanTuplesFor(10, 0.1)).toBe(20_000);
    expect(scanTuplesFor(10, 0.0005)).toBe(80_000);
    expect(scanTuplesFor(100, 0.00001)).toBe(2_000_000);
  });

  it('exactRows by dimensions, the conservative ef_search of a recall target', () => {
    expect(defaultExactRows(384)).toBe(3000);
    expect(defaultExactRows(1536)).toBe(1500);
    expect(defaultExactRows(3072)).toBe(750);
    expect(defaultExactRows(16_000)).toBe(500);
    expect(conservativeEfSearch(10, 0.95)).toBe(100);
    expect(conservativeEfSearch(80, 0.9)).toBe(160);
    expect(conservativeEfSearch(100, 0.99)).toBe(400);
    expect(conservativeEfSearch(600, 0.99)).toBe(1000);
  });

  it('the default exactRows grows with the square root of the table (at most 7×); a given one does not', () => {
    const grown = resolveStoreConfig({ dimensions: 384 }).planner;
    expect(exactRowsFor(grown, null)).toBe(3000);
    expect(exactRowsFor(grown, 50_000)).toBe(3000);
    expect(exactRowsFor(grown, 100_000)).toBe(3000);
    expect(exactRowsFor(grown, 300_000)).toBe(Math.round(3000 * Math.sqrt(3)));
    expect(exactRowsFor(grown, 1_000_000)).toBe(9487);
    expect(exactRowsFor(grown, 100_000_000)).toBe(21_000);
    const given = resolveStoreConfig({ dimensions: 384, planner: { exactRows: 3000 } }).planner;
    expect(exactRowsFor(given, 1_000_000)).toBe(3000);
    expect(exactRowsFor(resolveStoreConfig({ dimensions: 1536 }).planner, 200_000)).toBe(
      Math.round(1500 * Math.sqrt(2)),
    );
  });

  it('validates the planner and recall options (INVALID_CONFIG)', () => {
    expect(resolveStoreConfig({}).planner).toEqual({
      exactRows: 1500,
      exactRowsScale: 'table',
      estimateCacheMs: 30_000,
      exactFallbackRows: 15_000,
    });
    expect(resolveStoreConfig({ planner: { exactRows: 800 } }).planner).toMatchObject({
      exactRows: 800,
      exactRowsScale: 'fixed',
    });
    expect(resolveStoreConfig({ dimensions: 384 }).planner.exactRows).toBe(3000);
    expect(resolveStoreConfig({ dimensions: 3072, vectorType: 'halfvec' }).planner.exactRows).toBe(750);
    for (const planner of [{ exactRows: -1 }, { estimateCacheMs: 0.5 }, { x: 1 }, 7]) {
      expect(thrown(() => resolveStoreConfig({ planner: planner as never })).code).toBe('INVALID_CONFIG');
    }
    for (const recall of [0, 1.01, Number.NaN, '0.9']) {
      expect(thrown(() => resolveStoreConfig({ recall: recall as never })).code).toBe('INVALID_CONFIG');
    }
    expect(resolveStoreConfig({ recall: 0.95 }).recall).toBe(0.95);
  });
});

describe('estimates', () => {
  it('reads EXPLAIN (FORMAT JSON) as text or parsed, and whether an index serves the filter', () => {
    const plan = [
      {
        Plan: {
          'Node Type': 'Bitmap Heap Scan',
          'Plan Rows': 300,
          Plans: [{ 'Node Type': 'Bitmap Index Scan', 'Plan Rows': 300 }],
        },
      },
    ];
    expect(readExplainEstimate([{ 'QUERY PLAN': plan }])).toEqual({ rows: 300, indexServed: true });
    const seq = [{ Plan: { 'Node Type': 'Seq Scan', 'Plan Rows': 1500 } }];
    expect(readExplainEstimate([{ 'QUERY PLAN': JSON.stringify(seq) }])).toEqual({
      rows: 1500,
      indexServed: false,
    });
    expect(thrown(() => readExplainEstimate([])).code).toBe('DATABASE_ERROR');
  });

  it('counts (bounded) only when an index serves the filter', async () => {
    const ran: string[] = [];
    const run = (rows: number, indexServed: boolean, count: number) => async (s: { text: string }) => {
      ran.push(s.text);
      if (s.text.startsWith('EXPLAIN')) {
        return [
          {
            'QUERY PLAN': [
              {
                Plan: {
                  'Node Type': indexServed ? 'Bitmap Heap Scan' : 'Seq Scan',
                  'Plan Rows': rows,
                  Plans: indexServed ? [{ 'Node Type': 'Bitmap Index Scan' }] : [],
                },
              },
            ],
          },
        ];
      }
      return [{ rows: count }];
    };
    const statements = {
      explain: (w: typeof where) => buildEstimateSql(config, w),
      count: (w: typeof where, n: number) => buildBoundedCountSql(config, w, n),
    };
    expect(await estimateRows(where, 100, run(5, true, 42), statements)).toEqual({
      rows: 42,
      exact: true,
      indexServed: true,
      source: 'count',
    });
    expect(ran[1]).toMatch(/LIMIT 101\) AS s$/);
    expect(await estimateRows(where, 100, run(50, true, 101), statements)).toMatchObject({
      rows: 101,
      exact: false,
      source: 'count',
    });
    ran.length = 0;
    expect(await estimateRows(where, 100, run(5, false, 0), statements)).toMatchObject({
      rows: 5,
      source: 'planner',
    });
    expect(ran).toHaveLength(1); // no count without an index: it would scan the table
    // Just below 2 × the threshold the count still runs; at 2 × it does not.
    ran.length = 0;
    expect(await estimateRows(where, 100, run(199, true, 101), statements)).toMatchObject({
      rows: 199,
      source: 'count',
    });
    expect(ran).toHaveLength(2);
    ran.length = 0;
    expect(await estimateRows(where, 100, run(200, true, 101), statements)).toEqual({
      rows: 200,
      exact: false,
      indexServed: true,
      source: 'planner',
    });
    expect(ran).toHaveLength(1);
    // B-tree statistics (no containment): above the threshold the planner's figure is enough; below it
    // the count still runs. The EXPLAIN reads `estimateWhere`, the count the filter itself.
    const estimateWhere = raw("(\"metadata\" ->> 't') = 'a'");
    ran.length = 0;
    expect(
      await estimateRows(where, 100, run(101, true, 0), statements, { estimateWhere, trusted: true }),
    ).toMatchObject({ rows: 101, source: 'planner' });
    expect(ran).toHaveLength(1);
    expect(ran[0]).toContain(`("metadata" ->> 't') = 'a'`);
    ran.length = 0;
    expect(
      await estimateRows(where, 100, run(100, true, 42), statements, { estimateWhere, trusted: true }),
    ).toMatchObject({ rows: 42, source: 'count', exact: true });
    expect(ran[1]).toContain('"metadata" @>');
    // A form that straddles the threshold (its guard overflowed): above half the threshold the B-tree figure
    // is taken as is; at half or below, or without B-tree statistics, the count still runs.
    const straddling = { estimateWhere, trusted: true, straddles: true };
    ran.length = 0;
    expect(await estimateRows(where, 100, run(51, true, 42), statements, straddling)).toEqual({
      rows: 51,
      exact: false,
      indexServed: true,
      source: 'planner',
    });
    expect(ran).toHaveLength(1);
    ran.length = 0;
    expect(await estimateRows(where, 100, run(50, true, 42), statements, straddling)).toMatchObject({
      rows: 42,
      source: 'count',
    });
    expect(ran).toHaveLength(2);
    ran.length = 0;
    expect(
      await estimateRows(where, 100, run(90, true, 42), statements, { ...straddling, trusted: false }),
    ).toMatchObject({ rows: 42, source: 'count' });
    expect(ran).toHaveLength(2);
  });

  it('caches with a time to live, least recently used out first', () => {
    const cache = new TtlCache<number>(1000, 2);
    cache.set('a', 1, 0);
    cache.set('b', 2, 0);
    expect(cache.get('a', 10)).toBe(1);
    cache.set('c', 3, 10); // evicts b, the least recently used
    expect(cache.get('b', 10)).toBeUndefined();
    expect(cache.get('a', 999)).toBe(1);
    expect(cache.get('a', 2000)).toBeUndefined();
    const off = new TtlCache<number>(0);
    off.set('a', 1);
    expect(off.get('a')).toBeUndefined();
  });
});

describe('planner SQL', () => {
  it('estimate, bounded count and table rows', () => {
    expect(buildEstimateSql(config, where).text).toBe(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM "documents" WHERE "embedding" IS NOT NULL AND ("metadata" @> '{"t":"a"}'::jsonb)`,
    );
    expect(buildBoundedCountSql(config, where, 10_001).text).toBe(
      `SELECT count(*)::int AS "rows" FROM (SELECT 1 FROM "documents" WHERE "embedding" IS NOT NULL AND ("metadata" @> '{"t":"a"}'::jsonb) LIMIT 10001) AS s`,
    );
    expect(thrown(() => buildBoundedCountSql(config, where, 0)).code).toBe('INVALID_ARGUMENT');
    const rows = buildTableRowsSql(config);
    expect(rows.text).toBe('SELECT reltuples::float8 AS "rows" FROM pg_class WHERE oid = to_regclass($1)');
    expect(rows.values).toEqual(['"documents"']);
  });

  it('a search that applies its own settings: a one-time filter, and the floors reported in a column', () => {
    const gate = buildSettingsGate([
      ['hnsw.ef_search', '10', 40],
      ['hnsw.iterative_scan', 'off'],
    ]);
    const s = buildSearchSql(config, {
      query: vectorParam([1, 2, 3], 'vector', 3, 'text'),
      metric: 'cosine',
      k: 5,
      where: raw('TRUE'),
      fields: [],
      includeEmbedding: false,
      relaxed: false,
      gate,
    });
    expect(s.text).toBe(
      `SELECT "id" AS "id", "embedding" <=> $1::vector(3) AS "distance", (SELECT concat_ws(',', current_setting('hnsw.ef_search', true))) AS "_settings" FROM "documents" WHERE "embedding" IS NOT NULL AND (SELECT concat_ws(',', set_config('hnsw.ef_search', greatest(10, coalesce(nullif(current_setting('hnsw.ef_search', true), '')::int, 40))::text, true), set_config('hnsw.iterative_scan', 'off', true))) IS NOT NULL ORDER BY "distance" LIMIT 5`,
    );
    expect(s.values).toEqual(['[1,2,3]']);
    expect(buildSettingsGate([['hnsw.iterative_scan', 'off']]).applied).toBeUndefined();
    expect(thrown(() => buildSettingsGate([['hnsw.ef_search', "1'"]])).code).toBe('INVALID_ARGUMENT');
  });

  it('exact search: the filter rows in an OFFSET 0 subquery, ranked outside (no vector index ordering)', () => {
    const s = buildSearchSql(config, {
      query: vectorParam([1, 2, 3], 'vector', 3, 'text'),
      metric: 'cosine',
      k: 5,
      where,
      fields: [],
      includeEmbedding: false,
      relaxed: false,
      maxDistance: 0.5,
      exact: true,
    });
    expect(s.text).toBe(
      `SELECT * FROM (SELECT "id" AS "id", "embedding" <=> $1::vector(3) AS "distance" FROM "documents" WHERE "embedding" IS NOT NULL AND ("metadata" @> '{"t":"a"}'::jsonb) OFFSET 0) AS s WHERE s."distance" <= $2 ORDER BY s."distance" LIMIT 5`,
    );
    expect(s.values).toEqual(['[1,2,3]', 0.5]);
  });
});

describe('planOrdersByIndex', () => {
  const scan = { 'Node Type': 'Index Scan', 'Index Name': 'docs_hnsw', 'Order By': '(embedding <=> $1)' };
  const plan = (top: unknown) => [{ 'QUERY PLAN': [{ Plan: top }] }];
  it('sees a vector index scan in its order under a limit, subquery scans, a re-sort and the gate', () => {
    const gated = {
      'Node Type': 'Sort',
      Plans: [
        {
          'Node Type': 'Subquery Scan',
          Plans: [
            {
              'Node Type': 'Limit',
              Plans: [
                { 'Node Type': 'Result', 'Parent Relationship': 'InitPlan' },
                { 'Node Type': 'Result', 'Parent Relationship': 'Outer', Plans: [scan] },
              ],
            },
          ],
        },
      ],
    };
    expect(planOrdersByIndex(plan(gated))).toBe(true);
    expect(
      planOrdersByIndex([
        { 'QUERY PLAN': JSON.stringify([{ Plan: { 'Node Type': 'Limit', Plans: [scan] } }]) },
      ]),
    ).toBe(true);
  });

  it('refuses a sort over a bitmap or sequential scan, an index scan without an order, and unreadable output', () => {
    const sorted = {
      'Node Type': 'Limit',
      Plans: [
        {
          'Node Type': 'Sort',
          Plans: [{ 'Node Type': 'Bitmap Heap Scan', Plans: [{ 'Node Type': 'Bitmap Index Scan' }] }],
        },
      ],
    };
    expect(planOrdersByIndex(plan(sorted))).toBe(false);
    expect(
      planOrdersByIndex(
        plan({
          'Node Type': 'Limit',
          Plans: [{ 'Node Type': 'Sort', Plans: [{ 'Node Type': 'Seq Scan' }] }],
        }),
      ),
    ).toBe(false);
    expect(
      planOrdersByIndex(
        plan({ 'Node Type': 'Limit', Plans: [{ 'Node Type': 'Index Scan', 'Index Name': 'docs_tenant' }] }),
      ),
    ).toBe(false);
    // Two children under the limit (a join, say): not the plain scan.
    expect(planOrdersByIndex(plan({ 'Node Type': 'Limit', Plans: [scan, scan] }))).toBe(false);
    expect(planOrdersByIndex([])).toBe(false);
    expect(planOrdersByIndex([{ 'QUERY PLAN': [{}] }])).toBe(false);
  });
});
