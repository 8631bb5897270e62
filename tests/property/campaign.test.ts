// The hostile-input campaign (issue 12): seeded fast-check properties over filters, vectors, ids, metadata
// and options, through the public API, on the database of the run (embedded PGlite over the wire, or the
// native PostgreSQL TEST_DATABASE_URL names), with and without the pool. Every call either succeeds with
// the right result (filters checked against a reference evaluator, writes against a model of the table) or
// throws a PgVectorError with a stable code; a canary table survives; the tables hold exactly the intended
// rows; Object.prototype stays clean. CAMPAIGN_SCALE multiplies the cases (`npm run campaign`), CAMPAIGN_SEED
// changes the seed.
import { PrismaPg } from '@prisma/adapter-pg';
import { raw } from '@prisma/client/runtime/client';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFilter, type CompileFilterOptions, type LooseFilter } from '../../src/core/filter.js';
import { parseVectorText } from '../../src/core/vector.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import {
  createVectorStore,
  type DocumentInput,
  PgVectorError,
  type PgVectorErrorCode,
  type VectorStore,
} from '../../src/index.js';
import { resolveStoreConfig } from '../../src/store/config.js';
import { prepareCopyRow } from '../../src/store/copy.js';
import { prepareRow } from '../../src/store/input.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import {
  DATES,
  filter as filterArb,
  hostileDocument,
  hostileFilter,
  hostileJson,
  hostileString,
  hostileValue,
  hostileVector,
  metadata as metadataArb,
  ODD_STRINGS,
  STRINGS,
} from './arbitraries.js';
import { type Json, matches, type ReferenceFacts, type ReferenceRow } from './filter-reference.js';
import { sqlTextProblems } from './sql-literals.js';

// A failure is reported as found (shrinking a 1,000-condition filter takes longer than the suite may).
fc.configureGlobal({ endOnFailure: true });

const SCALE = Number(process.env.CAMPAIGN_SCALE ?? 1);
const SEED = Number(process.env.CAMPAIGN_SEED ?? 20_261_201);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
const RUNS = {
  filters: runs(4_000),
  filterMeaning: runs(1_000),
  documents: runs(2_500),
  configs: runs(1_000),
  searches: runs(800),
  deletes: runs(300),
  hostileSearches: runs(400),
  writes: runs(1_000),
};
const DIMS = 4;
const ROWS = 48;
const FILTER_TABLE = 'campaign_filter_rows';
const DOCS_TABLE = 'campaign_docs';
const CANARY = 'campaign_canary';

/** The codes a hostile call may end with (anything else, or an error that is not a PgVectorError, fails). */
const INPUT_CODES: readonly PgVectorErrorCode[] = [
  'INVALID_ARGUMENT',
  'INVALID_FILTER',
  'INVALID_VECTOR',
  'DIMENSION_MISMATCH',
  'INVALID_CONFIG',
];

// ---- figures ----

const started = performance.now();
const cases = new Map<string, number>();
const outcomes = new Map<string, number>();
let databaseCases = 0;

function tally(part: string, outcome: string, database = false): void {
  cases.set(part, (cases.get(part) ?? 0) + 1);
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  if (database) databaseCases++;
}

/** Runs `fn`; a PgVectorError is an outcome (its code is checked), anything else thrown fails the case. */
async function attempt<R>(
  fn: () => R | Promise<R>,
  allowed: readonly PgVectorErrorCode[] = INPUT_CODES,
): Promise<{ ok: true; value: R } | { ok: false; error: PgVectorError }> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    if (!(error instanceof PgVectorError)) {
      throw new Error(
        `untyped error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        {
          cause: error,
        },
      );
    }
    if (!allowed.includes(error.code)) {
      throw new Error(`unexpected code ${error.code}: ${error.message}`, { cause: error });
    }
    return { ok: false, error };
  }
}

function attemptSync<R>(fn: () => R, allowed: readonly PgVectorErrorCode[] = INPUT_CODES) {
  try {
    return { ok: true as const, value: fn() };
  } catch (error) {
    if (!(error instanceof PgVectorError)) {
      throw new Error(
        `untyped error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        {
          cause: error,
        },
      );
    }
    if (!allowed.includes(error.code)) throw new Error(`unexpected code ${error.code}: ${error.message}`);
    return { ok: false as const, error };
  }
}

