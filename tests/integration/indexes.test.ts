import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPgVectorError, type PgVectorError } from '../../src/core/errors.js';
import {
  type BuildProgress,
  buildIndex,
  describeVectorColumn,
  findInvalidIndexes,
} from '../../src/indexes/build.js';
import { type IndexSpec, indexDdl } from '../../src/indexes/index-spec.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

// Every generated DDL runs on the real database (embedded PGlite + pgvector 0.8.7 by default), and every
// refusal of ours is checked against pgvector itself: we refuse nothing pgvector would accept, except
// names over 63 bytes, which PostgreSQL silently truncates (shown below).

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
  client = await db.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS vector');
  await client.query(`CREATE TABLE items (
    id serial PRIMARY KEY, v vector(8), h halfvec(8), b bit(64), s sparsevec(100),
    big vector(3000), huge vector(4001), wide halfvec(4000), longbits bit(64000), toolong bit(64001),
    v2000 vector(2000), meta jsonb)`);
  await client.query(`INSERT INTO items (v, h, b, s, meta)
    SELECT a::vector(8), a::halfvec(8), bits::bit(64),
           ('{' || (1 + g % 100) || ':1.5}/100')::sparsevec,
           jsonb_build_object('type', CASE WHEN g % 3 = 0 THEN 'note' ELSE 'article' END)
      FROM (SELECT g,
                   (SELECT array_agg(random())::real[] FROM generate_series(1, 8) WHERE g > 0) AS a,
                   (SELECT string_agg(CASE WHEN random() < 0.5 THEN '1' ELSE '0' END, '')
                      FROM generate_series(1, 64) WHERE g > 0) AS bits
              FROM generate_series(1, 300) g) r`);
});

afterAll(async () => {
  await client?.end();
  await db?.close();
});

const spec = (s: Partial<IndexSpec>): IndexSpec => ({
  table: 'items',
  column: 'v',
  method: 'hnsw',
  type: 'vector',
  dimensions: 8,
  metric: 'cosine',
  ...s,
});

async function indexdef(name: string): Promise<string> {
  const { rows } = await client.query<{ def: string }>(
    'SELECT pg_get_indexdef(c.oid) AS def FROM pg_class c WHERE c.relname = $1',
    [name],
  );
  return (rows[0]?.def ?? '').replace(/ ON \w+\./, ' ON ');
}

