/**
 * The ef_search tuner on the real embedded database, on clustered synthetic data (a seeded Gaussian mixture)
 * indexed with a deliberately weak HNSW graph (m = 4, ef_construction = 8), so that a low ef_search misses
 * neighbours and a higher one finds them.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPgVectorError } from '../../src/core/errors.js';
import { formatTuneResult, recallAtK, recommendValue, tune } from '../../src/ops/tuning.js';
import { createTestRole, openTestDatabase, type TestDatabase } from '../support/database.js';
import { readServerFacts, type ServerFacts } from '../support/server-facts.js';
import { random } from './helpers.js';

const DIMS = 64;
const ROWS = 3000;
const CLUSTERS = 60;

let db: TestDatabase;
let client: pg.Client;
let facts: ServerFacts;

/** A standard normal deviate (Box-Muller) from a seeded uniform source. */
function gaussian(next: () => number): number {
  const u = Math.max(next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

/** ROWS points around CLUSTERS centres (noise `spread`), and a category: 'a' for a third of the clusters. */
function mixture(seed: number, spread = 0.25): { vector: number[]; category: string }[] {
  const next = random(seed);
  const centres = Array.from({ length: CLUSTERS }, () => Array.from({ length: DIMS }, () => next() * 2 - 1));
  return Array.from({ length: ROWS }, (_, i) => {
    const c = i % CLUSTERS;
    const centre = centres[c]!;
    return {
      vector: centre.map((x) => Math.fround(x + spread * gaussian(next))),
      category: i % 3 === 0 ? 'a' : 'b',
    };
  });
}

async function load(table: string, seed: number, spread?: number): Promise<void> {
  await client.query(
    `CREATE TABLE ${table} (id serial PRIMARY KEY, e vector(${DIMS}), metadata jsonb NOT NULL)`,
  );
  const rows = mixture(seed, spread);
  await client.query(
    `INSERT INTO ${table} (e, metadata)
     SELECT v::vector(${DIMS}), jsonb_build_object('c', c) FROM unnest($1::text[], $2::text[]) AS t(v, c)`,
    [rows.map((r) => `[${r.vector.join(',')}]`), rows.map((r) => r.category)],
  );
}

beforeAll(async () => {
  db = await openTestDatabase();
  client = await db.connect();
  facts = await readServerFacts(client);
  await load('tune_hnsw', 7);
  await client.query(
    'CREATE INDEX tune_hnsw_idx ON tune_hnsw USING hnsw (e vector_cosine_ops) WITH (m = 4, ef_construction = 8)',
  );
  await client.query('ANALYZE tune_hnsw');
});

afterAll(async () => {
  await client?.end();
  await db?.close();
});

describe('recall and recommendation rules', () => {
  it('counts ties at the k-th distance as found, and picks the smallest value reaching the target', () => {
    const exact = [
      { id: 'a', d: 0.1 },
      { id: 'b', d: 0.2 },
      { id: 'c', d: 0.3 },
    ];
    expect(recallAtK(exact, exact)).toBe(1);
    expect(
      recallAtK(exact, [
        { id: 'a', d: 0.1 },
        { id: 'x', d: 0.3 },
        { id: 'y', d: 0.4 },
      ]),
    ).toBeCloseTo(2 / 3);
    expect(recallAtK([], [])).toBe(1);
    const steps = [
      { value: 40, recall: 0.97 },
      { value: 10, recall: 0.8 },
      { value: 20, recall: 0.95 },
    ];
    expect(recommendValue(steps, 0.95)).toBe(20);
    expect(recommendValue(steps, 0.99)).toBeUndefined();
  });
});

describe('tune on HNSW', () => {
  it('recommends the smallest ef_search reaching the target; the step below misses it', async () => {
    // pgvector draws each node's HNSW level at random (a new graph every run): the weak index (m = 4,
    // ef_construction = 8) reaches 0.95–0.98 at ef_search 1000 depending on the draw, 0.9 always.
    const result = await tune(client, { table: 'tune_hnsw', column: 'e', k: 10, sample: 40, target: 0.9 });
    console.log(formatTuneResult(result));
    expect(result).toMatchObject({
      method: 'hnsw',
      setting: 'hnsw.ef_search',
      index: 'tune_hnsw_idx',
      queries: 40,
    });
    expect(result.plans.exact.join(' > ')).toMatch(/Seq Scan/);
    expect(result.plans.exact.join(' > ')).not.toMatch(/Index/);
    expect(result.plans.approximate.join(' > ')).toContain('Index Scan using tune_hnsw_idx');
    expect(result.steps.map((s) => s.value)).toEqual([10, 20, 40, 80, 160, 320, 640, 1000]);
    // The recommendation rule, against the measured ladder.
    expect(result.recommended).toBe(recommendValue(result.steps, 0.9));
    const at = result.steps.findIndex((s) => s.value === result.recommended);
    expect(at).toBeGreaterThan(0);
    expect(result.steps[at]!.recall).toBeGreaterThanOrEqual(0.9);
    expect(result.steps[at - 1]!.recall).toBeLessThan(0.9);
    for (const s of result.steps) expect(s.p95Ms).toBeGreaterThanOrEqual(s.p50Ms);
    expect(result.persisted).toBeUndefined();
  });
});

describe('tune with a filter', () => {
  it('applies the predicate to the exact and the approximate queries, with an iterative scan', async () => {
    const result = await tune(client, {
      table: 'tune_hnsw',
      column: 'e',
      k: 10,
      sample: 30,
      filter: "metadata->>'c' = 'a'",
      // Filtered recall on this weak, randomly built graph tops out between 0.88 and 0.95 from run to run.
      target: 0.75,
    });
    console.log(formatTuneResult(result));
    expect(result.iterativeScan).toBe(facts.iterativeScan ? 'relaxed_order' : undefined);
    expect(result.filter).toBe("metadata->>'c' = 'a'");
    expect(result.plans.exact.join(' > ')).toMatch(/Seq Scan/);
    expect(result.plans.approximate.join(' > ')).toContain('Index Scan using tune_hnsw_idx');
    expect(result.recommended).toBe(recommendValue(result.steps, 0.75));
    expect(result.recommended).toBeDefined();
    const at = result.steps.findIndex((s) => s.value === result.recommended);
    expect(result.steps[at]!.recall).toBeGreaterThanOrEqual(0.75);
    if (at > 0) expect(result.steps[at - 1]!.recall).toBeLessThan(0.75);
  });
});

describe('tune on IVFFlat', () => {
  beforeAll(async () => {
    // Noise far wider than the clusters: neighbours straddle IVFFlat lists, so one probe misses some.
    await load('tune_ivf', 8, 3);
    await client.query(
      'CREATE INDEX tune_ivf_idx ON tune_ivf USING ivfflat (e vector_cosine_ops) WITH (lists = 30)',
    );
    await client.query('ANALYZE tune_ivf');
  });

  it('detects the IVFFlat index and tunes probes, up to the number of lists', async () => {
    const result = await tune(client, { table: 'tune_ivf', column: 'e', k: 10, sample: 30, target: 0.95 });
    console.log(formatTuneResult(result));
    expect(result).toMatchObject({ method: 'ivfflat', setting: 'ivfflat.probes', index: 'tune_ivf_idx' });
    expect(result.steps.map((s) => s.value)).toEqual([1, 2, 4, 8, 16, 30]);
    expect(result.steps.at(-1)!.recall).toBe(1);
    expect(result.recommended).toBe(recommendValue(result.steps, 0.95));
    expect(result.steps[0]!.recall).toBeLessThan(0.95);
    const at = result.steps.findIndex((s) => s.value === result.recommended);
    expect(result.steps[at]!.recall).toBeGreaterThanOrEqual(0.95);
    expect(result.steps[at - 1]!.recall).toBeLessThan(0.95);
  });
});

describe('tune: queries, persistence, errors', () => {
  it('uses the given query vectors', async () => {
    const queries = mixture(99)
      .slice(0, 5)
      .map((r) => r.vector);
    const result = await tune(client, {
      table: 'tune_hnsw',
      column: 'e',
      queries,
      efSearchLadder: [1000, 10],
      target: 0.5,
    });
    expect(result.queries).toBe(5);
    expect(result.steps.map((s) => s.value)).toEqual([10, 1000]);
  });

  it('persists the recommendation for the database and for the role (pg_db_role_setting)', async () => {
    // This database's settings, and those of the role that persists (on an external server other test
    // files have databases and roles of their own beside ours).
    let roleName: string | null = null;
    const settings = async () =>
      (
        await client.query<{ db: boolean; role: boolean; cfg: string }>(
          `SELECT setdatabase <> 0 AS db, setrole <> 0 AS role, cfg
             FROM pg_db_role_setting, unnest(setconfig) cfg
            WHERE cfg LIKE 'hnsw.ef_search=%'
              AND ((setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()))
                OR (setdatabase = 0 AND setrole = (SELECT oid FROM pg_roles WHERE rolname = coalesce($1, current_user))))`,
          [roleName],
        )
      ).rows;
    const byDb = await tune(client, {
      table: 'tune_hnsw',
      column: 'e',
      sample: 5,
      efSearchLadder: [1000],
      target: 0.5,
      persist: 'database',
    });
    expect(byDb.persisted?.sql).toMatch(/^ALTER DATABASE "\w+" SET hnsw\.ef_search = 1000$/);
    expect(await settings()).toContainEqual({ db: true, role: false, cfg: 'hnsw.ef_search=1000' });

    // A role of its own: on an external server, role settings reach every database and test file.
    const role = await createTestRole(db);
    roleName = role.name ?? null;
    try {
      const byRole = await tune(role.url, {
        table: 'tune_hnsw',
        column: 'e',
        sample: 5,
        efSearchLadder: [1000],
        target: 0.5,
        persist: 'role',
      });
      expect(byRole.persisted?.sql).toBe('ALTER ROLE CURRENT_USER SET hnsw.ef_search = 1000');
      expect(await settings()).toContainEqual({ db: false, role: true, cfg: 'hnsw.ef_search=1000' });

      if (role.name === undefined) await client.query(`ALTER ROLE CURRENT_USER RESET hnsw.ef_search`);
    } finally {
      await role.drop(); // and its settings with it
    }
    await client.query(
      `ALTER DATABASE "${(await client.query('SELECT current_database() AS d')).rows[0].d}" RESET hnsw.ef_search`,
    );
    expect(await settings()).toEqual([]);
  });

  it('throws INDEX_NOT_USED without a vector index, INVALID_ARGUMENT for an unknown column', async () => {
    await client.query(`CREATE TABLE tune_plain (id serial PRIMARY KEY, e vector(${DIMS}))`);
    await client.query(`INSERT INTO tune_plain (e) SELECT e FROM tune_hnsw LIMIT 100`);
    const noIndex = await tune(client, { table: 'tune_plain', column: 'e', sample: 3 }).catch(
      (e: unknown) => e,
    );
    expect(isPgVectorError(noIndex, 'INDEX_NOT_USED')).toBe(true);
    const noColumn = await tune(client, { table: 'tune_plain', column: 'nope' }).catch((e: unknown) => e);
    expect(isPgVectorError(noColumn, 'INVALID_ARGUMENT')).toBe(true);
    expect(String(noColumn)).toMatch(/column tune_plain\.nope not found/);
  });
});
