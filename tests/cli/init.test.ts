import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVectorStore } from '../../src/index.js';
import { checkDrift } from '../../src/schema/drift.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { runPrisma } from '../support/prisma-cli.js';
import { createAppProject, runCli, snapshot } from './init-project.js';

// `prisma-pgvector init` into a fresh Prisma 7 app (datasource + generator only), through the CLI as a user
// runs it; then the real `prisma migrate deploy`, the drift check (all three checks), and a store over the
// result. A second run and --dry-run write nothing.

let app: ReturnType<typeof createAppProject>;
let db: TestDatabase;

beforeAll(async () => {
  app = createAppProject('ppv-init-fresh-');
  db = await openTestDatabase({ migrate: false });
});

afterAll(async () => {
  await db?.close();
  app?.remove();
});

const dims = ['--dimensions', '3'];

describe('init into a fresh Prisma 7 project', () => {
  it('--dry-run prints the plan with its diffs and writes nothing', async () => {
    const before = snapshot(app.dir);
    const r = await runCli(app.dir, ['init', '--yes', '--dry-run', ...dims, '--partial', 'type=article']);
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(app.dir)).toEqual(before);
    expect(r.stdout).toContain('Plan (--dry-run: nothing written):');
    expect(r.stdout).toMatch(/new {6}prisma\/migrations\/\d{14}_prisma_pgvector_documents\/migration\.sql/);
    expect(r.stdout).toContain('modified prisma/schema.prisma');
    expect(r.stdout).toContain('+   previewFeatures = ["partialIndexes"]');
    expect(r.stdout).toContain('+   @@index([embedding], map: "documents_embedding_hnsw_idx")');
    expect(r.stdout).toContain(
      `+   @@index([embedding], map: "documents_embedding_type_article_hnsw_idx", where: raw("((metadata ->> 'type'::text) = 'article'::text)"))`,
    );
    expect(r.stdout).toContain('+ CREATE EXTENSION IF NOT EXISTS vector;');
  });

  it('writes the model, migrations, lock file, .gitignore and the offline engine wiring', async () => {
    const r = await runCli(app.dir, [
      'init',
      '--yes',
      ...dims,
      '--partial',
      'type=article',
      '--offline-engine',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.changed).toBe(true);
    expect(out.storeConfig).toEqual({
      dimensions: 3,
      partialIndexPredicates: [{ key: 'type', value: 'article' }],
    });
    const migrations = readdirSync(join(app.dir, 'prisma', 'migrations')).sort();
    expect(migrations).toEqual([
      expect.stringMatching(/^\d{14}_prisma_pgvector_documents$/),
      expect.stringMatching(/^\d{14}_documents_embedding_hnsw_idx$/),
      expect.stringMatching(/^\d{14}_documents_embedding_type_article_hnsw_idx$/),
      'migration_lock.toml',
    ]);
    expect(readFileSync(join(app.dir, 'prisma/migrations/migration_lock.toml'), 'utf8')).toContain(
      'provider = "postgresql"',
    );
    expect(readFileSync(join(app.dir, '.gitignore'), 'utf8')).toMatch(/^\.data\/$/m);
    const config = readFileSync(join(app.dir, 'prisma.config.ts'), 'utf8');
    expect(config).toContain("import { useOfflineSchemaEngine } from 'prisma-pgvector/schema-engine';");
    expect(config).toMatch(/useOfflineSchemaEngine\(\);\n\nexport default defineConfig/);
    const schema = readFileSync(join(app.dir, 'prisma/schema.prisma'), 'utf8');
    expect(schema).toContain('previewFeatures = ["partialIndexes"]');
    expect(schema).toContain('embedding Unsupported("vector(3)")?');
  });

  it('prisma migrate deploy applies it (through the wired offline engine) and nothing drifts', async () => {
    const deploy = await runPrisma(['migrate', 'deploy'], {
      databaseUrl: db.url,
      cwd: app.dir,
      env: { PRISMA_SCHEMA_ENGINE_BINARY: undefined, PRISMA_PGVECTOR_SCHEMA_ENGINE: 'wasm' },
    });
    expect(deploy.code, deploy.stderr + deploy.stdout).toBe(0);
    expect(deploy.stdout).toContain('All migrations have been successfully applied.');
    const drift = await checkDrift({ cwd: app.dir, databaseUrl: db.url });
    expect(drift.checks.map((c) => [c.name, c.clean, c.sql, c.error])).toEqual([
      ['migrations-to-schema', true, '', undefined],
      ['database-to-schema', true, '', undefined],
      ['database-to-migrations', true, '', undefined],
    ]);
  });

  it('a store with the printed options adds and searches, the filter served by the partial index predicate', async () => {
    const store = createVectorStore(db.prisma, {
      dimensions: 3,
      partialIndexPredicates: [{ key: 'type', value: 'article' }],
    });
    const added = await store.addMany([
      { content: 'a', embedding: [1, 0, 0], metadata: { type: 'article' } },
      { content: 'b', embedding: [0.9, 0.1, 0], metadata: { type: 'note' } },
      { content: 'c', embedding: [0, 1, 0], metadata: { type: 'article' } },
    ]);
    expect(added.inserted).toBe(3);
    const all = await store.search([1, 0, 0], { k: 2 });
    expect(all.results.map((h) => h.content)).toEqual(['a', 'b']);
    const articles = await store.search([1, 0, 0], { k: 2, filter: { type: 'article' } });
    expect(articles.results.map((h) => h.content)).toEqual(['a', 'c']);
    const client = await db.connect();
    try {
      const { rows } = await client.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'documents' ORDER BY 1",
      );
      expect(rows.map((r) => r.indexname)).toEqual([
        'documents_embedding_hnsw_idx',
        'documents_embedding_type_article_hnsw_idx',
        'documents_pkey',
      ]);
    } finally {
      await client.end();
    }
  });

  it('a second run changes nothing and says so', async () => {
    const before = snapshot(app.dir);
    const r = await runCli(app.dir, [
      'init',
      '--yes',
      ...dims,
      '--partial',
      'type=article',
      '--offline-engine',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'Nothing to do: model Document (table "documents") is set up; no file changed.',
    );
    expect(snapshot(app.dir)).toEqual(before);
  });

  it('refuses a model of another shape, dimensions over the index limit, and a folder without Prisma', async () => {
    const before = snapshot(app.dir);
    const shape = await runCli(app.dir, ['init', '--yes', '--dimensions', '768']);
    expect(shape.code).toBe(1);
    expect(shape.stderr).toContain(
      'model Document exists with embedding Unsupported("vector(3)")?, not Unsupported("vector(768)")?',
    );
    const big = await runCli(app.dir, ['init', '--yes', '--model', 'Big', '--dimensions', '3072']);
    expect(big.code).toBe(1);
    expect(big.stderr).toContain('takes at most 2000 dimensions');
    expect(big.stderr).toContain('Fix: use --vector-type halfvec');
    const id = await runCli(app.dir, ['init', '--yes', '--id-type', 'uuid']);
    expect(id.code).toBe(1);
    expect(id.stderr).toContain('model Document exists with a text id, not uuid');
    expect(snapshot(app.dir)).toEqual(before);
    const bad = await runCli(app.dir, ['init', '--yes', '--index', 'btree']);
    expect(bad.code).toBe(2);
    const empty = createAppProject('ppv-init-none-', {
      'prisma.config.ts': null,
      'prisma/schema.prisma': null,
    });
    try {
      const none = await runCli(empty.dir, ['init', '--yes']);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no Prisma project found');
      expect(none.stderr).toContain('prisma-pgvector init --prisma');
      expect(snapshot(empty.dir)).toEqual({ 'package.json': expect.any(String) });
    } finally {
      empty.remove();
    }
  });
});