/** The PgVectorError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<PgVectorError> {
  try {
    await promise;
  } catch (e) {
    if (isPgVectorError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

async function pgError(sql: string): Promise<{ code?: string; message: string } | undefined> {
  try {
    await client.query(sql);
    return undefined;
  } catch (error) {
    return error as { code?: string; message: string };
  }
}

describe('generated DDL runs on pgvector and lands in the catalogue as specified', () => {
  it.each<[string, Partial<IndexSpec>, string]>([
    [
      'hnsw vector cosine',
      { name: 'i1' },
      "USING hnsw (v vector_cosine_ops) WITH (m='16', ef_construction='64')",
    ],
    [
      'hnsw vector l2 m/ef',
      { name: 'i2', metric: 'l2', m: 8, efConstruction: 20 },
      "USING hnsw (v vector_l2_ops) WITH (m='8', ef_construction='20')",
    ],
    ['hnsw vector ip', { name: 'i3', metric: 'innerProduct' }, 'USING hnsw (v vector_ip_ops)'],
    ['hnsw vector l1', { name: 'i4', metric: 'l1' }, 'USING hnsw (v vector_l1_ops)'],
    [
      'ivfflat vector cosine',
      { name: 'i5', method: 'ivfflat', lists: 2 },
      "USING ivfflat (v vector_cosine_ops) WITH (lists='2')",
    ],
    [
      'ivfflat vector l2',
      { name: 'i6', method: 'ivfflat', metric: 'l2', lists: 2 },
      "USING ivfflat (v) WITH (lists='2')",
    ], // default opclass: not rendered
    [
      'ivfflat vector ip',
      { name: 'i7', method: 'ivfflat', metric: 'innerProduct', lists: 2 },
      'USING ivfflat (v vector_ip_ops)',
    ],
    ['hnsw halfvec', { name: 'i8', column: 'h', type: 'halfvec' }, 'USING hnsw (h halfvec_cosine_ops)'],
    [
      'ivfflat halfvec l2',
      { name: 'i9', column: 'h', type: 'halfvec', method: 'ivfflat', metric: 'l2', lists: 2 },
      'USING ivfflat (h halfvec_l2_ops)',
    ],
    [
      'hnsw halfvec l1',
      { name: 'i10', column: 'h', type: 'halfvec', metric: 'l1' },
      'USING hnsw (h halfvec_l1_ops)',
    ],
    [
      'hnsw sparsevec l2',
      { name: 'i11', column: 's', type: 'sparsevec', dimensions: 100, metric: 'l2' },
      'USING hnsw (s sparsevec_l2_ops)',
    ],
    [
      'hnsw sparsevec ip',
      { name: 'i12', column: 's', type: 'sparsevec', dimensions: 100, metric: 'innerProduct' },
      'USING hnsw (s sparsevec_ip_ops)',
    ],
    [
      'hnsw bit hamming',
      { name: 'i13', column: 'b', type: 'bit', dimensions: 64, metric: 'hamming' },
      'USING hnsw (b bit_hamming_ops)',
    ],
    [
      'hnsw bit jaccard',
      { name: 'i14', column: 'b', type: 'bit', dimensions: 64, metric: 'jaccard' },
      'USING hnsw (b bit_jaccard_ops)',
    ],
    [
      'ivfflat bit hamming',
      {
        name: 'i15',
        column: 'b',
        type: 'bit',
        dimensions: 64,
        metric: 'hamming',
        method: 'ivfflat',
        lists: 2,
      },
      'USING ivfflat (b bit_hamming_ops)',
    ],
    [
      'halfvec expression 3000 dims',
      { name: 'i16', column: 'big', dimensions: 3000, expression: 'halfvec' },
      'USING hnsw (((big)::halfvec(3000)) halfvec_cosine_ops)',
    ],
    [
      'binary_quantize expression',
      { name: 'i17', column: 'big', dimensions: 3000, expression: 'binary_quantize', metric: 'hamming' },
      'USING hnsw (((binary_quantize(big))::bit(3000)) bit_hamming_ops)',
    ],
    [
      'binary_quantize of halfvec, jaccard',
      {
        name: 'i18',
        column: 'wide',
        type: 'halfvec',
        dimensions: 4000,
        expression: 'binary_quantize',
        metric: 'jaccard',
      },
      'bit_jaccard_ops',
    ],
    [
      'limits: vector 2000',
      { name: 'i19', column: 'v2000', dimensions: 2000 },
      'USING hnsw (v2000 vector_cosine_ops)',
    ],
    [
      'limits: halfvec 4000',
      { name: 'i20', column: 'wide', type: 'halfvec', dimensions: 4000 },
      'USING hnsw (wide halfvec_cosine_ops)',
    ],
    [
      'limits: bit 64000',
      { name: 'i21', column: 'longbits', type: 'bit', dimensions: 64000, metric: 'hamming' },
      'USING hnsw (longbits bit_hamming_ops)',
    ],
    [
      'partial',
      { name: 'i22', where: "(meta ->> 'type') = 'note'" },
      "WHERE ((meta ->> 'type'::text) = 'note'::text)",
    ],
    [
      'concurrently + if not exists',
      { name: 'i23', concurrently: true, ifNotExists: true },
      'USING hnsw (v vector_cosine_ops)',
    ],
  ])('%s', async (_label, s, expected) => {
    const ddl = indexDdl(spec(s));
    await client.query(ddl);
    const def = await indexdef(s.name as string);
    expect(def).toContain(expected);
    await client.query(`DROP INDEX "${s.name}"`);
  });

  it('IF NOT EXISTS makes a second run a no-op', async () => {
    const ddl = indexDdl(spec({ name: 'twice', ifNotExists: true }));
    await client.query(ddl);
    await client.query(ddl);
    await client.query('DROP INDEX twice');
  });
});

describe('our refusals are pgvector refusals (checked against the server)', () => {
  const refused = (s: Partial<IndexSpec>): PgVectorError => {
    try {
      indexDdl(spec(s));
    } catch (e) {
      if (isPgVectorError(e)) return e;
    }
    throw new Error('expected a refusal');
  };

  it.each<[string, Partial<IndexSpec>, string, RegExp]>([
    [
      'vector > 2000 dims',
      { column: 'big', dimensions: 3000 },
      'CREATE INDEX ON items USING hnsw (big vector_cosine_ops)',
      /more than 2000 dimensions/,
    ],
    [
      'ivfflat vector > 2000',
      { column: 'big', dimensions: 3000, method: 'ivfflat' },
      'CREATE INDEX ON items USING ivfflat (big vector_cosine_ops)',
      /more than 2000 dimensions/,
    ],
    [
      'halfvec > 4000 dims',
      { column: 'huge', dimensions: 4001, expression: 'halfvec' },
      'CREATE INDEX ON items USING hnsw ((huge::halfvec(4001)) halfvec_cosine_ops)',
      /more than 4000 dimensions/,
    ],
    [
      'bit > 64000',
      { column: 'toolong', type: 'bit', dimensions: 64001, metric: 'hamming' },
      'CREATE INDEX ON items USING hnsw (toolong bit_hamming_ops)',
      /more than 64000 dimensions/,
    ],
    [
      'm < 2',
      { m: 1 },
      'CREATE INDEX ON items USING hnsw (v vector_cosine_ops) WITH (m = 1)',
      /out of bounds for option "m"/,
    ],
    [
      'm > 100',
      { m: 101, efConstruction: 202 },
      'CREATE INDEX ON items USING hnsw (v vector_cosine_ops) WITH (m = 101, ef_construction = 202)',
      /out of bounds for option "m"/,
    ],
    [
      'ef < 4',
      { m: 2, efConstruction: 3 },
      'CREATE INDEX ON items USING hnsw (v vector_cosine_ops) WITH (m = 2, ef_construction = 3)',
      /out of bounds for option "ef_construction"/,
    ],
    [
      'ef > 1000',
      { efConstruction: 1001 },
      'CREATE INDEX ON items USING hnsw (v vector_cosine_ops) WITH (ef_construction = 1001)',
      /out of bounds/,
    ],
    [
      'ef < 2m',
      { m: 16, efConstruction: 31 },
      'CREATE INDEX ON items USING hnsw (v vector_cosine_ops) WITH (m = 16, ef_construction = 31)',
      /greater than or equal to 2 \* m/,
    ],
    [
      'lists 0',
      { method: 'ivfflat', lists: 0 },
      'CREATE INDEX ON items USING ivfflat (v vector_cosine_ops) WITH (lists = 0)',
      /out of bounds for option "lists"/,
    ],
    [
      'lists > 32768',
      { method: 'ivfflat', lists: 32769 },
      'CREATE INDEX ON items USING ivfflat (v vector_cosine_ops) WITH (lists = 32769)',
      /out of bounds/,
    ],
    [
      'ivfflat l1',
      { method: 'ivfflat', metric: 'l1' },
      'CREATE INDEX ON items USING ivfflat (v vector_l1_ops)',
      /does not exist for access method "ivfflat"/,
    ],
    [
      'ivfflat sparsevec',
      { method: 'ivfflat', column: 's', type: 'sparsevec', dimensions: 100 },
      'CREATE INDEX ON items USING ivfflat (s sparsevec_cosine_ops)',
      /does not exist for access method "ivfflat"/,
    ],
    [
      'ivfflat jaccard',
      { method: 'ivfflat', column: 'b', type: 'bit', dimensions: 64, metric: 'jaccard' },
      'CREATE INDEX ON items USING ivfflat (b bit_jaccard_ops)',
      /does not exist/,
    ],
    [
      'cosine on bit',
      { column: 'b', type: 'bit', dimensions: 64 },
      'CREATE INDEX ON items USING hnsw (b vector_cosine_ops)',
      /does not accept data type bit/,
    ],
  ])('%s', async (_label, s, raw, serverMessage) => {
    expect(refused(s).code).toMatch(/INDEX_DIMENSION_LIMIT|INVALID_CONFIG/);
    const error = await pgError(raw);
    expect(error?.message).toMatch(serverMessage);
  });

  it('names over 63 bytes: PostgreSQL truncates silently (so Prisma map: would not match); we refuse', async () => {
    const long = `x${'y'.repeat(63)}`;
    expect(refused({ name: long }).message).toContain('64 bytes');
    await client.query(`CREATE INDEX ${long} ON items USING hnsw (v vector_cosine_ops)`);
    const { rows } = await client.query<{ n: string }>(
      "SELECT relname AS n FROM pg_class WHERE relname LIKE 'xyyy%'",
    );
    expect(rows[0]?.n).toHaveLength(63);
    await client.query(`DROP INDEX "${rows[0]?.n}"`);
  });
});

describe('buildIndex', () => {
  const defaultMwm = async () =>
    (await client.query<{ maintenance_work_mem: string }>('SHOW maintenance_work_mem')).rows[0]
      ?.maintenance_work_mem;

  it('builds in a transaction with SET LOCAL; progress is unavailable on the embedded server only', async () => {
    const before = await defaultMwm();
    const progress: BuildProgress[] = [];
    const started = Date.now();
    const result = await buildIndex(db.url, spec({ name: 'b1' }), {
      maintenanceWorkMem: '128MB',
      parallelWorkers: 0,
      onProgress: (p) => progress.push(p),
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.statements).toEqual([
      'BEGIN',
      "SET LOCAL maintenance_work_mem = '128MB'",
      'SET LOCAL max_parallel_maintenance_workers = 0',
      indexDdl(spec({ name: 'b1' })),
      'COMMIT',
    ]);
    expect(result.rows).toBeGreaterThan(0);
    expect(result.settings).toEqual({ maintenanceWorkMem: '128MB', parallelWorkers: 0 });
    if (db.kind === 'embedded') {
      expect(progress).toEqual([{ available: false, reason: expect.stringContaining('one server session') }]);
      expect(result.progress).toMatch(/^unavailable: both connections share one server session/);
    } else {
      // A real server: a second session polls pg_stat_progress_create_index (this build may end before a poll).
      expect(progress.filter((p) => !p.available)).toEqual([]);
      expect(result.progress).toMatch(/^reported \(\d+ samples\)$/);
    }
    expect(await defaultMwm()).toBe(before);
    expect(await indexdef('b1')).toContain('USING hnsw (v vector_cosine_ops)');
  });

  it('auto-sizes maintenance_work_mem only when the estimate is above the current value', async () => {
    const small = await buildIndex(client, spec({ name: 'b2' }));
    expect(small.settings).toEqual({}); // 300 × 8 dims fits the default 64MB
    expect(small.statements).toEqual(['BEGIN', indexDdl(spec({ name: 'b2' })), 'COMMIT']);
    expect(small.estimatedBytes).toBe(300 * (40 + 512 + 256));
    expect(small.progress).toBe('none');
    // sized for 5M rows: capped at 1 GiB with a warning
    const big = await buildIndex(client, spec({ name: 'b3' }), { rows: 5_000_000 });
    expect(big.settings.maintenanceWorkMem).toBe('1024MB');
    expect(big.warnings.join(' ')).toContain('capped at 1024 MB');
  });

  it('CONCURRENTLY: outside a transaction, SET then RESET on the build connection', async () => {
    const before = await defaultMwm();
    const s = spec({ name: 'b4', concurrently: true });
    const result = await buildIndex(client, s, { maintenanceWorkMem: 96 * 1024 * 1024, parallelWorkers: 1 });
    expect(result.statements).toEqual([
      "SET maintenance_work_mem = '96MB'",
      'SET max_parallel_maintenance_workers = 1',
      indexDdl(s),
      'RESET maintenance_work_mem',
      'RESET max_parallel_maintenance_workers',
    ]);
    expect(await defaultMwm()).toBe(before);
    expect(await findInvalidIndexes(client)).toEqual([]);
  });

  it('a failed concurrent build: the invalid index is found, named and fixed', async () => {
    await client.query('CREATE TABLE overflow (id serial PRIMARY KEY, v vector(3))');
    await client.query("INSERT INTO overflow (v) VALUES ('[1,2,3]'), ('[100000,1,1]')");
    const s: IndexSpec = {
      table: 'overflow',
      column: 'v',
      name: 'overflow_half_idx',
      method: 'hnsw',
      type: 'vector',
      dimensions: 3,
      metric: 'l2',
      expression: 'halfvec',
      concurrently: true,
    };
    const error = await failure(buildIndex(client, s));
    expect(isPgVectorError(error, 'INDEX_BUILD_FAILED')).toBe(true);
    expect(error.message).toContain('out of range for type halfvec');
    expect(error.message).toContain('INVALID index "overflow_half_idx"');
    expect(error.fix).toMatch(
      /^DROP INDEX CONCURRENTLY "\w+"\."overflow_half_idx"; then rebuild: CREATE INDEX CONCURRENTLY overflow_half_idx/,
    );
    const invalid = await findInvalidIndexes(db.url);
    expect(invalid).toEqual([
      expect.objectContaining({ table: 'overflow', name: 'overflow_half_idx', fix: error.fix }),
    ]);
    await client.query((error.fix ?? '').split(';')[0] as string);
    expect(await findInvalidIndexes(client)).toEqual([]);
  });

  it('IVFFlat training guard: refuses below 50 rows per list, force overrides', async () => {
    const s = spec({ name: 'b5', method: 'ivfflat', lists: 10 });
    const error = await failure(buildIndex(client, s));
    expect(isPgVectorError(error, 'INSUFFICIENT_TRAINING_DATA')).toBe(true);
    expect(error.message).toContain('needs at least 500 non-NULL rows');
    expect(error.fix).toContain('lists ≤ 6');
    const forced = await buildIndex(client, s, { force: true });
    expect(forced.training).toMatchObject({ ok: false, rows: 300, minRows: 500 });
    expect(forced.warnings[0]).toMatch(/^forced: /);
    const ok = await buildIndex(client, spec({ name: 'b6', method: 'ivfflat', lists: 6 }));
    expect(ok.training).toMatchObject({ ok: true, rows: 300 });
    // the partial predicate is counted too: 100 notes < 50 × 6
    const partial = spec({ name: 'b7', method: 'ivfflat', lists: 6, where: "(meta ->> 'type') = 'note'" });
    await expect(buildIndex(client, partial)).rejects.toThrow(/the table has 100/);
  });

  it('keeps pgvector notices and translates refusals from the server', async () => {
    const result = await buildIndex(client, spec({ name: 'b8', method: 'ivfflat', lists: 400 }), {
      force: true,
    });
    expect(result.notices).toContain('ivfflat index created with little data');
    const dup = await failure(buildIndex(client, spec({ name: 'b8' })));
    expect(isPgVectorError(dup, 'INDEX_BUILD_FAILED')).toBe(true);
    expect(dup.server?.sqlState).toBe('42P07');
  });

  it('describeVectorColumn reads type and dimensions', async () => {
    expect(await describeVectorColumn(client, { table: 'items', column: 'h' })).toEqual({
      type: 'halfvec',
      dimensions: 8,
    });
    expect(await describeVectorColumn(db.url, { table: 'items', column: 'b' })).toEqual({
      type: 'bit',
      dimensions: 64,
    });
    await expect(describeVectorColumn(client, { table: 'items', column: 'meta' })).rejects.toThrow(
      /not a vector type/,
    );
    await expect(describeVectorColumn(client, { table: 'items', column: 'nope' })).rejects.toThrow(
      /does not exist/,
    );
  });
});
