// Prisma's `?schema=` in the URLs the tools take (doctor, tune, buildIndex, maintain, describeVectorColumn,
// checkDrift, and the offline schema engine behind `prisma migrate`):
// it becomes the session's search_path, sent as a startup option. Only a real server honours startup
// options, and splits them on whitespace unless escaped: a schema name with a space must survive that.
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildIndex, describeVectorColumn } from '../../src/indexes/build.js';
import { doctor } from '../../src/ops/doctor.js';
import { maintain } from '../../src/ops/maintenance.js';
import { tune } from '../../src/ops/tuning.js';
import { checkDrift } from '../../src/schema/drift.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { describeOnly } from '../support/engines.js';
import { runPrisma } from '../support/prisma-cli.js';
import { random, randomVector } from './helpers.js';

const REASON = 'the embedded wire server ignores startup options (search_path)';
const DIMS = 16;
let db: TestDatabase;
let client: pg.Client;

const urlFor = (schema: string) => {
  const u = new URL(db.url);
  u.searchParams.set('schema', schema);
  return u.toString();
};

describeOnly('native', REASON, 'URLs with ?schema=', () => {
  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
    client = await db.connect();
    await client.query('CREATE EXTENSION vector');
    const next = random(3);
    for (const schema of ['app', 'my schema', 'back\\slash']) {
      const q = `"${schema}"`;
      await client.query(`CREATE SCHEMA ${q}`);
      await client.query(`CREATE TABLE ${q}.items (id serial PRIMARY KEY, e vector(${DIMS}))`);
      const values = Array.from({ length: 300 }, () => `[${randomVector(next, DIMS).join(',')}]`);
      await client.query(`INSERT INTO ${q}.items (e) SELECT unnest($1::text[])::vector(${DIMS})`, [values]);
    }
    // The same name in public, without the column the tools look for: finding it would be the wrong table.
    await client.query('CREATE TABLE public.items (id serial PRIMARY KEY)');
  });

  afterAll(async () => {
    await client?.end();
    await db?.close();
  });

  for (const schema of ['app', 'my schema', 'back\\slash']) {
    it(`${JSON.stringify(schema)}: every tool works on the tables of that schema`, async () => {
      const url = urlFor(schema);
      expect(await describeVectorColumn(url, { table: 'items', column: 'e' })).toMatchObject({
        type: 'vector',
        dimensions: DIMS,
      });
      const built = await buildIndex(url, {
        table: 'items',
        column: 'e',
        method: 'hnsw',
        type: 'vector',
        dimensions: DIMS,
        metric: 'cosine',
        m: 4,
        efConstruction: 8,
      });
      expect(built.rows).toBe(300);
      const { rows } = await client.query<{ nspname: string }>(
        `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relname = 'items_e_hnsw_idx'`,
      );
      expect(rows.map((r) => r.nspname)).toContain(schema);
      const report = await doctor(url, { tables: ['items'] });
      expect(report.summary.tables).toEqual([`${schema}.items`]);
      const tuned = await tune(url, { table: 'items', column: 'e', sample: 3, efSearchLadder: [40] });
      expect(tuned.table).toBe(`${schema}.items`);
      const maintained = await maintain(url, { table: 'items', dryRun: true });
      expect(maintained.tables.map((t) => `${t.schema}.${t.table}`)).toEqual([`${schema}.items`]);
    });
  }

  it('"prisma app": prisma migrate deploy (offline engine) migrates into it, and the drift check is clean', async () => {
    const url = urlFor('prisma app');
    const deploy = await runPrisma(['migrate', 'deploy'], { databaseUrl: url });
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    const { rows } = await client.query<{ t: string | null }>(
      `SELECT to_regclass('"prisma app".documents')::text AS t`,
    );
    expect(rows[0]?.t).toBe('"prisma app".documents');
    const drift = await checkDrift({ databaseUrl: url });
    expect(drift.checks.map((c) => [c.name, c.clean, c.sql, c.error])).toEqual([
      ['migrations-to-schema', true, '', undefined],
      ['database-to-schema', true, '', undefined],
      ['database-to-migrations', true, '', undefined],
    ]);
  });
});