const outcomeOf = (r: { ok: boolean; error?: PgVectorError }) => (r.ok ? 'ok' : (r.error?.code ?? '?'));

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

// ---- pure: filter compilation, document and configuration validation ----

const compileOptions: CompileFilterOptions = {
  metadataColumn: raw('"metadata"'),
  createdAtColumn: raw('"created_at"'),
  partialIndexPredicates: [{ key: 'a', value: 'a' }],
};
/** The identifiers and configured literals compiled SQL may hold (besides typeof names and key literals). */
const SQL_RULES = { identifiers: ['"metadata"', '"created_at"'], configured: ["'a'"] };

const jsFacts: ReferenceFacts = {
  rank: new Map([...STRINGS, ...ODD_STRINGS].sort().map((s, i) => [s, i])),
  nestedScalarInArray: false,
};

const sampleRows: ReferenceRow[] = fc
  .sample(metadataArb, { seed: SEED, numRuns: ROWS })
  .map((m, i) => ({ metadata: m, createdAt: DATES[i % DATES.length] as Date, hasEmbedding: i % 7 !== 3 }));

describe('campaign, pure (no database)', () => {
  it('compiles or refuses every filter, binding every value', () => {
    fc.assert(
      fc.property(hostileFilter, (f) => {
        const r = attemptSync(() => analyzeFilter(f as LooseFilter, compileOptions), ['INVALID_FILTER']);
        tally('filter compilation', outcomeOf(r));
        if (r.ok) {
          const { where } = r.value;
          expect(where.values.length).toBeLessThanOrEqual(65_535);
          // No caller text in the SQL but key literals of allowed characters (tests/property/sql-literals.ts).
          expect(sqlTextProblems(where.text, SQL_RULES)).toEqual([]);
        }
      }),
      { seed: SEED, numRuns: RUNS.filters },
    );
  });

  it('says "every row" / "no row" only when the reference agrees on every row', () => {
    fc.assert(
      fc.property(filterArb, (f) => {
        const { everyRow, noRow } = analyzeFilter(f as LooseFilter, compileOptions);
        tally('filter meaning', everyRow ? 'every row' : noRow ? 'no row' : 'some rows');
        for (const facts of [jsFacts, { ...jsFacts, nestedScalarInArray: true }]) {
          if (everyRow) expect(sampleRows.every((row) => matches(f, row, facts))).toBe(true);
          if (noRow) expect(sampleRows.some((row) => matches(f, row, facts))).toBe(false);
        }
      }),
      { seed: SEED + 1, numRuns: RUNS.filterMeaning },
    );
  });

  it('validates documents the same way on the INSERT and the COPY path', () => {
    const config = resolveStoreConfig({ dimensions: DIMS });
    fc.assert(
      fc.property(hostileDocument(DIMS, hostileString), fc.boolean(), (doc, upsert) => {
        const insert = attemptSync(() => prepareRow(config, doc, 'docs[0]', 'text', upsert));
        const copy = attemptSync(() => prepareCopyRow(config, doc, 'docs[0]', upsert));
        tally('document validation', outcomeOf(insert));
        // A getter may answer differently on each read: each path read it once, so only a document
        // without getters must get the same answer on both.
        if (!hasGetters(doc)) {
          expect(copy.ok).toBe(insert.ok);
          if (!insert.ok && !copy.ok) expect(copy.error.message).toBe(insert.error.message);
        }
        if (insert.ok && insert.value.metadataJson !== null) JSON.parse(insert.value.metadataJson);
      }),
      { seed: SEED + 2, numRuns: RUNS.documents },
    );
  });

  it('accepts or refuses every configuration with INVALID_CONFIG', () => {
    const setting = fc.constantFrom(
      'table',
      'schema',
      'columns',
      'dimensions',
      'vectorType',
      'metric',
      'indexMethod',
      'partialIndexPredicates',
      'batchSize',
      'analyzeThreshold',
      'vacuumAfterBulk',
      'searchVia',
      'embedder',
      'vectorEncoding',
      'filteredIterativeScan',
      'transactionOptions',
      'pool',
    );
    const value = fc.oneof(
      hostileValue,
      hostileJson,
      fc.constantFrom(
        'documents',
        'vector',
        'halfvec',
        'l2',
        'ivfflat',
        'pool',
        'text',
        'strict_order',
        3,
        2000,
      ),
      fc.record({ key: hostileValue, value: hostileValue }).map((p) => [p]),
      fc.dictionary(
        fc.constantFrom('id', 'content', 'metadata', 'embedding', 'createdAt', 'x'),
        hostileString,
      ),
    );
    fc.assert(
      fc.property(fc.dictionary(setting, value, { maxKeys: 3 }), (config) => {
        const r = attemptSync(() => resolveStoreConfig(config as never), ['INVALID_CONFIG']);
        tally('configuration', outcomeOf(r));
      }),
      { seed: SEED + 3, numRuns: RUNS.configs },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
  });
});

function hasGetters(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  seen.add(value);
  return Object.values(Object.getOwnPropertyDescriptors(value)).some(
    (d) => d.get !== undefined || hasGetters(d.value, seen),
  );
}

// ---- the database ----

let db: TestDatabase;
let pool: pg.Pool;
let prisma: PrismaClient;
let pgc: pg.Client;
let facts: ReferenceFacts;
let plain: VectorStore;
let pooled: VectorStore;
let docsPlain: VectorStore;
let docsPooled: VectorStore;
const filterRows: (ReferenceRow & { id: string })[] = [];

/** What the documents table must hold: id → the document as written (createdAt when known). */
interface Expected {
  content: string;
  metadata: Json | null;
  embedding: number[] | null;
  createdAt: number | undefined;
}
const model = new Map<string, Expected>();

beforeAll(async () => {
  db = await openTestDatabase({ migrate: false });
  pool = new pg.Pool({ ...db.poolConfig, max: 3 });
  prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema: db.schema }) });
  pgc = await db.connect();
  await pgc.query('CREATE EXTENSION IF NOT EXISTS vector');
  for (const table of [FILTER_TABLE, DOCS_TABLE]) {
    await pgc.query(`CREATE TABLE "${table}" (
      "id" TEXT PRIMARY KEY DEFAULT (gen_random_uuid())::text,
      "content" TEXT NOT NULL,
      "metadata" JSONB,
      "embedding" vector(${DIMS}),
      "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP
    )`);
  }
  await pgc.query(`CREATE TABLE "${CANARY}" (id int PRIMARY KEY, note text NOT NULL)`);
  await pgc.query(`INSERT INTO "${CANARY}" VALUES (1, 'still here')`);

  const strings = [...STRINGS, ...ODD_STRINGS];
  const { rows } = await pgc.query<{ s: string; r: number }>(
    'SELECT s, (rank() OVER (ORDER BY s))::int AS r FROM unnest($1::text[]) AS s',
    [strings],
  );
  const probe = await pgc.query<{ nested: boolean }>(
    `SELECT '{"k": ["a", "b"]}'::jsonb @> '{"k": "a"}'::jsonb AS nested`,
  );
  facts = { rank: new Map(rows.map((r) => [r.s, r.r])), nestedScalarInArray: probe.rows[0]?.nested === true };

  const base = { schema: db.schema, dimensions: DIMS, partialIndexPredicates: [{ key: 'a', value: 'a' }] };
  plain = createVectorStore(prisma, { ...base, table: FILTER_TABLE });
  pooled = createVectorStore(prisma, { ...base, table: FILTER_TABLE, pool });
  docsPlain = createVectorStore(prisma, { ...base, table: DOCS_TABLE });
  docsPooled = createVectorStore(prisma, { ...base, table: DOCS_TABLE, pool });

  const vectors = fc.sample(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: DIMS, maxLength: DIMS }), {
    seed: SEED,
    numRuns: ROWS,
  });
  for (const [i, row] of sampleRows.entries())
    filterRows.push({ ...row, id: `f${String(i).padStart(2, '0')}` });
  await plain.addMany(
    filterRows.map((row, i) => ({
      id: row.id,
      content: row.id,
      metadata: row.metadata,
      embedding: row.hasEmbedding ? (vectors[i] as number[]) : null,
      createdAt: row.createdAt,
    })),
  );
}, 180_000);

