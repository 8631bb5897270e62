/** `prisma-pgvector doctor` as a user runs it: a child process against the test database's URL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { runNode } from '../support/prisma-cli.js';
import { readServerFacts, type ServerFacts } from '../support/server-facts.js';

let db: TestDatabase;
let facts: ServerFacts;

const doctorCli = (args: string[], env: Record<string, string | undefined> = {}) =>
  runNode(['--import', 'tsx', 'src/cli/index.ts', 'doctor', ...args], {
    env: { DATABASE_URL: undefined, ...env },
  });

beforeAll(async () => {
  db = await openTestDatabase();
  facts = await readServerFacts(db.url);
  expect(facts.pgvector).toMatch(/^\d+\.\d+\.\d+/);
});

afterAll(async () => {
  await db?.close();
});

describe('prisma-pgvector doctor', () => {
  it('prints the JSON report and exits 0 when nothing fails (a warning is not a failure)', async () => {
    const run = await doctorCli(['--url', db.url, '--table', 'documents', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.checks).toHaveLength(11);
    for (const check of report.checks) {
      expect(Object.keys(check)).toEqual(
        expect.arrayContaining(['id', 'title', 'status', 'message', 'findings']),
      );
      expect(['pass', 'warn', 'fail']).toContain(check.status);
    }
    expect(report.checks.find((c: { id: string }) => c.id === 'ef-search')).toMatchObject({
      status: 'warn',
      fix: expect.stringContaining('prisma-pgvector tune'),
    });
    expect(report.summary).toMatchObject({
      ok: true,
      fail: 0,
      warn: 1,
      pass: 10,
      pgvectorVersion: facts.pgvector,
      serverVersionNum: facts.versionNum,
    });
  });

  it('exits 1 on warnings with --strict, and takes the URL from DATABASE_URL', async () => {
    const run = await doctorCli(['--table', 'documents', '--strict'], { DATABASE_URL: db.url });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^WARN {2}ef-search +hnsw\.ef_search is 40/m);
    const installed = new RegExp(
      `^PASS {2}extension +vector: pgvector ${facts.pgvector!.replaceAll('.', '\\.')} is installed`,
      'm',
    );
    expect(run.stdout).toMatch(installed);
    expect(run.stdout).toContain(`(PostgreSQL ${facts.major}, pgvector ${facts.pgvector}, 1 table)`);
  });

  it('prints one line per check with the fix, and exits 1 when a check fails', async () => {
    const run = await doctorCli([
      '--url',
      db.url,
      '--table',
      'documents',
      '--k',
      '50',
      '--filter',
      "documents:metadata->>'type' = 'note'",
      '--filter',
      '{"type":"note","price":{"gte":10},"createdAt":{"gte":"2026-01-01T00:00:00Z"}}',
    ]);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n').filter((l) => /^(PASS|WARN|FAIL) /.test(l));
    expect(lines.map((l) => l.split(/ +/)[1])).toEqual([
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
    expect(run.stdout).toMatch(/^FAIL {2}ef-search .*k = 50/m);
    expect(run.stdout).toMatch(/^WARN {2}partial-index .*'note'::text/m);
    expect(run.stdout).toMatch(
      /^ +fix: CREATE INDEX CONCURRENTLY "documents_embedding_hnsw_p[0-9a-f]{8}_idx"/m,
    );
    // The JSON filter: the migrated documents table is small, so a sequential scan is fine.
    expect(run.stdout).toMatch(
      /^PASS {2}filter-index +public\.documents: \{"type":"note","price":\{"gte":10\},"createdAt":\{"gte":"2026-01-01T00:00:00\.000Z"\}\}: \d+ rows \(< 10000\): a sequential scan is fine/m,
    );
    expect(run.stdout).toMatch(/8 passed, 1 warned, 1 failed|9 passed, 1 warned, 1 failed/);
  });

  it('exits 2 without a database, and prints its help', async () => {
    const none = await doctorCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('pass --url or set DATABASE_URL');
    const help = await doctorCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: prisma-pgvector doctor');
  });
});
