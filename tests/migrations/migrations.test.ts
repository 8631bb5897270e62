import { createRequire } from 'node:module';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDrift, type DriftReport } from '../../src/schema/drift.js';
import {
  createExternalDatabase,
  externalUrl,
  openTestDatabase,
  type TestDatabase,
} from '../support/database.js';
import { runNode, runPrisma } from '../support/prisma-cli.js';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

// The migrations, applied by the real `prisma migrate deploy` (through the offline schema engine here), on the
// embedded PostgreSQL + pgvector — or on TEST_DATABASE_URL in a database of its own.

let db: TestDatabase;
let client: pg.Client;

// On an external server the drift check's `migrate diff --from-migrations` gets its shadow database there.
let shadow: Awaited<ReturnType<typeof createExternalDatabase>> | undefined;

beforeAll(async () => {
  db = await openTestDatabase();
  client = await db.connect();
  if (externalUrl) {
    shadow = await createExternalDatabase(externalUrl);
    process.env.SHADOW_DATABASE_URL = shadow.url;
  }
});

afterAll(async () => {
  delete process.env.SHADOW_DATABASE_URL;
  await client?.end();
  await db?.close();
  await shadow?.drop();
});

const cli = (args: string[]) => runPrisma(args, { databaseUrl: db.url });