afterAll(async () => {
  const seconds = (performance.now() - started) / 1000;
  const total = [...cases.values()].reduce((a, b) => a + b, 0);
  const engine = db?.kind === 'external' ? 'native' : 'embedded';
  const parts = [...cases].map(([k, v]) => `${k} ${v}`).join(', ');
  const seen = [...outcomes]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    `campaign (${engine}, seed ${SEED}, scale ${SCALE}): ${total} cases (${databaseCases} on the database) in ${seconds.toFixed(1)} s\n` +
      `  parts: ${parts}\n  outcomes: ${seen}\n  untyped errors: 0 (any would have failed the run)`,
  );
  await pgc?.end();
  await prisma?.$disconnect();
  await pool?.end();
  await db?.close();
});

const queryVector = fc
  .array(fc.integer({ min: -9, max: 9 }), { minLength: DIMS, maxLength: DIMS })
  .filter((v) => v.some((x) => x !== 0));

describe('campaign, on the database', () => {
  it('filtered searches return exactly the rows the reference selects (with and without the pool)', async () => {
    await fc.assert(
      fc.asyncProperty(filterArb, queryVector, fc.boolean(), async (f, q, viaPool) => {
        const s = viaPool ? pooled : plain;
        const r = await attempt(() => s.search(q, { filter: f as LooseFilter, k: 100, select: [] }));
        tally('search', outcomeOf(r), true);
        if (!r.ok) throw r.error; // a well-formed filter must run
        const want = filterRows
          .filter((row) => row.hasEmbedding && matches(f, row, facts))
          .map((row) => row.id);
        expect(r.value.results.map((h) => h.id).sort()).toEqual(want.sort());
      }),
      { seed: SEED + 4, numRuns: RUNS.searches },
    );
  });

  it('deleteWhere deletes exactly the rows the reference selects, and refuses only "every row" (rolled back)', async () => {
    class Rollback extends Error {}
    await fc.assert(
      fc.asyncProperty(filterArb, async (f) => {
        let result: { deleted: number } | PgVectorError | undefined;
        try {
          await prisma.$transaction(async (tx) => {
            const r = await attempt(() => plain.withClient(tx as never).deleteWhere(f as LooseFilter));
            result = r.ok ? r.value : r.error;
            throw new Rollback();
          });
        } catch (error) {
          if (!(error instanceof Rollback)) throw error;
        }
        const want = filterRows.filter((row) => matches(f, row, facts)).length;
        if (result instanceof PgVectorError) {
          tally('deleteWhere', `refused (${result.code})`, true);
          expect(result.code).toBe('INVALID_ARGUMENT');
          expect(want).toBe(ROWS); // refused only a filter that selects every row
        } else {
          tally('deleteWhere', 'ok', true);
          expect(result?.deleted).toBe(want);
        }
      }),
      { seed: SEED + 5, numRuns: RUNS.deletes },
    );
    const { rows } = await pgc.query(`SELECT count(*)::int AS n FROM "${FILTER_TABLE}"`);
    expect(rows[0].n).toBe(ROWS);
  });

  it('hostile searches succeed or throw a PgVectorError with an input code', async () => {
    const option = fc.record(
      {
        k: fc.oneof(fc.integer({ min: -2, max: 1002 }), hostileValue),
        filter: hostileFilter,
        metric: fc.oneof(
          fc.constantFrom('cosine', 'l2', 'innerProduct', 'l1', 'hamming', 'nope'),
          hostileValue,
        ),
        efSearch: fc.oneof(fc.integer({ min: 0, max: 1001 }), hostileValue),
        iterativeScan: fc.oneof(fc.constantFrom('off', 'strict_order', 'relaxed_order', 'x'), hostileValue),
        maxScanTuples: fc.oneof(fc.integer({ min: 0, max: 100 }), hostileValue),
        probes: hostileValue,
        maxDistance: fc.oneof(fc.double(), hostileValue),
        minSimilarity: fc.oneof(fc.double({ min: -2, max: 2 }), hostileValue),
        includeEmbedding: fc.oneof(fc.boolean(), hostileValue),
        select: fc.oneof(fc.array(fc.constantFrom('content', 'metadata', 'createdAt', 'x')), hostileValue),
        nope: hostileValue,
      },
      { requiredKeys: [] },
    );
    const options = fc.oneof({ weight: 9, arbitrary: option }, { weight: 1, arbitrary: hostileValue });
    await fc.assert(
      fc.asyncProperty(hostileVector(DIMS), options, fc.boolean(), async (q, o, viaPool) => {
        const s = viaPool ? pooled : plain;
        const r = await attempt(
          () => s.search(q as number[], o as never),
          [...INPUT_CODES, 'EXTENSION_TOO_OLD'],
        );
        tally('hostile search', outcomeOf(r), true);
      }),
      { seed: SEED + 6, numRuns: RUNS.hostileSearches },
    );
  });

  it('hostile writes: each succeeds and is stored as given, or throws and changes nothing', async () => {
    const id = fc.oneof(fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5', "d'6", '😀'), hostileString);
    const doc = hostileDocument(DIMS, id);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), doc }),
      fc.record({ kind: fc.constant('upsert' as const), doc }),
      fc.record({
        kind: fc.constantFrom('addMany' as const, 'addStream' as const, 'upsertMany' as const),
        docs: fc.array(doc, { maxLength: 4 }),
        method: fc.constantFrom(undefined, 'insert', 'auto'),
      }),
      fc.record({
        kind: fc.constant('update' as const),
        id,
        patch: fc.record(
          {
            content: hostileString,
            metadata: fc.oneof(metadataArb, hostileJson),
            embedding: hostileVector(DIMS),
          },
          { requiredKeys: [] },
        ),
      }),
      fc.record({ kind: fc.constant('delete' as const), ids: fc.array(id, { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('get' as const), ids: fc.array(id, { maxLength: 3 }) }),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(op, fc.boolean(), async (operation, viaPool) => {
        await runWrite(operation as WriteOp, viaPool ? docsPooled : docsPlain);
        if (++n % 50 === 0) await expectTableIsModel();
      }),
      { seed: SEED + 7, numRuns: RUNS.writes },
    );
    await expectTableIsModel();
  });

  it('the canary survives; the filter rows are untouched; Object.prototype is clean', async () => {
    expect((await pgc.query(`SELECT id, note FROM "${CANARY}"`)).rows).toEqual([
      { id: 1, note: 'still here' },
    ]);
    const { rows } = await pgc.query(`SELECT id, content FROM "${FILTER_TABLE}" ORDER BY id`);
    expect(rows).toEqual(filterRows.map((r) => ({ id: r.id, content: r.id })));
    await expectTableIsModel();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
    const total = [...cases.values()].reduce((a, b) => a + b, 0);
    if (SCALE >= 1) expect(total).toBeGreaterThanOrEqual(10_000);
  });
});

