import { readdirSync, readFileSync, rmSync } from 'node:fs';
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

    // An expression index (halfvec, for models above 2000 dimensions) is mirrored by the plain line too.
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
    expect(exprOut.prismaLine).toBe('@@index([embedding], map: "documents_embedding_halfvec_idx")');
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
});
