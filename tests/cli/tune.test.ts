/** `prisma-pgvector tune` as a user runs it: a child process against the test database's URL. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { random, randomVector } from '../integration/helpers.js';
import { createTestRole, openTestDatabase, type TestDatabase } from '../support/database.js';
import { runNode } from '../support/prisma-cli.js';

const DIMS = 32;
let db: TestDatabase;
let dir: string;

const tuneCli = (args: string[], url = db.url) =>
  runNode(
    [
      '--import',
      'tsx',
      'src/cli/index.ts',
      'tune',
      '--url',
      url,
      '--table',
      'cli_items',
      '--column',
      'e',
      ...args,
    ],
    {
      env: { DATABASE_URL: undefined },
    },
  );

beforeAll(async () => {
  db = await openTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'ppv-tune-'));
  const client = await db.connect();
  try {
    await client.query(`CREATE TABLE cli_items (id serial PRIMARY KEY, e vector(${DIMS}))`);
    const next = random(11);
    const values = Array.from({ length: 1500 }, () => `[${randomVector(next, DIMS).join(',')}]`);
    await client.query(`INSERT INTO cli_items (e) SELECT unnest($1::text[])::vector(${DIMS})`, [values]);
    await client.query(
      'CREATE INDEX cli_items_idx ON cli_items USING hnsw (e vector_cosine_ops) WITH (m = 4, ef_construction = 8)',
    );
    await client.query('ANALYZE cli_items');
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.close();
});

describe('prisma-pgvector tune', () => {
  it('prints the ladder table and the recommendation, exit 0', async () => {
    const run = await tuneCli(['--sample', '10', '--target', '0.5']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `Tuning hnsw.ef_search for ${db.schema}.cli_items.e (index cli_items_idx, cosine, k = 10, 10 queries)`,
    );
    expect(run.stdout).toMatch(
      /^Recall: mean recall@k against exact search, 95% CI by percentile bootstrap/m,
    );
    expect(run.stdout).toMatch(/^ef_search {2}recall {2}95% CI {10}p50 ms {2}p95 ms$/m);
    expect(run.stdout).toMatch(/^ +10 +\d\.\d{3} +\[\d\.\d{3}, \d\.\d{3}\] +\d+\.\d\d +\d+\.\d\d/m);
    expect(run.stdout).toMatch(/^k 10: ef_search \d+ \(recall \d\.\d{3}, 95% CI \[\d\.\d{3}, \d\.\d{3}\]/m);
    expect(run.stdout).toMatch(/^Recommended: hnsw\.ef_search = \d+ for k 10/m);
  });

  it('--json with --queries FILE and --persist role', async () => {
    const next = random(12);
    const file = join(dir, 'queries.json');
    writeFileSync(
      file,
      JSON.stringify([randomVector(next, DIMS), randomVector(next, DIMS), randomVector(next, DIMS)]),
    );
    // A role of its own: on an external server, role settings reach every database and test file.
    const role = await createTestRole(db);
    try {
      const run = await tuneCli(
        // 3 queries: even perfect ones show recall ≥ 0.44 only (the 95% Wilson bound), so a low target.
        ['--queries', file, '--ladder', '40,1000', '--target', '0.2', '--persist', 'role', '--json'],
        role.url,
      );
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result).toMatchObject({
        table: `${db.schema}.cli_items`,
        column: 'e',
        method: 'hnsw',
        setting: 'hnsw.ef_search',
        index: 'cli_items_idx',
        queries: 3,
        k: 10,
        target: 0.2,
      });
      expect(result.steps.map((s: { value: number }) => s.value)).toEqual([40, 1000]);
      expect(Object.keys(result.steps[0])).toEqual([
        'value',
        'recall',
        'recallLow',
        'recallHigh',
        'p50Ms',
        'p95Ms',
        'plannerUsesIndex',
      ]);
      expect(result.persisted).toEqual({
        scope: 'role',
        sql: `ALTER ROLE CURRENT_USER SET hnsw.ef_search = ${result.recommended}`,
      });
      const client = await db.connect();
      try {
        const { rows } = await client.query<{ cfg: string }>(
          `SELECT cfg FROM pg_db_role_setting s, unnest(s.setconfig) cfg
          WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = coalesce($1, current_user))`,
          [role.name ?? null],
        );
        expect(rows).toEqual([{ cfg: `hnsw.ef_search=${result.recommended}` }]);
        if (role.name === undefined) await client.query('ALTER ROLE CURRENT_USER RESET hnsw.ef_search');
      } finally {
        await client.end();
      }
    } finally {
      await role.drop();
    }
  });

  it('exits 1 when no ladder value reaches the target', async () => {
    // ef_search 10 < k 50: an HNSW scan returns at most 10 rows, so recall@50 ≤ 0.2.
    const run = await tuneCli(['--sample', '5', '--k', '50', '--ladder', '10', '--target', '0.9']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^k 50: no ef_search value reached recall 0\.9 \(best lower bound 0\.\d+\)$/m);
    expect(run.stdout).toMatch(/No ef_search value reached recall 0\.9 at every k/);
    expect(run.stdout).toMatch(/^Build advice: no ef_search up to 10 reached recall 0\.9 at k 50/m);
    expect(run.stdout).toContain('SET (m = 16, ef_construction = 128)');
  });

  it('--k 10,50 --persist index,database: per-k recommendations, a database value ≥ 50, the profile', async () => {
    const run = await tuneCli([
      '--k',
      '10,50',
      '--sample',
      '20',
      '--ladder',
      '10,40,80,160',
      '--target',
      '0.5',
      '--persist',
      'index,database',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.ks).toEqual([10, 50]);
    expect(result.perK.map((p: { k: number }) => p.k)).toEqual([10, 50]);
    for (const p of result.perK) expect(p.recommended).toBeGreaterThanOrEqual(p.k);
    expect(result.recommended).toBeGreaterThanOrEqual(50);
    expect(result.persisted.sql).toMatch(
      new RegExp(`^ALTER DATABASE "\\w+" SET hnsw\\.ef_search = ${result.recommended}$`),
    );
    expect(result.profile.profile.entries).toHaveLength(8);
    const client = await db.connect();
    try {
      const { rows } = await client.query<{ c: string }>(
        `SELECT obj_description('cli_items_idx'::regclass, 'pg_class') AS c`,
      );
      expect(rows[0]!.c).toMatch(/^prisma-pgvector:recall-profile \{"version":1,"index":"cli_items_idx",/);
      await client.query('COMMENT ON INDEX cli_items_idx IS NULL');
      await client.query(
        `ALTER DATABASE "${(await client.query('SELECT current_database() AS d')).rows[0].d}" RESET hnsw.ef_search`,
      );
    } finally {
      await client.end();
    }
  });

  it('exits non-zero with the reason for a bad column or option', async () => {
    const run = await tuneCli(['--column', 'nope', '--sample', '3']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('column cli_items.nope not found');
    const persist = await tuneCli(['--persist', 'everywhere']);
    expect(persist.code).toBe(2);
    expect(persist.stderr).toContain(
      '--persist takes index, database or role (comma-separated), got "everywhere"',
    );
    const json = await tuneCli(['--filter', '{"type": ', '--sample', '3']);
    expect(json.code).toBe(1);
    expect(json.stderr).toMatch(/--filter \{"type": : not JSON/);
    const both = await tuneCli(['--persist', 'database,role']);
    expect(both.code).toBe(2);
  });
});