type WriteOp =
  | { kind: 'add' | 'upsert'; doc: unknown }
  | { kind: 'addMany' | 'addStream' | 'upsertMany'; docs: unknown[]; method: 'insert' | 'auto' | undefined }
  | { kind: 'update'; id: unknown; patch: Record<string, unknown> }
  | { kind: 'delete' | 'get'; ids: unknown[] };

/** What a document says, read once (as the store reads it): the expectation if the store accepts it. */
function expectationOf(doc: unknown): (Expected & { id: unknown }) | undefined {
  try {
    const d = Object.fromEntries(Object.entries(doc as object));
    const embedding = d.embedding == null ? null : Array.from(d.embedding as ArrayLike<number>, Number);
    return {
      id: d.id,
      content: d.content as string,
      metadata: d.metadata == null ? null : (JSON.parse(JSON.stringify(d.metadata)) as Json),
      embedding,
      createdAt: d.createdAt instanceof Date ? d.createdAt.getTime() : undefined,
    };
  } catch {
    return undefined; // the store must refuse it (checked by the table comparison)
  }
}

const WRITE_CODES: readonly PgVectorErrorCode[] = [...INPUT_CODES, 'DATABASE_ERROR'];

async function runWrite(op: WriteOp, s: VectorStore): Promise<void> {
  const checkDatabaseError = (error: PgVectorError) => {
    // The only database error hostile input may cause: an id that exists (the primary key refuses it).
    if (error.code === 'DATABASE_ERROR') expect(error.server?.sqlState, error.message).toBe('23505');
  };
  switch (op.kind) {
    case 'add':
    case 'upsert': {
      const expected = expectationOf(op.doc); // read first: a getter then answers the store differently
      const r = await attempt<{ id: string; createdAt?: Date; inserted?: boolean }>(
        () => (op.kind === 'add' ? s.add(op.doc as DocumentInput) : s.upsert(op.doc as DocumentInput)),
        WRITE_CODES,
      );
      tally(`write: ${op.kind}`, outcomeOf(r), true);
      if (!r.ok) return checkDatabaseError(r.error);
      record(r.value.id, expected, op.kind === 'upsert');
      return;
    }
    case 'addMany':
    case 'addStream':
    case 'upsertMany': {
      const expectations = op.docs.map(expectationOf);
      const options = op.method === undefined ? {} : { method: op.method };
      const docs =
        op.kind === 'addStream'
          ? (function* () {
              yield* op.docs;
            })()
          : op.docs;
      const r = await attempt(
        () =>
          op.kind === 'upsertMany'
            ? s.upsertMany(docs as DocumentInput[], options)
            : s.addMany(docs as DocumentInput[], options),
        WRITE_CODES,
      );
      tally(`write: ${op.kind}`, outcomeOf(r), true);
      if (!r.ok) return checkDatabaseError(r.error);
      expect(r.value.ids).toHaveLength(op.docs.length);
      for (const [i, written] of r.value.ids.entries()) {
        record(written, expectations[i], op.kind === 'upsertMany');
      }
      return;
    }
    case 'update': {
      const before = typeof op.id === 'string' ? model.get(op.id) : undefined;
      const patch = expectationOf({ content: '', ...op.patch });
      const r = await attempt(() => s.update(op.id as string, op.patch as never));
      tally('write: update', outcomeOf(r), true);
      if (!r.ok) return;
      expect(r.value).toBe(before !== undefined);
      if (before === undefined) return;
      if (patch === undefined) throw new Error('the store accepted a patch the test could not read');
      // A field left undefined is left as it is.
      model.set(op.id as string, {
        content: op.patch.content !== undefined ? patch.content : before.content,
        metadata: op.patch.metadata !== undefined ? patch.metadata : before.metadata,
        embedding: op.patch.embedding !== undefined ? patch.embedding : before.embedding,
        createdAt: before.createdAt,
      });
      return;
    }
    case 'delete': {
      const r = await attempt(() => s.deleteByIds(op.ids as string[]));
      tally('write: deleteByIds', outcomeOf(r), true);
      if (!r.ok) return;
      const distinct = [...new Set(op.ids as string[])];
      expect(r.value.deleted).toBe(distinct.filter((i) => model.has(i)).length);
      for (const i of distinct) model.delete(i);
      return;
    }
    case 'get': {
      const r = await attempt(() => s.getByIds(op.ids as string[], { includeEmbedding: true }));
      tally('read: getByIds', outcomeOf(r), true);
      if (!r.ok) return;
      const want = [...new Set(op.ids as string[])].filter((i) => model.has(i));
      expect(r.value.map((d) => d.id)).toEqual(want);
      for (const d of r.value) expectStored(d.id, d.content, d.metadata, d.embedding, d.createdAt);
      return;
    }
  }
}

