import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVectorStore, type VectorStoreConfig } from '../../src/index.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { repoRoot, runPrisma } from '../support/prisma-cli.js';
import { createAppProject, runCli, snapshot } from './init-project.js';

// `prisma-pgvector init` for each id type (text is tests/cli/init.test.ts) and into a project with models and
// migrations of its own (an embedding column on an existing model); then the real `prisma migrate deploy`,
// `prisma migrate diff` from the database to the schema (what `migrate dev` would change: nothing), and a
// store over each table (add, search, getByIds, deleteByIds).

/** These apps' prisma.config.ts do not call useOfflineSchemaEngine(): the CLI gets the bridge from the environment. */
const offline = { PRISMA_SCHEMA_ENGINE_BINARY: join(repoRoot, 'engine', 'schema-engine.mjs') };

/** Prisma's own view: nothing to change between the database and the schema. */
async function expectNoDiff(dir: string, url: string) {
  const diff = await runPrisma(
    ['migrate', 'diff', '--from-config-datasource', '--to-schema', 'prisma/schema.prisma', '--exit-code'],
    { databaseUrl: url, cwd: dir, env: offline },
  );
  expect(diff.stdout + diff.stderr).toContain('No difference detected.');
  expect(diff.code).toBe(0);
}

async function deploy(dir: string, url: string) {
  const r = await runPrisma(['migrate', 'deploy'], { databaseUrl: url, cwd: dir, env: offline });
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

async function init(dir: string, args: string[]): Promise<VectorStoreConfig> {
  const r = await runCli(dir, ['init', '--yes', '--json', ...args]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return JSON.parse(r.stdout).storeConfig;
}

describe('init for uuid, int and bigint ids (three models in one project)', () => {
  let app: ReturnType<typeof createAppProject>;
  let db: TestDatabase;
  const configs: Record<string, VectorStoreConfig> = {};
  beforeAll(async () => {
    app = createAppProject('ppv-init-ids-');
    db = await openTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await db?.close();
    app?.remove();
  });

  it('writes each model with its id and index choices; migrate deploy applies them; no diff', async () => {
    configs.uuid = await init(app.dir, [
      '--model',
      'UuidDoc',
      '--id-type',
      'uuid',
      '--dimensions',
      '3',
      '--m',
      '8',
      '--ef-construction',
      '32',
    ]);
    configs.int = await init(app.dir, [
      '--model',
      'IntDoc',
      '--id-type',
      'int',
      '--dimensions',
      '3',
      '--index',
      'none',
    ]);
    configs.bigint = await init(app.dir, [
      '--model',
      'BigDoc',
      '--id-type',
      'bigint',
      '--dimensions',
      '3',
      '--vector-type',
      'halfvec',
      '--metric',
      'l2',
    ]);
    expect(configs).toEqual({
      uuid: { table: 'uuid_docs', idType: 'uuid', dimensions: 3, partialIndexPredicates: [] },
      int: { table: 'int_docs', idType: 'int', dimensions: 3, partialIndexPredicates: [] },
      bigint: {
        table: 'big_docs',
        idType: 'bigint',
        dimensions: 3,
        vectorType: 'halfvec',
        metric: 'l2',
        partialIndexPredicates: [],
      },
    });
    const schema = readFileSync(join(app.dir, 'prisma/schema.prisma'), 'utf8');
    expect(schema).toContain('id        String @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid');
    expect(schema).toContain('id        Int @id @default(autoincrement())');
    expect(schema).toContain('id        BigInt @id @default(autoincrement())');
    expect(schema).toContain('@@index([embedding], map: "big_docs_embedding_hnsw_l2_idx")');
    expect(schema).not.toContain('partialIndexes');
    await deploy(app.dir, db.url);
    await expectNoDiff(app.dir, db.url);
    const client = await db.connect();
    try {
      const { rows } = await client.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE indexname LIKE '%embedding%' ORDER BY indexname",
      );
      expect(rows.map((r) => r.indexdef)).toEqual([
        "CREATE INDEX big_docs_embedding_hnsw_l2_idx ON public.big_docs USING hnsw (embedding halfvec_l2_ops) WITH (m='16', ef_construction='64')",
        "CREATE INDEX uuid_docs_embedding_hnsw_idx ON public.uuid_docs USING hnsw (embedding vector_cosine_ops) WITH (m='8', ef_construction='32')",
      ]);
    } finally {
      await client.end();
    }
  });

  for (const idType of ['uuid', 'int', 'bigint'] as const) {
    it(`a store over the ${idType} table adds, searches, reads and deletes by id`, async () => {
      const store = createVectorStore(db.prisma, configs[idType]);
      const one = await store.add({ content: 'one', embedding: [1, 0, 0], metadata: { n: 1 } });
      const many = await store.addMany([
        { content: 'two', embedding: [0.8, 0.2, 0] },
        { content: 'three', embedding: [0, 0, 1] },
      ]);
      expect(many.inserted).toBe(2);
      const ids = [one.id, ...many.ids];
      expect(ids.every((id) => typeof id === 'string')).toBe(true);
      if (idType === 'uuid') expect(one.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
      else expect(ids).toEqual(['1', '2', '3']);
      const found = await store.search([1, 0, 0], { k: 2 });
      expect(found.results.map((h) => [h.id, h.content])).toEqual([
        [ids[0], 'one'],
        [ids[1], 'two'],
      ]);
      const given = idType === 'uuid' ? '7d444840-9dc0-11d1-b245-5ffdce74fad2' : '100';
      expect((await store.upsert({ id: given, content: 'given', embedding: [0, 1, 0] })).inserted).toBe(true);
      expect((await store.upsert({ id: given, content: 'again', embedding: [0, 1, 0] })).inserted).toBe(
        false,
      );
      const read = await store.getByIds([given, ids[2] as string]);
      expect(read.map((d) => [d.id, d.content])).toEqual([
        [given, 'again'],
        [ids[2], 'three'],
      ]);
      expect(await store.deleteByIds([ids[1] as string, given])).toEqual({ deleted: 2 });
    });
  }
});

describe('init into a project with models and migrations of its own: an embedding column on Post', () => {
  let app: ReturnType<typeof createAppProject>;
  let db: TestDatabase;
  let config: VectorStoreConfig;
  beforeAll(async () => {
    app = createAppProject('ppv-init-existing-', {
      'prisma/schema.prisma': EXISTING_SCHEMA,
      'prisma/migrations/20260101000000_init/migration.sql': EXISTING_MIGRATION,
      'prisma/migrations/migration_lock.toml': 'provider = "postgresql"\n',
      '.gitignore': 'node_modules\n.data/\n',
    });
    db = await openTestDatabase({ migrate: false });
    await deploy(app.dir, db.url); // the app's own history is in the database first
  });
  afterAll(async () => {
    await db?.close();
    app?.remove();
  });

  it('adds metadata, createdAt and the vector column, the preview feature next to the existing one, and two indexes', async () => {
    config = await init(app.dir, [
      '--model',
      'Post',
      '--content-field',
      'body',
      '--dimensions',
      '3',
      '--partial',
      'lang=en',
    ]);
    expect(config).toEqual({
      table: 'posts',
      columns: { content: 'body' },
      idType: 'int',
      dimensions: 3,
      partialIndexPredicates: [{ key: 'lang', value: 'en' }],
    });
    const schema = readFileSync(join(app.dir, 'prisma/schema.prisma'), 'utf8');
    expect(schema).toContain('previewFeatures = ["relationJoins", "partialIndexes"]');
    expect(schema).toContain(
      [
        '  author   User   @relation(fields: [authorId], references: [id])',
        '  metadata  Json?',
        '  createdAt DateTime @default(now()) @map("created_at")',
        '  embedding Unsupported("vector(3)")?',
        '',
        '  @@index([embedding], map: "posts_embedding_hnsw_idx")',
        `  @@index([embedding], map: "posts_embedding_lang_en_hnsw_idx", where: raw("((metadata ->> 'lang'::text) = 'en'::text)"))`,
        '  @@map("posts")',
      ].join('\n'),
    );
    expect(readFileSync(join(app.dir, '.gitignore'), 'utf8')).toBe('node_modules\n.data/\n');
    await deploy(app.dir, db.url);
    await expectNoDiff(app.dir, db.url);
  });

  it('a store over posts works beside the app rows; a second run is a no-op', async () => {
    const client = await db.connect();
    try {
      await client.query(`INSERT INTO "User" (email) VALUES ('a@example.com')`);
      await client.query(`INSERT INTO posts (title, body, author_id) VALUES ('old', 'an old post', 1)`);
    } finally {
      await client.end();
    }
    const store = createVectorStore(db.prisma, config);
    // The store inserts content, metadata, embedding: a post also needs its title and author, so rows are
    // written by the app and the store sets their embeddings.
    await store.update('1', { embedding: [1, 0, 0], metadata: { lang: 'en' } });
    const found = await store.search([1, 0, 0], { k: 3, filter: { lang: 'en' } });
    expect(found.results.map((h) => [h.id, h.content])).toEqual([['1', 'an old post']]);
    const before = snapshot(app.dir);
    const again = await runCli(app.dir, [
      'init',
      '--yes',
      '--model',
      'Post',
      '--content-field',
      'body',
      '--dimensions',
      '3',
      '--partial',
      'lang=en',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to do: model Post (table "posts") is set up');
    expect(snapshot(app.dir)).toEqual(before);
  });
});

const EXISTING_SCHEMA = `generator client {
  provider        = "prisma-client"
  output          = "../src/generated/prisma"
  previewFeatures = ["relationJoins"]
}

datasource db {
  provider = "postgresql"
}

model User {
  id    Int    @id @default(autoincrement())
  email String @unique
  posts Post[]
}

model Post {
  id       Int    @id @default(autoincrement())
  title    String
  body     String
  authorId Int    @map("author_id")
  author   User   @relation(fields: [authorId], references: [id])

  @@map("posts")
}
`;

/** What `prisma migrate diff --from-empty --to-schema` writes for EXISTING_SCHEMA. */
const EXISTING_MIGRATION = `-- CreateTable
CREATE TABLE "User" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "posts" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "author_id" INTEGER NOT NULL,

    CONSTRAINT "posts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- AddForeignKey
ALTER TABLE "posts" ADD CONSTRAINT "posts_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
`;
