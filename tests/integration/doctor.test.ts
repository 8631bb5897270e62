/**
 * The doctor on a real database (embedded, or the server of TEST_DATABASE_URL): for every check, a fixture
 * that fails (or warns) it and one that passes it. Versions and settings it reports are read from that server. Thresholds are lowered through options (largeTableRows: 100) so that fixtures stay small.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  metadataNumberExpression,
  metadataStringExpression,
  metadataTextExpression,
} from '../../src/core/filter-expressions.js';
import { adviseFilterIndexes } from '../../src/indexes/filter-advice.js';
import { filterIndexDdl } from '../../src/indexes/filter-index.js';
import { formatBytes } from '../../src/ops/checks/util.js';
import { type DoctorCheckId, type DoctorOptions, type DoctorReport, doctor } from '../../src/ops/doctor.js';
import { serializeRecallProfile } from '../../src/store/recall-profile.js';
import { createTestRole, openTestDatabase, type TestDatabase } from '../support/database.js';
import { itOnly } from '../support/engines.js';
import { readServerFacts, type ServerFacts } from '../support/server-facts.js';
import { random, randomVector } from './helpers.js';

let db: TestDatabase;
let client: pg.Client;
let facts: ServerFacts;

async function run(tables: string[], options: DoctorOptions = {}): Promise<DoctorReport> {
  return doctor(client, { tables, ...options });
}

function check(report: DoctorReport, id: DoctorCheckId) {
  const found = report.checks.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

async function fill(table: string, rows: number, dims: number, seed = 1): Promise<void> {
  const next = random(seed);
  const values = Array.from({ length: rows }, () => `[${randomVector(next, dims).join(',')}]`);
  await client.query(`INSERT INTO "${table}" (e) SELECT unnest($1::text[])::vector(${dims})`, [values]);
}

beforeAll(async () => {
  db = await openTestDatabase();
  client = await db.connect();
  facts = await readServerFacts(client);
});

afterAll(async () => {
  await client?.end();
  await db?.close();
});

describe('doctor on the migrated schema', () => {
  it('reports every check once, in order, with the documents table passing all but ef-search', async () => {
    const report = await run(['documents'], {
      commonFilters: [{ table: 'documents', predicate: "metadata->>'type' = 'article'" }],
    });
    expect(report.checks.map((c) => c.id)).toEqual([
      'extension',
      'dimensions',
      'missing-index',
      'operator-mismatch',
      'ivfflat-lists',
      'stale-stats',
      'ef-search',
      'partial-index',
      'filter-index',
      'index-size',
      'invalid-index',
    ]);
    const statuses = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    expect(statuses).toEqual({
      extension: 'pass',
      dimensions: 'pass',
      'missing-index': 'pass',
      'operator-mismatch': 'pass',
      'ivfflat-lists': 'pass',
      'stale-stats': 'pass',
      'ef-search': 'warn',
      'partial-index': 'pass',
      'filter-index': 'pass',
      'index-size': 'pass',
      'invalid-index': 'pass',
    });
    expect(facts.pgvector).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.summary).toMatchObject({
      ok: true,
      fail: 0,
      warn: 1,
      pass: 10,
      pgvectorVersion: facts.pgvector,
    });
    expect(report.summary.tables).toEqual([`${db.schema}.documents`]);
    expect(check(report, 'extension').message).toContain(`pgvector ${facts.pgvector} is installed`);
    expect(check(report, 'partial-index').message).toContain('documents_embedding_article_hnsw_idx');
  });
});

describe('extension', () => {
  itOnly(
    'embedded',
    'needs a PostgreSQL without pgvector',
    'fails when pgvector is not on the server, with the install advice',
    async () => {
      const bare = await openTestDatabase({ vector: false, migrate: false });
      try {
        const c = await bare.connect();
        try {
          const ext = check(await doctor(c), 'extension');
          expect(ext.status).toBe('fail');
          expect(ext.message).toMatch(/not installed on this PostgreSQL server/);
          expect(ext.fix).toContain('apt install postgresql-<major>-pgvector');
          expect(ext.fix).toContain('pgvector/pgvector:pg<major>');
        } finally {
          await c.end();
        }
      } finally {
        await bare.close();
      }
    },
  );

  it('fails when pgvector is available but not created in the database', async () => {
    const fresh = await openTestDatabase({ migrate: false });
    try {
      const c = await fresh.connect();
      try {
        const report = await doctor(c);
        const ext = check(report, 'extension');
        expect(ext.status).toBe('fail');
        expect(facts.pgvectorAvailable).toMatch(/^\d+\.\d+\.\d+/);
        expect(ext.message).toContain(
          `pgvector ${facts.pgvectorAvailable} is available on the server but not installed`,
        );
        expect(ext.fix).toMatch(/^CREATE EXTENSION IF NOT EXISTS vector;/);
        expect(report.summary.ok).toBe(false);
      } finally {
        await c.end();
      }
    } finally {
      await fresh.close();
    }
  });
});

describe('dimensions', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE fx_nodims (id serial PRIMARY KEY, e vector)');
    await client.query('CREATE TABLE fx_toobig (id serial PRIMARY KEY, e vector(2100))');
    await client.query('CREATE TABLE fx_halfbig (id serial PRIMARY KEY, e vector(2100))');
    await client.query(
      'CREATE INDEX fx_halfbig_idx ON fx_halfbig USING hnsw ((e::halfvec(2100)) halfvec_cosine_ops)',
    );
  });

  it('warns on a column without dimensions', async () => {
    const c = check(await run(['fx_nodims']), 'dimensions');
    expect(c.status).toBe('warn');
    expect(c.message).toMatch(/without dimensions: no HNSW or IVFFlat index can be built/);
    expect(c.fix).toMatch(/ALTER TABLE "\w+"\."fx_nodims" ALTER COLUMN "e" TYPE vector\(<dims>\)/);
  });

  it('fails on a column above the index limit with no index, suggesting a halfvec expression index', async () => {
    const c = check(await run(['fx_toobig']), 'dimensions');
    expect(c.status).toBe('fail');
    expect(c.message).toMatch(/above the 2000-dimension limit/);
    expect(c.fix).toMatch(
      /CREATE INDEX CONCURRENTLY .* USING hnsw \(\("e"::halfvec\(2100\)\) halfvec_cosine_ops\)/,
    );
  });

  it('passes a column above the limit that is indexed through a halfvec expression, and documents', async () => {
    const c = check(await run(['fx_halfbig', 'documents']), 'dimensions');
    expect(c.status).toBe('pass');
    expect(c.message).toMatch(/fx_halfbig_idx \(halfvec\(2100\)\)/);
    expect(c.message).toMatch(
      /vector\(1536\) \(index limit 2000\), indexed by documents_embedding_article_hnsw_idx/,
    );
  });
});

describe('missing-index', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE fx_noindex (id serial PRIMARY KEY, e vector(8))');
    await fill('fx_noindex', 150, 8);
  });

  it('fails for a table above largeTableRows without a vector index', async () => {
    const c = check(await run(['fx_noindex'], { largeTableRows: 100 }), 'missing-index');
    expect(c.status).toBe('fail');
    expect(c.message).toMatch(/at least 100 rows with an embedding and no vector index on e/);
    expect(c.fix).toMatch(
      /^CREATE INDEX CONCURRENTLY "fx_noindex_e_hnsw_idx" ON "\w+"\."fx_noindex" USING hnsw \("e" vector_cosine_ops\) WITH \(m = 16, ef_construction = 64\);$/,
    );
  });

  it('passes below the threshold, and a table with an index', async () => {
    expect(check(await run(['fx_noindex'], { largeTableRows: 1000 }), 'missing-index').status).toBe('pass');
    expect(check(await run(['documents'], { largeTableRows: 1 }), 'missing-index').status).toBe('pass');
  });
});

describe('operator-mismatch', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE fx_l2 (id serial PRIMARY KEY, e vector(8))');
    await client.query('CREATE INDEX fx_l2_idx ON fx_l2 USING hnsw (e vector_l2_ops)');
    await client.query('CREATE TABLE fx_both (id serial PRIMARY KEY, e vector(8))');
    await client.query('CREATE INDEX fx_both_l2_idx ON fx_both USING hnsw (e vector_l2_ops)');
    await client.query('CREATE INDEX fx_both_cos_idx ON fx_both USING hnsw (e vector_cosine_ops)');
  });

  it('fails when the only index uses another metric than the store', async () => {
    const c = check(await run(['fx_l2'], { metric: 'cosine' }), 'operator-mismatch');
    expect(c.status).toBe('fail');
    expect(c.message).toMatch(
      /wrong distance operator: fx_l2_idx uses vector_l2_ops \(l2, <->\).*cosine \(<=>\).*would not be used/,
    );
    expect(c.fix).toContain('USING hnsw ("e" vector_cosine_ops)');
    expect(c.fix).toMatch(/DROP INDEX CONCURRENTLY "\w+"\."fx_l2_idx";/);
  });

  it('warns about an unused index when another one serves the metric', async () => {
    const c = check(await run(['fx_both'], { metric: 'cosine' }), 'operator-mismatch');
    expect(c.status).toBe('warn');
    expect(c.message).toMatch(/fx_both_l2_idx .* served by fx_both_cos_idx/);
  });

  it('passes when the metric matches', async () => {
    expect(check(await run(['fx_l2'], { metric: 'l2' }), 'operator-mismatch').status).toBe('pass');
    expect(check(await run(['documents']), 'operator-mismatch').status).toBe('pass');
  });
});

describe('ivfflat-lists', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE fx_ivf_few (id serial PRIMARY KEY, e vector(8))');
    await fill('fx_ivf_few', 120, 8, 2);
    await client.query(
      'CREATE INDEX fx_ivf_few_idx ON fx_ivf_few USING ivfflat (e vector_cosine_ops) WITH (lists = 10)',
    );
    await client.query('CREATE TABLE fx_ivf_empty (id serial PRIMARY KEY, e vector(8))');
    await client.query(
      'CREATE INDEX fx_ivf_empty_idx ON fx_ivf_empty USING ivfflat (e vector_cosine_ops) WITH (lists = 4)',
    );
    await client.query('CREATE TABLE fx_ivf_ok (id serial PRIMARY KEY, e vector(8))');
    await fill('fx_ivf_ok', 120, 8, 3);
    await client.query(
      'CREATE INDEX fx_ivf_ok_idx ON fx_ivf_ok USING ivfflat (e vector_cosine_ops) WITH (lists = 2)',
    );
  });

  it('fails with fewer than 50 rows per list, and on an empty table', async () => {
    const few = check(await run(['fx_ivf_few']), 'ivfflat-lists');
    expect(few.status).toBe('fail');
    expect(few.message).toMatch(/lists = 10 for 120 rows: fewer than 50 rows per list/);
    expect(few.fix).toMatch(
      /DROP INDEX CONCURRENTLY .*fx_ivf_few_idx.*\n.*USING ivfflat \("e" vector_cosine_ops\) WITH \(lists = 1\)/,
    );
    const empty = check(await run(['fx_ivf_empty']), 'ivfflat-lists');
    expect(empty.status).toBe('fail');
    expect(empty.message).toMatch(/lists = 4 for 0 rows: fewer rows than lists/);
  });

  it('passes with at least 50 rows per list', async () => {
    const c = check(await run(['fx_ivf_ok']), 'ivfflat-lists');
    expect(c.status).toBe('pass');
    expect(c.message).toMatch(/lists = 2 for ~120 rows \(≥ 50 per list\)/);
  });
});

describe('stale-stats', () => {
  beforeAll(async () => {
    await client.query(
      'CREATE TABLE fx_stale (id serial PRIMARY KEY, e vector(8)) WITH (autovacuum_enabled = false)',
    );
    await fill('fx_stale', 300, 8, 4);
  });

  it('fails after a bulk insert with no ANALYZE, passes after VACUUM (ANALYZE), warns on dead rows', async () => {
    const never = check(await run(['fx_stale']), 'stale-stats');
    expect(never.status).toBe('fail');
    expect(never.message).toMatch(
      /never analyzed while it has 300 rows: no VACUUM ANALYZE after bulk changes/,
    );
    expect(never.fix).toMatch(/^VACUUM \(ANALYZE\) "\w+"\."fx_stale";$/);

    await client.query(never.fix!);
    expect(check(await run(['fx_stale']), 'stale-stats').status).toBe('pass');

    await client.query('DELETE FROM fx_stale WHERE id <= 200');
    const dead = check(await run(['fx_stale']), 'stale-stats');
    expect(dead.status).toBe('warn');
    expect(dead.message).toMatch(/200 rows changed since the last ANALYZE \(100 live\); 200 dead rows/);
    await client.query(dead.fix!);
    expect(check(await run(['fx_stale']), 'stale-stats').status).toBe('pass');
  });
});

describe('ef-search', () => {
  it('warns while ef_search is the default, fails below k, passes once set for the role or by the app', async () => {
    const untuned = check(await run(['documents']), 'ef-search');
    expect(untuned.status).toBe('warn');
    expect(untuned.message).toMatch(/hnsw\.ef_search is 40 \(pgvector's default\).*never tuned/);
    expect(untuned.fix).toBe(
      'npx prisma-pgvector tune --table documents --column embedding --metric cosine --k 10 --persist database',
    );

    const belowK = check(await run(['documents'], { k: 50 }), 'ef-search');
    expect(belowK.status).toBe('fail');
    expect(belowK.message).toMatch(/is 40 .* k = 50: .* fewer than k rows/);

    expect(check(await run(['documents'], { efSearchExpected: 64 }), 'ef-search').status).toBe('pass');

    // Tuned per index (`tune --persist index`): a recall profile on the HNSW index passes; a malformed one not.
    const line = serializeRecallProfile({
      version: 1,
      index: 'documents_embedding_hnsw_idx',
      rows: 1000,
      measuredAt: '2026-12-01T00:00:00.000Z',
      entries: [{ k: 10, strategy: 'index', efSearch: 80, recall: 0.97, recallLow: 0.95, queries: 200 }],
    });
    const comment = (text: string | null) =>
      client.query(
        `COMMENT ON INDEX "documents_embedding_hnsw_idx" IS ${text === null ? 'NULL' : `'${text.replaceAll("'", "''")}'`}`,
      );
    try {
      await comment(line);
      const profiled = check(await run(['documents']), 'ef-search');
      expect(profiled.status).toBe('pass');
      expect(profiled.message).toMatch(
        /documents_embedding_hnsw_idx carries a recall profile \(1 entry, measured 2026-12-01\)/,
      );
      expect(check(await run(['documents'], { k: 50 }), 'ef-search').status).toBe('fail');
      await comment('prisma-pgvector:recall-profile {"version":1');
      expect(check(await run(['documents']), 'ef-search').status).toBe('warn');
    } finally {
      await comment(null);
    }

    // A role of its own: on an external server, role settings reach every database and test file.
    const role = await createTestRole(db);
    const asRole = new pg.Client({ connectionString: role.url });
    await asRole.connect();
    try {
      await asRole.query('ALTER ROLE CURRENT_USER SET hnsw.ef_search = 100');
      const tuned = check(await doctor(asRole, { tables: ['documents'] }), 'ef-search');
      expect(tuned.status).toBe('pass');
      expect(tuned.message).toMatch(/hnsw\.ef_search = 100 \(set by: role\)/);
      expect(check(await doctor(asRole, { tables: ['documents'], k: 200 }), 'ef-search').status).toBe('fail');
    } finally {
      await asRole.query('ALTER ROLE CURRENT_USER RESET hnsw.ef_search');
      await asRole.end();
      await role.drop();
    }
  });
});

describe('partial-index', () => {
  it('passes a filter served by a partial index, as PostgreSQL renders it', async () => {
    const c = check(
      await run(['documents'], {
        commonFilters: [{ table: 'documents', predicate: "(metadata ->> 'type')='article'" }],
      }),
      'partial-index',
    );
    expect(c.status).toBe('pass');
    expect(c.message).toContain("WHERE ((metadata ->> 'type'::text) = 'article'::text)");
  });

  it('warns on a filter without one, with the CREATE INDEX; fails on a predicate that does not parse', async () => {
    const c = check(
      await run(['documents'], {
        commonFilters: [{ table: 'documents', predicate: "metadata->>'type' = 'note'" }],
      }),
      'partial-index',
    );
    expect(c.status).toBe('warn');
    expect(c.message).toMatch(
      /no partial vector index .* WHERE \(\(metadata ->> 'type'::text\) = 'note'::text\)/,
    );
    expect(c.fix).toMatch(
      /^CREATE INDEX CONCURRENTLY "documents_embedding_hnsw_p[0-9a-f]{8}_idx" ON "\w+"\."documents" USING hnsw \("embedding" vector_cosine_ops\) WITH \(m = 16, ef_construction = 64\) WHERE metadata->>'type' = 'note';$/,
    );

    const bad = check(
      await run(['documents'], { commonFilters: [{ table: 'documents', predicate: 'no_such_column = 1' }] }),
      'partial-index',
    );
    expect(bad.status).toBe('fail');
    expect(bad.message).toMatch(/not a valid index predicate.*no_such_column/);

    const twoStatements = check(
      await run(['documents'], {
        commonFilters: [{ table: 'documents', predicate: 'true; DROP TABLE documents' }],
      }),
      'partial-index',
    );
    expect(twoStatements.status).toBe('fail');
    const { rows } = await client.query(`SELECT to_regclass('documents') AS t`);
    expect(rows[0].t).not.toBeNull();
  });
});

describe('index-size', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE fx_size (id serial PRIMARY KEY, e vector(256))');
    await fill('fx_size', 1500, 256, 5);
    await client.query(
      'CREATE INDEX fx_size_idx ON fx_size USING ivfflat (e vector_l2_ops) WITH (lists = 1)',
    );
  });

  it('warns when an index is larger than maintenance_work_mem, passes when it fits', async () => {
    await client.query(`SET maintenance_work_mem = '1MB'`);
    try {
      const c = check(await run(['fx_size']), 'index-size');
      expect(c.status).toBe('warn');
      expect(c.message).toMatch(/fx_size_idx is 1\.\d MB, more than maintenance_work_mem \(1\.0 MB\)/);
      expect(c.fix).toMatch(
        /^SET maintenance_work_mem = '\dMB';.*\nREINDEX INDEX CONCURRENTLY "\w+"\."fx_size_idx";$/,
      );
    } finally {
      await client.query('RESET maintenance_work_mem');
    }
    const ok = check(await run(['fx_size']), 'index-size');
    const { rows } = await client.query<{ mwm: string; sb: string; idx: string }>(
      `SELECT pg_size_bytes(current_setting('maintenance_work_mem')) AS mwm,
              pg_size_bytes(current_setting('shared_buffers')) AS sb,
              pg_relation_size('fx_size_idx') AS idx`,
    );
    const [mwm, sb, idx] = [Number(rows[0]?.mwm), Number(rows[0]?.sb), Number(rows[0]?.idx)];
    expect(idx).toBeLessThan(Math.min(mwm, sb)); // the server's settings hold the index: the check passes
    expect(ok.status).toBe('pass');
    expect(ok.message).toContain(
      `maintenance_work_mem ${formatBytes(mwm)}, shared_buffers ${formatBytes(sb)}`,
    );
  });
});

describe('invalid-index', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE fx_dup (id int)');
    await client.query('INSERT INTO fx_dup VALUES (1), (1)');
    // A failed concurrent build leaves the index behind, invalid.
    await expect(client.query('CREATE UNIQUE INDEX CONCURRENTLY fx_dup_idx ON fx_dup (id)')).rejects.toThrow(
      /could not create unique index/,
    );
  });

  it('fails on an index left invalid, with DROP + CREATE CONCURRENTLY; passes once rebuilt', async () => {
    const c = check(await run(['fx_dup']), 'invalid-index');
    expect(c.status).toBe('fail');
    expect(c.message).toMatch(/fx_dup_idx \(btree\) on \w+\.fx_dup is invalid/);
    expect(c.fix).toMatch(
      /^DROP INDEX CONCURRENTLY IF EXISTS "\w+"\."fx_dup_idx";\nCREATE UNIQUE INDEX CONCURRENTLY fx_dup_idx ON \w+\.fx_dup USING btree \(id\);$/,
    );
    await client.query('DELETE FROM fx_dup WHERE ctid = (SELECT max(ctid) FROM fx_dup)');
    for (const statement of c.fix!.split('\n')) await client.query(statement);
    expect(check(await run(['fx_dup']), 'invalid-index').status).toBe('pass');
  });
});

describe("filter-index (sample filters in the store's language)", () => {
  // 2,000 rows, thresholds lowered to 100: 10% type 'note' (a partial index pays), 0.1% per tenant (not).
  const T = 'fx_filters';
  const filters = [
    { tenant: 't7' },
    { type: 'note' },
    { price: { gte: 10, lt: 20 } },
    { day: { gte: '2026-06-01' } },
    { createdAt: { gte: new Date('2026-01-01T00:00:00Z') } },
    { draft: { ne: true } },
  ];
  const advise = (largeTableRows = 100) =>
    adviseFilterIndexes(client, { table: T, filters, vectorColumn: 'embedding', largeTableRows });
  const plan = async (where: string) => {
    await client.query('BEGIN');
    try {
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query(`EXPLAIN SELECT 1 FROM ${T} WHERE ${where}`);
      return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    } finally {
      await client.query('ROLLBACK');
    }
  };

  beforeAll(async () => {
    await client.query(
      `CREATE TABLE ${T} (id serial PRIMARY KEY, metadata jsonb, embedding vector(8), created_at timestamp(3) NOT NULL DEFAULT now())`,
    );
    await client.query(
      `INSERT INTO ${T} (metadata, embedding, created_at)
       SELECT jsonb_build_object('tenant', 't' || (g % 1000), 'type', CASE WHEN g % 10 = 0 THEN 'note' ELSE 'page' END,
                                 'price', g % 50, 'day', to_char(date '2026-01-01' + (g % 365), 'YYYY-MM-DD')),
              ('[' || array_to_string(ARRAY(SELECT ((g * 7 + i) % 13)::float4 / 13 FROM generate_series(1, 8) i), ',') || ']')::vector(8),
              timestamp '2025-07-01' + g * interval '6 hours'
         FROM generate_series(1, 2000) g`,
    );
    await client.query(`ANALYZE ${T}`);
  });

  it('advises GIN, expression B-trees, created_at and a partial index for a 10% value, nothing below the size bound', async () => {
    const small = await advise(10_000);
    expect(small.small).toBe(true);
    expect(small.filters[0]?.message).toBe(
      '2000 rows (< 10000): a sequential scan is fine, no filter index needed yet',
    );
    expect(small.filters.flatMap((f) => f.items.map((i) => i.status))).not.toContain('missing');

    const a = await advise();
    expect(a.rows).toBe(2000);
    const items = a.filters.map((f) => f.items.map((i) => [i.spec.kind, i.status, i.command]));
    expect(items).toEqual([
      [['gin', 'missing', `npx prisma-pgvector migration index --kind gin --table ${T}`]],
      [['gin', 'missing', `npx prisma-pgvector migration index --kind gin --table ${T}`]],
      [['number', 'missing', `npx prisma-pgvector migration index --kind number --key price --table ${T}`]],
      [['string', 'missing', `npx prisma-pgvector migration index --kind string --key day --table ${T}`]],
      [['createdAt', 'missing', `npx prisma-pgvector migration index --kind created-at --table ${T}`]],
      [],
    ]);
    expect(a.filters[0]?.partial).toMatchObject([{ key: 'tenant', value: 't7', advised: false }]);
    expect(a.filters[0]?.partial[0]?.share).toBeCloseTo(0.001, 3);
    expect(a.filters[1]?.partial).toMatchObject([
      {
        key: 'type',
        value: 'note',
        advised: true,
        predicate: "((metadata ->> 'type'::text) = 'note'::text)",
      },
    ]);
    expect(a.filters[1]?.partial[0]?.command).toMatch(
      /^npx prisma-pgvector migration index --name fx_filters_embedding_hnsw_p[0-9a-f]{8}_idx --column embedding --table fx_filters --where "\(metadata ->> 'type'\) = 'note'"$/,
    );
    expect(a.filters[5]?.unserved).toEqual(['draft.ne']);
    expect(a.filters.map((f) => f.plannerIndexes)).toEqual([[], [], [], [], [], []]);

    const report = await run([T], { filters, largeTableRows: 100 });
    const c = check(report, 'filter-index');
    expect(c.status).toBe('warn');
    expect(c.fix?.split('\n')).toEqual([
      `npx prisma-pgvector migration index --kind gin --table ${T}`,
      expect.stringContaining("--where \"(metadata ->> 'type') = 'note'\""),
      `npx prisma-pgvector migration index --kind number --key price --table ${T}`,
      `npx prisma-pgvector migration index --kind string --key day --table ${T}`,
      `npx prisma-pgvector migration index --kind created-at --table ${T}`,
    ]);
    expect(c.message).toContain('price gte/lt (number): no index serves it on 2000 rows');
  });

  it('sees indexes written by hand under any name and spelling, and the planner uses them for the contract forms', async () => {
    // Hand-written spellings: jsonb_ops (not jsonb_path_ops), no quotes, other names.
    await client.query(`CREATE INDEX hand_gin ON ${T} USING gin (metadata)`);
    await client.query(`CREATE INDEX hand_day ON ${T} ((metadata->>'day'))`);
    await client.query(filterIndexDdl({ table: T, kind: 'number', key: 'price', name: 'hand_price' }));
    await client.query(`CREATE INDEX hand_created ON ${T} (created_at)`);
    await client.query(
      `CREATE INDEX hand_note ON ${T} USING hnsw (embedding vector_cosine_ops) WHERE (metadata->>'type') = 'note'`,
    );
    // A partial B-tree serves only its predicate's rows: not counted.
    await client.query(
      `CREATE INDEX hand_tenant_partial ON ${T} ((metadata->>'tenant')) WHERE created_at > '2026-01-01'`,
    );
    const a = await advise();
    expect(a.filters.map((f) => f.items.map((i) => [i.status, i.existing]))).toEqual([
      [['served', ['hand_gin']]],
      [['served', ['hand_gin']]],
      [['served', ['hand_price']]],
      [['served', ['hand_day']]],
      [['served', ['hand_created']]],
      [],
    ]);
    expect(a.filters[1]?.partial).toMatchObject([{ advised: false, existing: ['hand_note'] }]);
    // The store's compiled filters use them (EXPLAIN with enable_seqscan = off): same expressions.
    expect(a.filters.map((f) => f.plannerIndexes)).toEqual([
      ['hand_gin'],
      ['hand_gin'],
      ['hand_price'],
      ['hand_day'],
      ['hand_created'],
      [],
    ]);
    expect(a.filters[2]?.message).toBe(
      'every condition is served by an index; the planner uses hand_price for the compiled filter',
    );
    expect(check(await run([T], { filters, largeTableRows: 100 }), 'filter-index').status).toBe('pass');

    const col = 'metadata';
    expect(await plan(`${col} @> '{"tenant":"t7"}'::jsonb`)).toContain('hand_gin');
    expect(await plan(`${metadataTextExpression(col, ['day'])} >= '2026-06-01'`)).toContain('hand_day');
    expect(await plan(`${metadataNumberExpression(col, ['price'])} >= 10`)).toContain('hand_price');
    expect(await plan(`created_at >= '2026-01-01'`)).toContain('hand_created');
  });

  it('a string index (the text of JSON strings only) serves the string range, and the compiled filter is written for it', async () => {
    await client.query('DROP INDEX hand_day');
    await client.query(filterIndexDdl({ table: T, kind: 'string', key: 'day', name: 'hand_day_str' }));
    try {
      const a = await advise();
      expect(a.filters[3]?.items.map((i) => [i.spec.kind, i.status, i.existing])).toEqual([
        ['string', 'served', ['hand_day_str']],
      ]);
      expect(a.filters[3]?.plannerIndexes).toEqual(['hand_day_str']);
      const col = 'metadata';
      expect(await plan(`${metadataStringExpression(col, ['day'])} >= '2026-06-01'`)).toContain(
        'hand_day_str',
      );
    } finally {
      await client.query('DROP INDEX hand_day_str');
      await client.query(`CREATE INDEX hand_day ON ${T} ((metadata->>'day'))`);
    }
  });
});