function record(id: string, expected: Expected | undefined, upsert: boolean): void {
  if (expected === undefined) throw new Error(`the store accepted a document the test could not read: ${id}`);
  const previous = model.get(id);
  model.set(id, {
    ...expected,
    createdAt: upsert && previous !== undefined ? previous.createdAt : expected.createdAt,
  });
}

function expectStored(
  id: string,
  content: unknown,
  metadata: unknown,
  embedding: unknown,
  createdAt: unknown,
): void {
  const want = model.get(id);
  expect(want, `row ${JSON.stringify(id)} is not in the model`).toBeDefined();
  if (want === undefined) return;
  expect(content).toBe(want.content);
  expect(metadata ?? null).toEqual(want.metadata);
  const got =
    embedding == null ? null : Array.isArray(embedding) ? embedding : parseVectorText(String(embedding));
  expect(got?.map((x: number) => Math.fround(x)) ?? null).toEqual(
    want.embedding?.map((x) => Math.fround(x)) ?? null,
  );
  if (want.createdAt !== undefined) expect((createdAt as Date).getTime()).toBe(want.createdAt);
}

/** The documents table holds exactly the model: no lost, extra or altered row. */
async function expectTableIsModel(): Promise<void> {
  const { rows } = await pgc.query(
    `SELECT id, content, metadata, embedding::text AS embedding,
       to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt" FROM "${DOCS_TABLE}"`,
  );
  expect(rows.map((r) => r.id).sort()).toEqual([...model.keys()].sort());
  for (const r of rows) expectStored(r.id, r.content, r.metadata, r.embedding, new Date(r.createdAt));
}
