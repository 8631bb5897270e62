// Expression-index migrations for a vector(3072) column (models above 2,000 dimensions), as a user writes
// them: `prisma-pgvector migration index --expression halfvec|binary_quantize --apply` in a scratch copy of
// the project turned to 3072 dimensions, then the real `prisma migrate deploy`, the drift check, and what
// Prisma says when the `@@index` line is missing.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDrift } from '../../src/schema/drift.js';
import {
  createExternalDatabase,
  externalUrl,
  openTestDatabase,
  type TestDatabase,
} from '../support/database.js';
import { repoRoot, runNode, runPrisma } from '../support/prisma-cli.js';
import { createScratchProject } from '../support/scratch-project.js';

let project: string;
let scratch: ReturnType<typeof createScratchProject> | undefined;
let db: TestDatabase;
let shadow: Awaited<ReturnType<typeof createExternalDatabase>> | undefined;
const cli = join(repoRoot, 'src', 'cli', 'index.ts');
const run = (args: string[]) =>
  runNode(['--import', 'tsx', cli, ...args], { cwd: project, timeoutMs: 180_000 });
const schemaFile = () => join(project, 'prisma', 'schema.prisma');
const migrationsDir = () => join(project, 'prisma', 'migrations');

beforeAll(async () => {
  scratch = createScratchProject('ppv-expridx-');
  project = scratch.dir;
  // The project at 3072 dimensions: no plain HNSW index can exist on vector(3072), so the shipped ones go.
  const schema = readFileSync(schemaFile(), 'utf8')
    .replace('Unsupported("vector(1536)")', 'Unsupported("vector(3072)")')
    .replace(/^ {2}@@index\(\[embedding\].*\n/gm, '');
  writeFileSync(schemaFile(), schema);
  for (const dir of readdirSync(migrationsDir())) {
    const file = join(migrationsDir(), dir, 'migration.sql');
    if (!/^\d/.test(dir)) continue;
    const sql = readFileSync(file, 'utf8')
      .replace('vector(1536)', 'vector(3072)')
      .replace(/CREATE INDEX "documents_embedding[^;]*;/g, '');
    writeFileSync(file, sql);
  }
  db = await openTestDatabase({ migrate: false });
  if (externalUrl) {
    shadow = await createExternalDatabase(externalUrl);
    process.env.SHADOW_DATABASE_URL = shadow.url;
  }
}, 300_000);

afterAll(async () => {
  delete process.env.SHADOW_DATABASE_URL;
  await db?.close();
  await shadow?.drop();
  scratch?.remove();
});

describe('migration index --expression on vector(3072)', () => {
  it('a plain HNSW index is refused with the fix naming both expressions', async () => {
    const r = await run(['migration', 'index', '--name', 'documents_embedding_hnsw_idx', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.error.code).toBe('INDEX_DIMENSION_LIMIT');
    expect(out.error.fix).toContain("expression: 'halfvec'");
    expect(out.error.fix).toContain('binary_quantize');
  });

  it('binary_quantize with a dense metric is refused, naming --metric hamming', async () => {
    const r = await run([
      'migration',
      'index',
      '--name',
      'documents_embedding_bq_hnsw_idx',
      '--expression',
      'binary_quantize',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.error.code).toBe('INVALID_CONFIG');
    expect(out.error.fix).toContain('--metric hamming');
  });

  it('writes both expression index migrations with no @@index line; deploy + drift are clean', async () => {
    const before = readFileSync(schemaFile(), 'utf8');
    const halfvec = await run([
      'migration',
      'index',
      '--name',
      'documents_embedding_halfvec_hnsw_idx',
      '--expression',
      'halfvec',
      '--apply',
      '--json',
    ]);
    expect(halfvec.code, halfvec.stdout + halfvec.stderr).toBe(0);
    const h = JSON.parse(halfvec.stdout);
    expect(h.ddl).toBe(
      'CREATE INDEX "documents_embedding_halfvec_hnsw_idx" ON "documents" USING hnsw (("embedding"::halfvec(3072)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)',
    );
    expect(h.prismaLine).toBeUndefined();
    expect(h.note).toContain('Prisma does not see expression indexes');
    expect(h.applied).toBe(false);
    expect(h.indexDefinition).toContain('USING hnsw (((embedding)::halfvec(3072)) halfvec_cosine_ops)');
    expect(readFileSync(h.migrationFile, 'utf8')).toContain('-- No @@index line in schema.prisma');

    const binary = await run([
      'migration',
      'index',
      '--name',
      'documents_embedding_bq_hnsw_idx',
      '--expression',
      'binary_quantize',
      '--metric',
      'hamming',
    ]);
    expect(binary.code, binary.stdout + binary.stderr).toBe(0);
    expect(binary.stdout).toContain(
      'USING hnsw ((binary_quantize("embedding")::bit(3072)) bit_hamming_ops) WITH (m = 16, ef_construction = 64);',
    );
    expect(binary.stdout).toContain('schema.prisma: no line: Prisma does not see expression indexes');
    expect(readFileSync(schemaFile(), 'utf8')).toBe(before);

    const deploy = await runPrisma(['migrate', 'deploy'], { databaseUrl: db.url, cwd: project });
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    const drift = await checkDrift({ cwd: project, databaseUrl: db.url });
    expect(drift.checks.map((c) => [c.name, c.clean, c.sql, c.error])).toEqual([
      ['migrations-to-schema', true, '', undefined],
      ['database-to-schema', true, '', undefined],
      ['database-to-migrations', true, '', undefined],
    ]);
  }, 600_000);

  it('a plain @@index line for an expression index is drift: Prisma would create a B-tree', async () => {
    const without = readFileSync(schemaFile(), 'utf8');
    writeFileSync(
      schemaFile(),
      without.replace(
        '  @@map("documents")',
        '  @@index([embedding], map: "documents_embedding_bq_hnsw_idx")\n  @@map("documents")',
      ),
    );
    try {
      const drift = await checkDrift({ cwd: project, databaseUrl: db.url });
      const [toSchema, dbToSchema, dbToMigrations] = drift.checks;
      expect(toSchema?.clean).toBe(false);
      expect(dbToSchema?.clean).toBe(false);
      expect(dbToSchema?.sql).toContain(
        'CREATE INDEX "documents_embedding_bq_hnsw_idx" ON "documents"("embedding");',
      );
      expect(dbToMigrations?.clean).toBe(true);
    } finally {
      writeFileSync(schemaFile(), without);
    }
  }, 300_000);
});
