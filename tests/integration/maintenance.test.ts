import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintain, readTableStats, recommendMaintenance } from '../../src/ops/maintenance.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let client: pg.Client;

// Statistics reach pg_stat_user_tables when the backend flushes them (PostgreSQL ≥ 15): force it.
const flushStats = async () => {
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT 1');
};

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
  client = await db.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  await client.query('CREATE TABLE chunks (id serial PRIMARY KEY, v vector(8))');
  await client.query('CREATE INDEX chunks_v_hnsw_idx ON chunks USING hnsw (v vector_l2_ops)');
  await client.query('CREATE TABLE plain (id serial PRIMARY KEY, note text)');
  await client.query(`INSERT INTO chunks (v)
    SELECT (SELECT array_agg(random())::real[] FROM generate_series(1, 8) WHERE g > 0)::vector(8)
      FROM generate_series(1, 2000) g`);
  await flushStats();
});

afterAll(async () => {
  await client?.end();
  await db?.close();
});

describe('maintain', () => {
  it('finds the vector tables only, and recommends ANALYZE after a bulk load', async () => {
    const stats = await readTableStats(client);
    expect(stats.map((s) => s.table)).toEqual(['chunks']);
    const [chunks] = stats;
    expect(chunks?.vectorIndexes).toEqual([
      { name: 'chunks_v_hnsw_idx', method: 'hnsw', sizeBytes: expect.any(Number), valid: true },
    ]);
    expect(chunks?.modsSinceAnalyze).toBe(2000);
    expect(recommendMaintenance(chunks!).step).toBe('analyze');
    const report = await maintain(client, { onlyWhenNeeded: true });
    expect(report.ok).toBe(true);
    expect(report.tables[0]?.actions).toEqual([
      expect.objectContaining({ action: 'analyze', sql: 'ANALYZE "public"."chunks"', status: 'done' }),
    ]);
  });

  it('after deleting 40% of the rows: REINDEX INDEX CONCURRENTLY, then VACUUM (ANALYZE)', async () => {
    await client.query('DELETE FROM chunks WHERE id % 5 IN (1, 2)');
    await flushStats();
    const dry = await maintain(db.url, { table: 'chunks', dryRun: true });
    expect(dry.tables[0]?.recommendation.step).toBe('reindex-vacuum-analyze');
    expect(dry.tables[0]?.actions.map((a) => [a.status, a.sql])).toEqual([
      ['planned', 'REINDEX INDEX CONCURRENTLY "public"."chunks_v_hnsw_idx"'],
      ['planned', 'VACUUM (ANALYZE) "public"."chunks"'],
    ]);
    const report = await maintain(client, { table: 'chunks' });
    const [t] = report.tables;
    expect(report.ok).toBe(true);
    expect(t?.recommendation.reasons[0]).toMatch(/^800 dead tuples = 66\.7% of live rows > 20%/);
    expect(t?.actions.map((a) => [a.action, a.target, a.status])).toEqual([
      ['reindex', 'chunks_v_hnsw_idx', 'done'],
      ['vacuum-analyze', 'chunks', 'done'],
    ]);
    const reindex = t?.actions[0];
    expect(reindex?.durationMs).toBeGreaterThanOrEqual(0);
    expect(reindex?.sizeAfter).toBeLessThan(reindex?.sizeBefore ?? 0);
    await flushStats();
    const [after] = await readTableStats(client, { table: 'chunks' });
    expect(after?.deadTuples).toBe(0);
    expect(recommendMaintenance(after!).step).toBe('none');
  });

  it('VACUUM (ANALYZE) anyway unless onlyWhenNeeded; reports invalid indexes and fails', async () => {
    const report = await maintain(client, { table: 'chunks' });
    expect(report.tables[0]?.actions.map((a) => a.action)).toEqual(['vacuum-analyze']);
    expect((await maintain(client, { table: 'chunks', onlyWhenNeeded: true })).tables[0]?.actions).toEqual(
      [],
    );

    await client.query("INSERT INTO chunks (v) VALUES ('[1,1,1,1,1,1,1,1]'), ('[1,1,1,1,1,1,1,1]')");
    await client
      .query('CREATE UNIQUE INDEX CONCURRENTLY chunks_v_unique ON chunks ((v::text))')
      .catch(() => {});
    const broken = await maintain(client, { table: 'chunks', onlyWhenNeeded: true });
    expect(broken.ok).toBe(false);
    expect(broken.invalidIndexes).toEqual([
      expect.objectContaining({
        name: 'chunks_v_unique',
        fix: expect.stringContaining('DROP INDEX CONCURRENTLY'),
      }),
    ]);
    await client.query('DROP INDEX chunks_v_unique');
  });

  it('refuses an unknown table', async () => {
    await expect(maintain(client, { table: 'nope' })).rejects.toThrow(/not found/);
  });
});
