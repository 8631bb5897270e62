import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyInitPlan, defaultTableName, lineDiff, locateProject, planInit } from '../../src/schema/init.js';
import { repoRoot } from '../support/prisma-cli.js';
import { createAppProject, snapshot } from './init-project.js';

// The planner of `prisma-pgvector init` in-process, on paths that need no database (`index: 'none'`, and the
// refusals that come before any index is rendered): config and schema edits, names, and what it refuses.

const templatesDir = join(repoRoot, 'templates', 'init');
const projects: { remove(): void }[] = [];
function project(files: Record<string, string | null> = {}) {
  const p = createAppProject('ppv-init-plan-', files);
  projects.push(p);
  return p.dir;
}
afterEach(() => {
  for (const p of projects.splice(0)) p.remove();
});

describe('init planner', () => {
  it('names tables, and finds schema and migrations from prisma.config.ts', () => {
    expect(defaultTableName('Document')).toBe('documents');
    expect(defaultTableName('DocChunk')).toBe('doc_chunks');
    const dir = project({
      'prisma.config.ts': `import { defineConfig } from 'prisma/config';
export default defineConfig({ schema: 'db/app.prisma', migrations: { path: 'db/history' } });
`,
    });
    expect(locateProject(dir)).toEqual({
      configFile: join(dir, 'prisma.config.ts'),
      schemaFile: join(dir, 'db/app.prisma'),
      migrationsDir: join(dir, 'db/history'),
    });
    expect(locateProject(dir, 'other/x.prisma').schemaFile).toBe(join(dir, 'other/x.prisma'));
  });

  it('plans without writing; applying writes exactly the plan; planning again finds nothing to do', async () => {
    const dir = project({ 'prisma.config.ts': "export default { schema: 'prisma/schema.prisma' };\n" });
    const before = snapshot(dir);
    const now = new Date('2026-12-01T10:00:00Z');
    const plan = await planInit({
      cwd: dir,
      templatesDir,
      index: 'none',
      dimensions: 768,
      idType: 'bigint',
      offlineEngine: true,
      now,
    });
    expect(snapshot(dir)).toEqual(before);
    expect(plan.changes.map((c) => [c.kind, c.path])).toEqual([
      ['create', '.gitignore'],
      ['modify', 'prisma.config.ts'],
      ['create', 'prisma/migrations/20261201100000_prisma_pgvector_documents/migration.sql'],
      ['create', 'prisma/migrations/migration_lock.toml'],
      ['modify', 'prisma/schema.prisma'],
    ]);
    expect(plan.storeConfig).toEqual({ idType: 'bigint', dimensions: 768, partialIndexPredicates: [] });
    // A config without imports gets the import on top and the call before `export default`.
    expect(plan.changes.find((c) => c.path === 'prisma.config.ts')?.after).toBe(
      "import { useOfflineSchemaEngine } from 'prisma-pgvector/schema-engine';\n\n" +
        "// Where Prisma cannot download its native schema engine, use prisma-pgvector's bridge to its WASM engine.\n" +
        'useOfflineSchemaEngine();\n\n' +
        "export default { schema: 'prisma/schema.prisma' };\n",
    );
    const sql = plan.changes.find((c) => c.path.endsWith('/migration.sql'))?.after ?? '';
    expect(sql).toContain('CREATE EXTENSION IF NOT EXISTS vector;');
    expect(sql).toContain('"id" BIGSERIAL NOT NULL,');
    expect(sql).toContain('"embedding" vector(768),');
    expect(plan.changes.find((c) => c.path === 'prisma/schema.prisma')?.after).not.toMatch(/^\s*@@index/m);
    applyInitPlan(plan);
    const after = snapshot(dir);
    for (const c of plan.changes) expect(after[c.path]).toBe(c.after);
    const again = await planInit({
      cwd: dir,
      templatesDir,
      index: 'none',
      dimensions: 768,
      offlineEngine: true,
      now,
    });
    expect(again.changes).toEqual([]);
    expect(again.steps.every((s) => s.done)).toBe(true);
    expect(again.storeConfig).toEqual(plan.storeConfig); // the id type read back from the model
  });

  it('adds partialIndexes to the preview features a generator already has', async () => {
    const dir = project({
      'prisma/schema.prisma': `generator client {
  provider        = "prisma-client"
  previewFeatures = ["relationJoins"]
}

datasource db {
  provider = "postgresql"
}
`,
    });
    // Refused before any index is rendered (no database needed): but the schema text is already planned.
    await expect(
      planInit({ cwd: dir, templatesDir, index: 'none', partial: [{ key: 'type', value: 'a' }] }),
    ).rejects.toThrow('partial indexes need an index method');
    expect(readFileSync(join(dir, 'prisma/schema.prisma'), 'utf8')).toContain('["relationJoins"]');
  });

  it('refuses what pgvector or the store would refuse, naming the fix', async () => {
    const dir = project();
    const refuse = (options: Parameters<typeof planInit>[0]) =>
      planInit({ cwd: dir, templatesDir, ...options });
    await expect(refuse({ dimensions: 3000 })).rejects.toThrow(
      /at most 2000 dimensions[\s\S]*--vector-type halfvec/,
    );
    await expect(refuse({ dimensions: 5000, vectorType: 'halfvec' })).rejects.toThrow(/at most 4000/);
    await expect(refuse({ metric: 'hamming' })).rejects.toThrow(/hamming/);
    await expect(refuse({ m: 40, efConstruction: 64 })).rejects.toThrow(
      'ef_construction (64) must be at least 2 × m (80)',
    );
    await expect(refuse({ index: 'none', lists: 10 })).rejects.toThrow(
      'index parameters given with --index none',
    );
    await expect(refuse({ partial: [{ key: "x'; DROP TABLE t; --", value: 'a' }] })).rejects.toThrow();
    await expect(refuse({ model: 'bad-name' })).rejects.toThrow('model name');
    await expect(refuse({ table: 'User', index: 'none', model: 'Other' })).resolves.toBeDefined();
    const clash = project({
      'prisma/schema.prisma': `generator client {\n  provider = "prisma-client"\n}\n\nmodel Doc {\n  id Int @id\n\n  @@map("documents")\n}\n`,
    });
    await expect(planInit({ cwd: clash, templatesDir, index: 'none' })).rejects.toThrow(
      'model Doc already maps to the table "documents"',
    );
    const composite = project({
      'prisma/schema.prisma': `generator client {\n  provider = "prisma-client"\n}\n\nmodel Post {\n  a Int\n  b Int\n  content String\n\n  @@id([a, b])\n}\n`,
    });
    await expect(planInit({ cwd: composite, templatesDir, index: 'none', model: 'Post' })).rejects.toThrow(
      'model Post has no single @id field',
    );
    const mysql = project({ 'prisma/migrations/migration_lock.toml': 'provider = "mysql"\n' });
    await expect(planInit({ cwd: mysql, templatesDir, index: 'none' })).rejects.toThrow(
      'the migrations are for mysql',
    );
  });

  it('an existing model with mapped columns: the partial index and the store use them', async () => {
    const dir = project({
      'prisma/schema.prisma': `generator client {
  provider = "prisma-client"
}

datasource db {
  provider = "postgresql"
}

model Note {
  key       String   @id @map("note_key")
  text      String
  metadata  Json?    @map("meta")
  createdAt DateTime @default(now()) @map("inserted_at")
}
`,
      'prisma/migrations/20260101000000_init/migration.sql': `CREATE TABLE "Note" (
    "note_key" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "meta" JSONB,
    "inserted_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Note_pkey" PRIMARY KEY ("note_key")
);
`,
    });
    const plan = await planInit({
      cwd: dir,
      templatesDir,
      model: 'Note',
      contentField: 'text',
      dimensions: 3,
      partial: [{ key: 'type', value: 'a' }],
    });
    expect(plan.storeConfig).toEqual({
      table: 'Note',
      columns: { id: 'note_key', content: 'text', metadata: 'meta', createdAt: 'inserted_at' },
      dimensions: 3,
      partialIndexPredicates: [{ key: 'type', value: 'a' }],
    });
    const schema = plan.changes.find((c) => c.path === 'prisma/schema.prisma')?.after ?? '';
    expect(schema).toContain('  embedding Unsupported("vector(3)")?\n');
    expect(schema).toContain(
      `@@index([embedding], map: "Note_embedding_type_a_hnsw_idx", where: raw("((meta ->> 'type'::text) = 'a'::text)"))`,
    );
    expect(schema).not.toContain('metadata  Json?\n'); // the mapped one is kept, no second one
  });

  it('lineDiff marks added and removed lines with context', () => {
    expect(lineDiff('a\nb\nc\nd\ne\nf\n', 'a\nb\nX\nd\ne\nf\n', 1)).toBe('  b\n- c\n+ X\n  d');
    expect(lineDiff('', 'x\ny\n')).toBe('+ x\n+ y');
    expect(lineDiff('1\n2\n3\n4\n5\n6\n7\n8\n', '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n', 1)).toBe(
      '+ 0\n  1\n@@\n  8\n+ 9',
    );
  });
});