describe('prisma migrate deploy', () => {
  it('has applied both migrations, and a second deploy is a no-op', async () => {
    const { rows } = await client.query<{ migration_name: string; finished_at: Date | null }>(
      'SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual([
      '20261125000000_init',
      '20261125000100_vector_indexes',
    ]);
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);

    const again = await cli(['migrate', 'deploy']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No pending migrations to apply');
    const count = await client.query('SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(count.rows[0].n).toBe(2);
  });

  it('reports the database up to date in migrate status', async () => {
    const status = await cli(['migrate', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Database schema is up to date');
  });
});

describe('catalogue', () => {
  it('has the vector extension with its version', async () => {
    const { rows } = await client.query<{ extversion: string }>(
      "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.extversion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('declares the embedding as vector(1536) and the other columns as the model says', async () => {
    const { rows } = await client.query<{ attname: string; type: string; notnull: boolean }>(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull
         FROM pg_attribute a WHERE a.attrelid = 'documents'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
    );
    expect(rows).toEqual([
      { attname: 'id', type: 'text', notnull: true },
      { attname: 'content', type: 'text', notnull: true },
      { attname: 'metadata', type: 'jsonb', notnull: false },
      { attname: 'embedding', type: 'vector(1536)', notnull: false },
      { attname: 'created_at', type: 'timestamp(3) without time zone', notnull: true },
    ]);
  });

  it('has each index with its method, opclass, WITH parameters and predicate', async () => {
    const { rows } = await client.query<{
      name: string;
      method: string;
      opclass: string;
      options: string[] | null;
      predicate: string | null;
    }>(
      `SELECT c.relname AS name, am.amname AS method, oc.opcname AS opclass, c.reloptions AS options,
              pg_get_expr(i.indpred, i.indrelid) AS predicate
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_am am ON am.oid = c.relam
         JOIN pg_opclass oc ON oc.oid = i.indclass[0]
        WHERE i.indrelid = 'documents'::regclass
        ORDER BY c.relname`,
    );
    expect(rows).toEqual([
      {
        name: 'documents_embedding_article_hnsw_idx',
        method: 'hnsw',
        opclass: 'vector_cosine_ops',
        options: ['m=16', 'ef_construction=64'],
        predicate: "((metadata ->> 'type'::text) = 'article'::text)",
      },
      {
        name: 'documents_embedding_hnsw_idx',
        method: 'hnsw',
        opclass: 'vector_cosine_ops',
        options: ['m=16', 'ef_construction=64'],
        predicate: null,
      },
      {
        name: 'documents_metadata_gin_idx',
        method: 'gin',
        opclass: 'jsonb_path_ops',
        options: null,
        predicate: null,
      },
      { name: 'documents_pkey', method: 'btree', opclass: 'text_ops', options: null, predicate: null },
    ]);
  });
});

describe('query plans', () => {
  // Enough rows that the planner prefers each HNSW scan to a sequential scan + sort, honestly: an HNSW scan
  // looks cheap to pgvector's cost model only once the index holds more tuples than one scan visits
  // (2·m·ef_search = 1280 by default). Four rows in five are articles, so the partial index holds 1600.
  const ROWS = 2000;
  let query: string;

  beforeAll(async () => {
    // The playbook's bulk-load order: drop the vector indexes, load, then build them again — with exactly
    // the definitions the migration created, read back from the catalogue.
    const { rows: defs } = await client.query<{ name: string; def: string }>(
      "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'documents' AND indexdef LIKE '%USING hnsw%'",
    );
    expect(defs).toHaveLength(2);
    for (const { name } of defs) await client.query(`DROP INDEX "${name}"`);
    await client.query(
      `INSERT INTO documents (content, metadata, embedding)
       SELECT 'doc ' || i,
              jsonb_build_object('type', CASE WHEN i % 5 = 0 THEN 'note' ELSE 'article' END, 'n', i),
              (SELECT array_agg(random() - 0.5) FROM generate_series(1, 1536) WHERE i > 0)::vector
         FROM generate_series(1, $1::int) AS i`,
      [ROWS],
    );
    for (const { def } of defs) await client.query(def);
    await client.query('ANALYZE documents');
    const { rows } = await client.query<{ v: string }>('SELECT embedding::text AS v FROM documents LIMIT 1');
    query = rows[0]!.v;
  });

  const plan = async (sql: string, params: unknown[]) => {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
    // Vector literals are 20 KB: keep the plan readable in failure messages.
    return rows.map((r) => r['QUERY PLAN'].replace(/'\[[^\]]*\]'/g, "'[…]'")).join('\n');
  };

  it('uses the HNSW index for ORDER BY embedding <=> $1 LIMIT 10', async () => {
    const text = await plan('SELECT id FROM documents ORDER BY embedding <=> $1::vector(1536) LIMIT 10', [
      query,
    ]);
    expect(text).toMatch(/Index Scan using documents_embedding_hnsw_idx/);
    expect(text).not.toMatch(/Seq Scan/);
  });

  it("uses the partial HNSW index for articles (metadata->>'type' = 'article')", async () => {
    const text = await plan(
      "SELECT id FROM documents WHERE metadata ->> 'type' = 'article' ORDER BY embedding <=> $1::vector(1536) LIMIT 10",
      [query],
    );
    expect(text).toMatch(/Index Scan using documents_embedding_article_hnsw_idx/);
  });

  it('never uses the index for the anti-pattern ORDER BY 1 - distance DESC', async () => {
    const text = await plan(
      'SELECT id FROM documents ORDER BY 1 - (embedding <=> $1::vector(1536)) DESC LIMIT 10',
      [query],
    );
    expect(text).not.toMatch(/hnsw_idx/);
  });

  it('uses the GIN index for metadata containment', async () => {
    await client.query('BEGIN');
    try {
      // A selective containment filter on 1000 rows: GIN bitmap scan when sequential scans are off-limits.
      await client.query('SET LOCAL enable_seqscan = off');
      const text = await plan('SELECT id FROM documents WHERE metadata @> \'{"n": 7}\'', []);
      expect(text).toMatch(/Bitmap Index Scan on documents_metadata_gin_idx/);
    } finally {
      await client.query('ROLLBACK');
    }
  });
});

describe('drift', () => {
  it('is clean: migrations → schema, database → schema, database → migrations', async () => {
    const report = await checkDrift({ databaseUrl: db.url });
    for (const check of report.checks) expect(check, check.name).toMatchObject({ clean: true, sql: '' });
    expect(report.clean).toBe(true);
  });

  it('catches an index dropped by hand and one rebuilt with other parameters', async () => {
    await client.query('DROP INDEX documents_embedding_article_hnsw_idx');
    await client.query('DROP INDEX documents_embedding_hnsw_idx');
    await client.query(
      'CREATE INDEX documents_embedding_hnsw_idx ON documents USING hnsw (embedding vector_l2_ops) WITH (m = 8)',
    );
    try {
      // As a user runs it: `npm run drift -- --url … --json` exits 1 with the SQL.
      const run = await runNode([tsxCli, 'src/cli/index.ts', 'drift', '--url', db.url, '--json']);
      expect(run.code, run.stderr).toBe(1);
      const report = JSON.parse(run.stdout) as DriftReport;
      expect(report.clean).toBe(false);
      const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
      expect(byName['migrations-to-schema']?.clean).toBe(true);
      // Prisma sees the missing partial index ...
      expect(byName['database-to-schema']?.sql).toMatch(
        /CREATE INDEX "documents_embedding_article_hnsw_idx" ON "documents"\("embedding"\) WHERE/,
      );
      // ... but not the opclass / parameter change, which our catalogue comparison reports with the fix.
      const catalogue = byName['database-to-migrations']?.sql ?? '';
      expect(catalogue).toContain('-- missing in the database: index documents_embedding_article_hnsw_idx');
      expect(catalogue).toContain('-- differs: index documents_embedding_hnsw_idx');
      expect(catalogue).toMatch(
        /USING hnsw \(embedding vector_cosine_ops\) WITH \(m='16', ef_construction='64'\);/,
      );
    } finally {
      await client.query('DROP INDEX documents_embedding_hnsw_idx');
      await client.query(
        `CREATE INDEX documents_embedding_hnsw_idx ON documents
           USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)`,
      );
      await client.query(
        `CREATE INDEX documents_embedding_article_hnsw_idx ON documents
           USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
           WHERE ((metadata ->> 'type') = 'article')`,
      );
    }
    expect((await checkDrift({ databaseUrl: db.url })).clean).toBe(true);
  }, 240_000); // two whole drift checks (the CLI's and the last one): each a reference database and 5 CLI runs
});
