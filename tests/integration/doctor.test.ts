/**
 * The doctor on a real database (embedded, or the server of TEST_DATABASE_URL): for every check, a fixture
 * that fails (or warns) it and one that passes it. Versions and settings it reports are read from that server. Thresholds are lowered through options (largeTableRows: 100) so that fixtures stay small.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/ops/checks/util.js';
import { type DoctorCheckId, type DoctorOptions, type DoctorReport, doctor } from '../../src/ops/doctor.js';
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
      'index-size': 'pass',
      'invalid-index': 'pass',
    });
    expect(facts.pgvector).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.summary).toMatchObject({
      ok: true,
      fail: 0,
      warn: 1,
      pass: 9,
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
