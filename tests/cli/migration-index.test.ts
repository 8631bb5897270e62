import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  metadataNumberExpression,
  metadataStringExpression,
  metadataTextExpression,
} from '../../src/core/filter-expressions.js';
import { checkDrift } from '../../src/schema/drift.js';
import {
  createExternalDatabase,
  externalUrl,
  openTestDatabase,
  type TestDatabase,
} from '../support/database.js';
import { repoRoot, runNode, runPrisma } from '../support/prisma-cli.js';
import { createScratchProject } from '../support/scratch-project.js';

// `prisma-pgvector migration index` as a user runs it, in a scratch copy of the project; then the real
// `prisma migrate deploy`, and the drift check (all three checks) must be clean.

let project: string;
let scratch: ReturnType<typeof createScratchProject> | undefined;
let db: TestDatabase;
let shadow: Awaited<ReturnType<typeof createExternalDatabase>> | undefined;
const cli = join(repoRoot, 'src', 'cli', 'index.ts');
const run = (args: string[]) =>
  runNode(['--import', 'tsx', cli, ...args], { cwd: project, timeoutMs: 180_000 });
const migrations = () =>
  readdirSync(join(project, 'prisma', 'migrations'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

beforeAll(async () => {
  scratch = createScratchProject('ppv-migidx-');
  project = scratch.dir;
  db = await openTestDatabase({ migrate: false });
  // On an external server the drift check's `migrate diff --from-migrations` gets its shadow database there.
  if (externalUrl) {
    shadow = await createExternalDatabase(externalUrl);
    process.env.SHADOW_DATABASE_URL = shadow.url;
  }
});

afterAll(async () => {
  delete process.env.SHADOW_DATABASE_URL;
  await db?.close();
  await shadow?.drop();
  scratch?.remove();
});

describe('migration index', () => {
  it('--help, and bad options exit 2', async () => {
    const help = await run(['migration', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('prisma migrate resolve --applied');
    const bad = await run(['migration', 'index', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toEqual({
      ok: false,
      error: { code: 'USAGE', message: '--name is required' },
    });
    const sub = await run(['migration', 'drop']);
    expect(sub.code).toBe(2);
  });

  it('refuses what pgvector would refuse, with the fix, exit 1', async () => {
    const r = await run([
      'migration',
      'index',
      '--name',
      'x_idx',
      '--method',
      'ivfflat',
      '--metric',
      'l1',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.error.code).toBe('INVALID_CONFIG');
    expect(out.error.fix).toContain("'hnsw'");
    expect(migrations()).toHaveLength(2);
  });

  it('writes partial and expression index migrations, --apply adds the @@index lines, deploy + drift are clean', async () => {
    const r = await run([
      'migration',
      'index',
      '--name',
      'documents_embedding_note_hnsw_idx',
      '--column',
      'embedding',
      '--method',
      'hnsw',
      '--metric',
      'cosine',
      '--m',
      '16',
      '--ef-construction',
      '64',
      '--where',
      "(metadata ->> 'type') = 'note'",
      '--apply',
      '--json',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.predicate).toBe("((metadata ->> 'type'::text) = 'note'::text)");
    expect(out.prismaLine).toBe(
      `@@index([embedding], map: "documents_embedding_note_hnsw_idx", where: raw("((metadata ->> 'type'::text) = 'note'::text)"))`,
    );
    expect(out.migrationName).toMatch(/^\d{14}_documents_embedding_note_hnsw_idx$/);
    expect(migrations().at(-1)).toBe(out.migrationName);
    const sql = readFileSync(out.migrationFile, 'utf8');
    expect(sql).toContain(
      `CREATE INDEX "documents_embedding_note_hnsw_idx" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE (metadata ->> 'type') = 'note';`,
    );
    expect(sql).not.toContain('CONCURRENTLY "');
    const schema = readFileSync(join(project, 'prisma', 'schema.prisma'), 'utf8');
    expect(schema).toContain(`  ${out.prismaLine}\n  @@map("documents")`);

    // An expression index (halfvec, for models above 2000 dimensions) gets no line: Prisma does not see it
    // (the plain line is drift on a vector(3072) table: tests/cli/expression-index-migration.test.ts).
    const expr = await run([
      'migration',
      'index',
      '--name',
      'documents_embedding_halfvec_idx',
      '--column',
      'embedding',
      '--expression',
      'halfvec',
      '--apply',
      '--json',
    ]);
    expect(expr.code, expr.stdout + expr.stderr).toBe(0);
    const exprOut = JSON.parse(expr.stdout);
    expect(exprOut.prismaLine).toBeUndefined();
    expect(exprOut.applied).toBe(false);
    expect(readFileSync(exprOut.migrationFile, 'utf8')).toContain(
      'USING hnsw (("embedding"::halfvec(1536)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64);',
    );

    const deploy = await runPrisma(['migrate', 'deploy'], { databaseUrl: db.url, cwd: project });
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    const drift = await checkDrift({ cwd: project, databaseUrl: db.url });
    expect(drift.checks.map((c) => [c.name, c.clean, c.sql, c.error])).toEqual([
      ['migrations-to-schema', true, '', undefined],
      ['database-to-schema', true, '', undefined],
      ['database-to-migrations', true, '', undefined],
    ]);
  });

  it('without --apply prints the line to add (human output) and leaves schema.prisma alone', async () => {
    const before = readFileSync(join(project, 'prisma', 'schema.prisma'), 'utf8');
    const r = await run(['migration', 'index', '--name', 'documents_embedding_l2_idx', '--metric', 'l2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Add this line to model Document');
    expect(r.stdout).toContain('@@index([embedding], map: "documents_embedding_l2_idx")');
    expect(readFileSync(join(project, 'prisma', 'schema.prisma'), 'utf8')).toBe(before);
    // The same name again: the new migration already creates it, so the check on the scratch database
    // (the migrations applied, then this DDL) fails with "already exists".
    const again = await run(['migration', 'index', '--name', 'documents_embedding_l2_idx', '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error.message).toContain('already exists');
    const dirs = migrations();
    rmSync(join(project, 'prisma', 'migrations', dirs.at(-1) as string), { recursive: true });
  });
  it('writes GIN, expression B-tree and created_at migrations: deploy, drift clean, the planner uses them', async () => {
    const json = async (args: string[]) => {
      const r = await run(['migration', 'index', ...args, '--json']);
      return { code: r.code, out: JSON.parse(r.stdout), stderr: r.stderr };
    };
    // The base migrations have a GIN index: under its own name, and under another (same definition).
    const dup = await json(['--kind', 'gin']);
    expect(dup.code).toBe(1);
    expect(dup.out.error.message).toContain('already has an index named "documents_metadata_gin_idx"');
    const same = await json(['--kind', 'gin', '--name', 'documents_meta_gin2_idx']);
    expect(same.code).toBe(1);
    expect(same.out.error.message).toContain(
      'already has this index under another name: documents_metadata_gin_idx',
    );
    // Keys that cannot be SQL literals cannot be indexed as expressions.
    const badKey = await json(['--kind', 'number', '--key', "pri'ce"]);
    expect(badKey.code).toBe(1);
    expect(badKey.out.error.code).toBe('INVALID_ARGUMENT');
    const usage = await json(['--kind', 'text', '--key', 'tenant', '--metric', 'l2']);
    expect(usage.code).toBe(2);
    const before = migrations().length;

    const text = await json(['--kind', 'text', '--key', 'tenant', '--apply']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.out.prismaLine).toBeUndefined();
    expect(text.out.applied).toBe(false);
    expect(text.out.ddl).toBe(
      `CREATE INDEX "documents_metadata_tenant_idx" ON "documents" USING btree ((("metadata" ->> 'tenant')))`,
    );
    expect(text.out.indexDefinition).toContain("USING btree (((metadata ->> 'tenant'::text)))");
    const num = await json(['--kind', 'number', '--key', 'price']);
    expect(num.code, num.stderr).toBe(0);
    expect(num.out.ddl).toContain(
      `USING btree (((CASE WHEN jsonb_typeof(("metadata" -> 'price')) = 'number' THEN ("metadata" -> 'price')::numeric END)))`,
    );
    const created = await json(['--kind', 'created-at', '--apply']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.out.prismaLine).toBe('@@index([createdAt], map: "documents_created_at_idx")');
    expect(created.out.ddl).toBe(
      'CREATE INDEX "documents_created_at_idx" ON "documents" USING btree ("created_at")',
    );
    expect(migrations()).toHaveLength(before + 3);
    const schema = readFileSync(join(project, 'prisma', 'schema.prisma'), 'utf8');
    expect(schema).toContain('  @@index([createdAt], map: "documents_created_at_idx")\n  @@map("documents")');
    expect(schema).not.toContain('documents_metadata_tenant_idx');
    expect(readFileSync(text.out.migrationFile, 'utf8')).toContain(
      "Prisma's introspection ignores expression indexes",
    );

    const human = await run(['migration', 'index', '--kind', 'text', '--key', 'day']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('schema.prisma: no @@index line');
    const str = await json(['--kind', 'string', '--key', 'day']);
    expect(str.code, str.stderr).toBe(0);
    expect(str.out.prismaLine).toBeUndefined();
    expect(str.out.ddl).toBe(
      `CREATE INDEX "documents_metadata_day_str_idx" ON "documents" USING btree ((${metadataStringExpression('"metadata"', ['day'])}))`,
    );

    const deploy = await runPrisma(['migrate', 'deploy'], { databaseUrl: db.url, cwd: project });
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    const drift = await checkDrift({ cwd: project, databaseUrl: db.url });
    expect(drift.checks.map((c) => [c.name, c.clean, c.sql, c.error])).toEqual([
      ['migrations-to-schema', true, '', undefined],
      ['database-to-schema', true, '', undefined],
      ['database-to-migrations', true, '', undefined],
    ]);

    // The planner serves the contract's query forms with these indexes (sequential scans off).
    const client = await db.connect();
    try {
      const col = '"metadata"';
      const plan = async (where: string) => {
        await client.query('BEGIN');
        try {
          await client.query('SET LOCAL enable_seqscan = off');
          const { rows } = await client.query(`EXPLAIN SELECT 1 FROM "documents" WHERE ${where}`);
          return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
        } finally {
          await client.query('ROLLBACK');
        }
      };
      expect(await plan(`${metadataTextExpression(col, ['tenant'])} >= 't5'`)).toContain(
        'documents_metadata_tenant_idx',
      );
      expect(await plan(`${metadataNumberExpression(col, ['price'])} < 20`)).toContain(
        'documents_metadata_price_num_idx',
      );
      expect(await plan(`${metadataStringExpression(col, ['day'])} >= '2026-01-01'`)).toContain(
        'documents_metadata_day_str_idx',
      );
      expect(await plan(`"created_at" >= now() - interval '1 day'`)).toContain('documents_created_at_idx');
      expect(await plan(`${col} @> '{"tenant":"t7"}'::jsonb`)).toContain('documents_metadata_gin_idx');
    } finally {
      await client.end();
    }
  }, 600_000);
});
