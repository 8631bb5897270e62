import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedServer, startEmbeddedServer } from '../../src/embedded/server.js';
import {
  createExternalDatabase,
  externalUrl,
  openTestDatabase,
  type TestDatabase,
} from '../support/database.js';
import { describeOnly } from '../support/engines.js';
import { runPrisma } from '../support/prisma-cli.js';
import { createScratchProject } from '../support/scratch-project.js';

// Every Prisma CLI command the project relies on, run as users run them, in a scratch copy of the project
// (its own prisma/ folder, so `migrate dev` may write migrations), with no network: the schema engine is
// the offline bridge that prisma.config.ts selects.

let project: string;
let scratch: ReturnType<typeof createScratchProject> | undefined;
let db: TestDatabase;
// On an external server, `migrate dev` and `migrate diff --from-migrations` get a shadow database there too
// (the offline engine empties it first); on the embedded one the engine starts an in-memory shadow itself.
let shadow: Awaited<ReturnType<typeof createExternalDatabase>> | undefined;

beforeAll(async () => {
  scratch = createScratchProject('ppv-cli-');
  project = scratch.dir;
  db = await openTestDatabase({ migrate: false });
  if (externalUrl) shadow = await createExternalDatabase(externalUrl);
});

afterAll(async () => {
  await db?.close();
  await shadow?.drop();
  scratch?.remove();
});

const prisma = (args: string[], env: Record<string, string> = {}) =>
  runPrisma(args, {
    databaseUrl: db.url,
    cwd: project,
    env: {
      PRISMA_SCHEMA_ENGINE_BINARY: '',
      ...(shadow ? { SHADOW_DATABASE_URL: shadow.url } : {}),
      ...env,
    },
  });

const migrationDirs = () =>
  readdirSync(join(project, 'prisma', 'migrations'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);

describe('Prisma CLI, offline', () => {
  it('validate, format --check and generate work without downloading an engine', async () => {
    const validate = await prisma(['validate']);
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stdout).toContain('is valid');

    const format = await prisma(['format', '--check']);
    expect(format.code, format.stdout + format.stderr).toBe(0);

    const generate = await prisma(['generate']);
    expect(generate.code, generate.stderr).toBe(0);
    expect(generate.stdout).toContain('Generated Prisma Client');
    expect(existsSync(join(project, 'src', 'generated', 'prisma', 'client.ts'))).toBe(true);
  });

  it('reports the offline engine in `prisma version`', async () => {
    const version = await prisma(['version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout).toMatch(/Schema Engine\s+:\s+.*schema-engine\.mjs/);
  });

  it('migrate dev applies the migrations to a new database and creates none', async () => {
    const dev = await prisma(['migrate', 'dev', '--name', 'noop']);
    expect(dev.code, dev.stdout + dev.stderr).toBe(0);
    expect(dev.stdout).toContain('20261125000100_vector_indexes');
    expect(dev.stdout).toMatch(/in sync/);
    // No migration that would drop or re-create the vector indexes.
    expect(migrationDirs()).toEqual(['20261125000000_init', '20261125000100_vector_indexes']);
    if (shadow) {
      // The shadow database on the server is where the migrations were replayed.
      const c = new pg.Client({ connectionString: shadow.url });
      await c.connect();
      try {
        const { rows } = await c.query(
          `SELECT to_regclass('public.documents') IS NOT NULL AS t,
                  (SELECT count(*)::int FROM pg_extension WHERE extname = 'vector') AS v`,
        );
        expect(rows[0]).toEqual({ t: true, v: 1 });
      } finally {
        await c.end();
      }
    }
  });

  it('migrate dev --create-only with no schema change writes an empty migration', async () => {
    const dev = await prisma(['migrate', 'dev', '--create-only', '--name', 'empty']);
    expect(dev.code, dev.stdout + dev.stderr).toBe(0);
    const created = migrationDirs().find((d) => d.endsWith('_empty'));
    expect(created).toBeDefined();
    const sql = readFileSync(join(project, 'prisma', 'migrations', created!, 'migration.sql'), 'utf8');
    expect(sql.trim()).toBe('-- This is an empty migration.');
    rmSync(join(project, 'prisma', 'migrations', created!), { recursive: true });
  });

  it('migrate dev writes a real migration for a schema change, and keeps the vector indexes', async () => {
    const schemaPath = join(project, 'prisma', 'schema.prisma');
    const original = readFileSync(schemaPath, 'utf8');
    writeFileSync(
      schemaPath,
      original.replace('  content   String', '  content   String\n  title     String?'),
    );
    try {
      const dev = await prisma(['migrate', 'dev', '--name', 'add_title']);
      expect(dev.code, dev.stdout + dev.stderr).toBe(0);
      const created = migrationDirs().find((d) => d.endsWith('_add_title'));
      const sql = readFileSync(join(project, 'prisma', 'migrations', created!, 'migration.sql'), 'utf8');
      expect(sql).toContain('ALTER TABLE "documents" ADD COLUMN     "title" TEXT;');
      expect(sql).not.toMatch(/DROP INDEX|CREATE INDEX/);
    } finally {
      writeFileSync(schemaPath, original);
    }
  });

  it('migrate status and migrate diff speak for the live database', async () => {
    const status = await prisma(['migrate', 'status']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('Database schema is up to date');

    // The database has the extra `title` column: diff prints the SQL and exits 2.
    const diff = await prisma([
      'migrate',
      'diff',
      '--from-config-datasource',
      '--to-schema',
      'prisma/schema.prisma',
      '--script',
      '--exit-code',
    ]);
    expect(diff.code, diff.stderr).toBe(2);
    expect(diff.stdout).toContain('ALTER TABLE "documents" DROP COLUMN "title";');
    expect(diff.stdout).not.toMatch(/INDEX/);
  });

  it('db pull introspects the vector indexes the way schema.prisma mirrors them', async () => {
    const pull = await prisma(['db', 'pull', '--print']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain('@@index([embedding], map: "documents_embedding_hnsw_idx")');
    expect(pull.stdout).toContain(
      `@@index([embedding], map: "documents_embedding_article_hnsw_idx", where: raw("((metadata ->> 'type'::text) = 'article'::text)"))`,
    );
    expect(pull.stdout).toContain(
      '@@index([metadata(ops: JsonbPathOps)], map: "documents_metadata_gin_idx", type: Gin)',
    );
  });
});

describeOnly('embedded', 'needs a PostgreSQL without pgvector', 'PostgreSQL without pgvector', () => {
  let bare: EmbeddedServer;
  beforeAll(async () => {
    bare = await startEmbeddedServer({ port: 0, memory: true, vector: false });
  });
  afterAll(async () => {
    await bare?.stop();
  });

  it('migrate deploy says what is wrong and how to fix it', async () => {
    const deploy = await runPrisma(['migrate', 'deploy'], { databaseUrl: bare.url, cwd: project });
    expect(deploy.code).not.toBe(0);
    const output = deploy.stdout + deploy.stderr;
    expect(output).toContain('pgvector is not installed on this PostgreSQL server');
    expect(output).toMatch(/apt install postgresql-<major>-pgvector/);
    expect(output).toMatch(/Supabase/);
    expect(output).toContain('prisma migrate resolve --rolled-back');
    expect(output).not.toMatch(/RuntimeError|at .*\.js:\d+/);
  });
});
