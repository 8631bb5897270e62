// What only a real server shows, part 1: failures. A bulk load whose backend is terminated
// (pg_terminate_backend) or whose server is stopped with -m immediate mid-way, a search cut by
// statement_timeout, a pool with no free connection. Each must end in a typed PgVectorError, leave the table
// exactly as it was, leave the pool usable, and a retry must land exactly the intended rows.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type NativeServer, startNativeServer } from '../../src/embedded/native-server.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createVectorStore, type PgVectorError, type VectorStore } from '../../src/index.js';
import { itemsTableSql, random, randomVector, rejection } from '../integration/helpers.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { describeOnly } from '../support/engines.js';

type Meta = { type: string; n: number };
const DIMS = 32;
const SEED_ROWS = 300;
const LOAD_ROWS = 4000;
const CUT_AT = 1500;
const next = random(91);

const NEEDS_REAL_BACKENDS =
  'needs real backends: pg_terminate_backend, an immediate stop with crash recovery, statement_timeout and a pool of real sessions (the embedded server runs one session)';

/** A table's rows, as one hash and a count: "exactly as before". */
async function snapshot(client: pg.Client | pg.Pool, table = 'items'): Promise<{ n: number; hash: string }> {
  const { rows } = await client.query<{ n: number; hash: string }>(
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(id || '|' || content || '|' || coalesce(metadata::text, '') || '|' || embedding::text, ',' ORDER BY id), '')) AS hash FROM "${table}"`,
  );
  return rows[0] as { n: number; hash: string };
}

const doc = (id: string, n: number) => ({
  id,
  content: `document ${id}`,
  metadata: { type: n % 2 === 0 ? 'a' : 'b', n },
  embedding: randomVector(next, DIMS),
});

/** The load's documents, made once: the retry sends exactly the same ones. */
function loadDocs(prefix: string) {
  return Array.from({ length: LOAD_ROWS }, (_, i) => doc(`${prefix}-${String(i).padStart(5, '0')}`, i));
}

/**
 * Streams `docs` as an async iterable; before yielding `docs[CUT_AT]` it awaits `cut()` (which breaks the
 * load's connection), then goes on yielding, as a real producer would.
 */
async function* streamed<D>(docs: readonly D[], cut?: () => Promise<void>): AsyncGenerator<D> {
  for (const [i, d] of docs.entries()) {
    if (i === CUT_AT && cut !== undefined) await cut();
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    yield d;
  }
}

/** The backend of the load in flight: the one session of `database` that holds a transaction id. */
async function loadBackend(admin: pg.Client, database: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          AND backend_xid IS NOT NULL`,
      [database],
    );
    if (rows.length === 1) return (rows[0] as { pid: number }).pid;
    if (rows.length > 1) throw new Error(`expected one loading backend, found ${rows.length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the load never opened a transaction');
}

async function waitGone(admin: pg.Client, pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    if (rows.length === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`backend ${pid} did not go away`);
}

/** The rows of `docs` in the table: all of them, once each. */
async function expectLanded(client: pg.Client | pg.Pool, docs: readonly { id: string }[]) {
  const ids = docs.map((d) => d.id);
  const { rows } = await client.query<{ n: number; distinct: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM items WHERE id = ANY($1::text[])',
    [ids],
  );
  expect(rows[0]).toEqual({ n: ids.length, distinct: ids.length });
}

describeOnly('native', NEEDS_REAL_BACKENDS, 'faults on a real PostgreSQL', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  let database: string;
  let pool: pg.Pool;
  let prisma: PrismaClient;
  let store: VectorStore<Meta>;
  const poolErrors: Error[] = [];

  beforeAll(async () => {
    db = await openTestDatabase({ migrate: false });
    admin = await db.connect();
    database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]?.db as string;
    await admin.query('CREATE EXTENSION IF NOT EXISTS vector');
    await admin.query(itemsTableSql('items', `vector(${DIMS})`));
    // As an application wires it: one pool for Prisma's adapter and the store. An app must listen for
    // errors of idle clients (a server restart kills them all): pg-pool re-emits them on the pool.
    pool = new pg.Pool({ ...db.poolConfig, max: 4 });
    pool.on('error', (e) => poolErrors.push(e));
    prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    store = createVectorStore<Meta>(prisma, {
      table: 'items',
      dimensions: DIMS,
      partialIndexPredicates: [],
      pool,
    });
    await store.addMany(Array.from({ length: SEED_ROWS }, (_, i) => doc(`seed-${i}`, i)));
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await admin?.end();
    await db?.close();
  });

  for (const method of ['copy', 'insert'] as const) {
    it(`a ${method.toUpperCase()} load whose backend is terminated mid-way: CONNECTION_LOST, nothing lands, the retry lands every row once`, async () => {
      const before = await snapshot(admin);
      const docs = loadDocs(`kill-${method}`);
      let killed: number | undefined;
      const cut = async () => {
        const pid = await loadBackend(admin, database);
        killed = pid; // the load may fail before this function returns: the pipeline does not wait for it
        const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
        expect(rows[0]?.ok).toBe(true);
        await waitGone(admin, pid);
      };
      const error = await rejection(store.addMany(streamed(docs, cut), { method, returnIds: false }));
      console.log(`terminated ${method}: ${error.code}: ${error.message.split('\n')[0]}`);
      expect(killed).toBeTypeOf('number');
      expect(error.code, error.message).toBe('CONNECTION_LOST');
      // The server's own reason when the driver saw it (COPY: 57P01); through Prisma the next query meets
      // pg's "Client has encountered a connection error and is not queryable" instead.
      expect(error.message).toMatch(
        /^addMany: .*(terminating connection due to administrator command|the connection to the server was lost)/,
      );
      if (error.server !== undefined) expect(error.server.sqlState).toBe('57P01');
      expect(error.fix).toMatch(/retry/);
      // Exactly as before: the server rolled the transaction back with the connection.
      expect(await snapshot(admin)).toEqual(before);
      // The pool dropped the broken connection; the next calls get a working one.
      expect(pool.waitingCount).toBe(0);
      expect((await store.search(randomVector(next, DIMS), { k: 5 })).results).toHaveLength(5);
      const retry = await store.addMany(streamed(docs), { method, returnIds: false });
      expect(retry).toMatchObject({ inserted: LOAD_ROWS, method });
      expect(await snapshot(admin)).toMatchObject({ n: before.n + LOAD_ROWS });
      await expectLanded(admin, docs);
    });
  }

  it('a search cut by statement_timeout: QUERY_CANCELED naming it, on every search path; the same connection serves the next search', async () => {
    // One connection, so that "reused" is checkable: the same backend pid before and after.
    const slow = new pg.Pool({ ...db.poolConfig, max: 1, options: '-c statement_timeout=300' });
    const slowPrisma = new PrismaClient({ adapter: new PrismaPg(slow) });
    const pid = async () =>
      (await slow.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    try {
      let before = await pid();
      for (const [label, searchVia, options] of [
        ['pool', 'pool', {}],
        ['pool, tuned (a transaction)', 'pool', { efSearch: 100 }],
        ['prisma', 'prisma', {}],
        ['prisma, tuned (a transaction)', 'prisma', { efSearch: 100 }],
      ] as const) {
        const s = createVectorStore<Meta>(slowPrisma, {
          table: 'items',
          dimensions: DIMS,
          partialIndexPredicates: [],
          pool: slow,
          searchVia,
        });
        // A lock makes the search wait: the timeout, not chance, ends it.
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
        const started = performance.now();
        let error: PgVectorError;
        try {
          error = await rejection(s.search(randomVector(next, DIMS), { k: 5, ...options }));
        } finally {
          await admin.query('ROLLBACK');
        }
        expect(error.code, `${label}: ${error.message}`).toBe('QUERY_CANCELED');
        expect(error.server?.sqlState).toBe('57014');
        expect(error.message).toContain('canceling statement due to statement timeout');
        expect(error.fix).toContain('statement_timeout');
        expect(performance.now() - started).toBeLessThan(5000);
        const { results } = await s.search(randomVector(next, DIMS), { k: 5 });
        expect(results, label).toHaveLength(5);
        // The store's own pool path keeps the connection; Prisma's adapter uses pool.query, and pg-pool
        // destroys a connection after any error there (a new one serves the next query).
        if (searchVia === 'pool') expect(await pid(), label).toBe(before);
        else before = await pid();
        // Nothing of the tuned search leaked onto the connection.
        expect((await slow.query('SHOW hnsw.ef_search')).rows[0]).toEqual({ 'hnsw.ef_search': '40' });
      }
    } finally {
      await slowPrisma.$disconnect();
      await slow.end();
    }
  });

  it('a pool with no free connection: POOL_EXHAUSTED from every path after connectionTimeoutMillis; all works once clients are released', async () => {
    const small = new pg.Pool({ ...db.poolConfig, max: 2, connectionTimeoutMillis: 300 });
    const smallPrisma = new PrismaClient({ adapter: new PrismaPg(small) });
    const s = createVectorStore<Meta>(smallPrisma, {
      table: 'items',
      dimensions: DIMS,
      partialIndexPredicates: [],
      pool: small,
    });
    const viaPrisma = createVectorStore<Meta>(smallPrisma, {
      table: 'items',
      dimensions: DIMS,
      partialIndexPredicates: [],
      pool: small,
      searchVia: 'prisma',
    });
    try {
      await s.search(randomVector(next, DIMS), { k: 1 }); // reads the pgvector version while it can
      const before = await snapshot(admin);
      const held = [await small.connect(), await small.connect()];
      const calls: [string, () => Promise<unknown>][] = [
        ['search (pool)', () => s.search(randomVector(next, DIMS), { k: 3 })],
        ['search (prisma)', () => viaPrisma.search(randomVector(next, DIMS), { k: 3 })],
        ['add', () => s.add(doc('exhausted-1', 1))],
        ['addMany (copy)', () => s.addMany([doc('exhausted-2', 2)], { method: 'copy' })],
        [
          'addMany (insert)',
          () => s.addMany([doc('exhausted-3', 3), doc('exhausted-4', 4)], { method: 'insert' }),
        ],
        ['deleteByIds', () => s.deleteByIds(['seed-1'])],
      ];
      try {
        for (const [label, call] of calls) {
          const started = performance.now();
          const error = await rejection(call());
          expect(error.code, `${label}: ${error.message}`).toBe('POOL_EXHAUSTED');
          expect(error.message).toContain('no free connection in the pool');
          expect(error.fix).toContain('connectionTimeoutMillis');
          expect(performance.now() - started).toBeLessThan(3000);
        }
      } finally {
        for (const c of held) c.release();
      }
      expect(await snapshot(admin)).toEqual(before);
      for (const [label, call] of calls.filter(([l]) => l !== 'deleteByIds'))
        await expect(call(), label).resolves.toBeDefined();
      expect(small.totalCount).toBeLessThanOrEqual(2);
      await s.deleteByIds(['exhausted-1', 'exhausted-2', 'exhausted-3', 'exhausted-4']);
      expect(await snapshot(admin)).toEqual(before);
    } finally {
      await smallPrisma.$disconnect();
      await small.end();
    }
  });

  describeOnly(
    'native',
    NEEDS_REAL_BACKENDS,
    'a server stopped with -m immediate mid-load (its own throwaway cluster)',
    () => {
      let server: NativeServer;
      let own: pg.Pool;
      let ownPrisma: PrismaClient;
      let ownStore: VectorStore<Meta>;
      let check: () => Promise<pg.Client>;

      beforeAll(async () => {
        server = await startNativeServer();
        own = new pg.Pool({ connectionString: server.url, max: 4 });
        own.on('error', (e) => poolErrors.push(e));
        ownPrisma = new PrismaClient({ adapter: new PrismaPg(own) });
        ownStore = createVectorStore<Meta>(ownPrisma, {
          table: 'items',
          dimensions: DIMS,
          partialIndexPredicates: [],
          pool: own,
        });
        check = async () => {
          const c = new pg.Client(server.url);
          await c.connect();
          return c;
        };
        const c = await check();
        await c.query('CREATE EXTENSION vector');
        await c.query(itemsTableSql('items', `vector(${DIMS})`));
        await c.end();
        await ownStore.addMany(Array.from({ length: SEED_ROWS }, (_, i) => doc(`seed-${i}`, i)));
      });

      afterAll(async () => {
        await ownPrisma?.$disconnect();
        await own?.end();
        await server?.destroy();
      });

      for (const method of ['copy', 'insert'] as const) {
        it(`a ${method.toUpperCase()} load: CONNECTION_LOST; after the restart the table is as before and the retry lands every row once`, async () => {
          const c = await check();
          const before = await snapshot(c);
          await c.end();
          const docs = loadDocs(`crash-${method}`);
          let stopped = false;
          const cut = async () => {
            const watcher = await check();
            try {
              await loadBackend(watcher, 'postgres');
            } finally {
              await watcher.end();
            }
            stopped = true; // the load may fail before stop() returns
            await server.stop({ mode: 'immediate' });
          };
          const error = await rejection(ownStore.addMany(streamed(docs, cut), { method, returnIds: false }));
          expect(stopped).toBe(true);
          expect(error.code, error.message).toBe('CONNECTION_LOST');
          expect(error.message).toMatch(/^addMany: /);
          // While the server is down: still typed.
          const down = await rejection(ownStore.search(randomVector(next, DIMS), { k: 3 }));
          console.log(
            `immediate stop, ${method}: ${error.code}: ${error.message.split('\n')[0]}; while down: ${down.code}: ${down.message.split('\n')[0]}`,
          );
          expect(down.code, down.message).toBe('CONNECTION_LOST');

          await server.start(); // crash recovery
          const after = await check();
          try {
            expect(await snapshot(after)).toEqual(before);
            expect((await ownStore.search(randomVector(next, DIMS), { k: 5 })).results).toHaveLength(5);
            const retry = await ownStore.addMany(streamed(docs), { method, returnIds: false });
            expect(retry).toMatchObject({ inserted: LOAD_ROWS, method });
            expect(await snapshot(after)).toMatchObject({ n: before.n + LOAD_ROWS });
            await expectLanded(after, docs);
          } finally {
            await after.end();
          }
        });
      }
    },
  );
});
