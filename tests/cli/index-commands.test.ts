import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { runNode } from '../support/prisma-cli.js';
import { readServerFacts, type ServerFacts } from '../support/server-facts.js';

// advise, build-index and maintain as users run them: exit codes, human output, --json shape.

const run = (args: string[]) =>
  runNode(['--import', 'tsx', 'src/cli/index.ts', ...args], { timeoutMs: 120_000 });
let db: TestDatabase;
let facts: ServerFacts;

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
  const c = await db.connect();
  await c.query('CREATE EXTENSION vector');
  facts = await readServerFacts(c);
  await c.query('CREATE TABLE docs (id serial PRIMARY KEY, embedding vector(8))');
  await c.query(`INSERT INTO docs (embedding)
    SELECT (SELECT array_agg(random())::real[] FROM generate_series(1, 8) WHERE g > 0)::vector(8) FROM generate_series(1, 600) g`);
  await c.end();
});

afterAll(async () => {
  await db?.close();
});

describe('advise', () => {
  it('prints the advice; --json has method, params, reasons, warnings', async () => {
    const human = await run(['advise', '--rows', '2000000', '--dimensions', '1536', '--memory', '4GB']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^IVFFLAT \(lists = 1414, probes = 38\)/);
    const json = await run(['advise', '--rows', '5000', '--dimensions', '3072', '--json']);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out).toMatchObject({ ok: true, method: 'hnsw', params: { m: 16, efConstruction: 64 } });
    expect(out.reasons.length).toBeGreaterThan(0);
    expect(out.warnings.join(' ')).toContain('halfvec(3072)');
  });

  it('reads rows and dimensions from the database', async () => {
    const r = await run(['advise', '--url', db.url, '--table', 'docs', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 600, dimensions: 8, method: 'hnsw' });
  });

  it('--filter: which index serves each sample filter, the command that writes it, nothing on a small table', async () => {
    const c = await db.connect();
    try {
      await c.query(
        `CREATE TABLE fdocs (id serial PRIMARY KEY, metadata jsonb, embedding vector(8), created_at timestamp(3) NOT NULL DEFAULT now())`,
      );
      await c.query(
        `INSERT INTO fdocs (metadata, embedding) SELECT jsonb_build_object('tenant', 't' || (id % 100), 'price', id % 50), embedding FROM docs`,
      );
      await c.query('ANALYZE fdocs');
      await c.query(
        `CREATE INDEX fdocs_price ON fdocs (((CASE WHEN jsonb_typeof((metadata -> 'price')) = 'number' THEN (metadata -> 'price')::numeric END)))`,
      );
    } finally {
      await c.end();
    }
    const args = [
      'advise',
      '--url',
      db.url,
      '--table',
      'fdocs',
      '--filter',
      '{"tenant":"t1"}',
      '--filter',
      '{"price":{"gte":10}}',
    ];
    const human = await run([...args, '--large-table-rows', '100']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('Filters on fdocs (600 rows):');
    expect(human.stdout).toContain('missing eq (metadata @>): no index serves it on 600 rows');
    expect(human.stdout).toContain('npx prisma-pgvector migration index --kind gin --table fdocs');
    expect(human.stdout).toContain('served  price gte (number): served by fdocs_price');
    expect(human.stdout).toMatch(/tenant = 't1' is 1\.0% of rows \(< 5%\)/);
    const small = await run([...args, '--json']);
    expect(small.code, small.stderr).toBe(0);
    const out = JSON.parse(small.stdout);
    expect(out.filterIndexes).toMatchObject({ table: 'fdocs', rows: 600, small: true });
    expect(
      out.filterIndexes.filters.map((f: { items: { status: string }[] }) => f.items.map((i) => i.status)),
    ).toEqual([['small'], ['served']]);
    expect((await run(['advise', '--rows', '10', '--dimensions', '8', '--filter', '{"a":1}'])).code).toBe(2);
    expect((await run(['advise', '--url', db.url, '--table', 'fdocs', '--filter', 'a=1'])).code).toBe(2);
  });

  it('bad options exit 2; --help exits 0', async () => {
    expect((await run(['advise', '--rows', 'many', '--dimensions', '8'])).code).toBe(2);
    expect((await run(['advise', '--bogus'])).code).toBe(2);
    const help = await run(['advise', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: prisma-pgvector advise');
  });
});

describe('build-index and maintain', () => {
  it('build-index --dry-run prints the DDL; refusals exit 1 with the fix', async () => {
    const dry = await run([
      'build-index',
      '--table',
      'docs',
      '--type',
      'vector',
      '--dimensions',
      '8',
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim()).toBe(
      'CREATE INDEX "docs_embedding_hnsw_idx" ON "docs" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64);',
    );
    const big = await run([
      'build-index',
      '--table',
      'docs',
      '--type',
      'vector',
      '--dimensions',
      '3072',
      '--dry-run',
      '--json',
    ]);
    expect(big.code).toBe(1);
    expect(JSON.parse(big.stdout).error).toMatchObject({
      code: 'INDEX_DIMENSION_LIMIT',
      fix: expect.stringContaining('halfvec(3072)'),
    });
  });

  it('build-index builds concurrently, with progress where the server can report it', async () => {
    const r = await run([
      'build-index',
      '--url',
      db.url,
      '--table',
      'docs',
      '--concurrently',
      '--m',
      '8',
      '--ef-construction',
      '32',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Built docs_embedding_hnsw_idx');
    if (db.kind === 'embedded') {
      expect(r.stderr).toContain('progress unavailable: both connections share one server session');
    } else {
      expect(r.stderr).not.toContain('progress unavailable');
    }
  });

  it('build-index: the IVFFlat training guard refuses (exit 1), --force builds', async () => {
    const args = [
      'build-index',
      '--url',
      db.url,
      '--table',
      'docs',
      '--method',
      'ivfflat',
      '--lists',
      '20',
      '--json',
    ];
    const refused = await run(args);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('INSUFFICIENT_TRAINING_DATA');
    const forced = await run([...args, '--force']);
    expect(forced.code, forced.stdout).toBe(0);
    const out = JSON.parse(forced.stdout);
    expect(out).toMatchObject({
      ok: true,
      name: 'docs_embedding_ivfflat_idx',
      training: { ok: false, minRows: 1000 },
    });
  });

  it('maintain --json reports per table and index; exit 0', async () => {
    const c = await db.connect();
    await c.query('DELETE FROM docs WHERE id % 2 = 0');
    // The deletions must reach pg_stat_user_tables, which maintain reads from another session.
    if (facts.major >= 15) await c.query('SELECT pg_stat_force_next_flush()');
    await c.end();
    if (facts.major < 15) await new Promise((resolve) => setTimeout(resolve, 1000)); // the stats collector
    const r = await run(['maintain', '--url', db.url, '--table', 'docs', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.tables[0].recommendation.step).toBe('reindex-vacuum-analyze');
    expect(
      report.tables[0].actions.map((a: { action: string; target: string }) => `${a.action} ${a.target}`),
    ).toEqual([
      'reindex docs_embedding_hnsw_idx',
      'reindex docs_embedding_ivfflat_idx',
      'vacuum-analyze docs',
    ]);
    const human = await run(['maintain', '--url', db.url, '--dry-run']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('planned VACUUM (ANALYZE) "public"."docs"');
  });

  it('maintain without a database exits 2', async () => {
    const r = await runNode(['--import', 'tsx', 'src/cli/index.ts', 'maintain'], {
      env: { DATABASE_URL: '' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --url or set DATABASE_URL');
  });
});
