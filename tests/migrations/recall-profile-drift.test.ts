/**
 * The recall profile lives in the vector index's COMMENT: `prisma-pgvector tune --persist index` on the
 * project's own migrated `documents` table leaves Prisma's `migrate diff` (and our catalogue comparison)
 * empty, and the comment survives `REINDEX INDEX CONCURRENTLY`.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tune } from '../../src/ops/tuning.js';
import { checkDrift } from '../../src/schema/drift.js';
import { loadRecallProfile } from '../../src/store/recall-profile.js';
import { random, randomVector } from '../integration/helpers.js';
import {
  createExternalDatabase,
  externalUrl,
  openTestDatabase,
  type TestDatabase,
} from '../support/database.js';

let db: TestDatabase;
let client: pg.Client;
let shadow: Awaited<ReturnType<typeof createExternalDatabase>> | undefined;

beforeAll(async () => {
  db = await openTestDatabase(); // prisma migrate deploy: documents with its HNSW indexes
  client = await db.connect();
  if (externalUrl) {
    shadow = await createExternalDatabase(externalUrl);
    process.env.SHADOW_DATABASE_URL = shadow.url;
  }
  const next = random(21);
  const vectors = Array.from({ length: 300 }, () => `[${randomVector(next, 1536).join(',')}]`);
  await client.query(
    `INSERT INTO documents (content, metadata, embedding)
     SELECT 'doc ' || n, jsonb_build_object('type', CASE WHEN n % 2 = 0 THEN 'article' ELSE 'note' END), v::vector(1536)
       FROM unnest($1::text[]) WITH ORDINALITY AS t(v, n)`,
    [vectors],
  );
  await client.query('ANALYZE documents');
});

afterAll(async () => {
  delete process.env.SHADOW_DATABASE_URL;
  await client?.end();
  await db?.close();
  await shadow?.drop();
});

describe('the recall profile in the index comment', () => {
  const load = () =>
    loadRecallProfile(async (text, values) => (await client.query(text, [...values])).rows, {
      schema: db.schema,
      table: 'documents',
      column: 'embedding',
      opclasses: ['vector_cosine_ops'],
    });

  it('is written on the whole-table index, and migrate diff stays empty', async () => {
    const result = await tune(client, {
      table: 'documents',
      k: [10, 50],
      sample: 20,
      efSearchLadder: [40, 80],
      target: 0.1,
      persist: 'index',
    });
    expect(result.index).toBe('documents_embedding_hnsw_idx');
    const loaded = await load();
    expect(loaded.index).toBe('documents_embedding_hnsw_idx');
    expect(loaded.profile?.entries).toHaveLength(4);

    const report = await checkDrift({ databaseUrl: db.url });
    for (const check of report.checks) expect(check, check.name).toMatchObject({ clean: true, sql: '' });
  }, 240_000);

  it('survives REINDEX INDEX CONCURRENTLY', async () => {
    const before = (await load()).profile;
    expect(before).toBeDefined();
    await client.query('REINDEX INDEX CONCURRENTLY documents_embedding_hnsw_idx');
    expect((await load()).profile).toEqual(before);
  });
});
