/**
 * Bulk load: the store's `addMany` against the raw paths people use, each loading the same rows into an
 * emptied table WITHOUT vector indexes (so the comparison is about the client path, not HNSW inserts):
 *
 * - `store`: `createVectorStore(prisma, { pool }).addMany(docs)` — the store wired as the README
 *   says (the `pg.Pool` given to `PrismaPg` is the store's `pool`): validation, then binary COPY on a pool
 *   connection in one transaction. Post-load maintenance off (`analyzeThreshold: Infinity`,
 *   `vacuumAfterBulk: false`) so that it does the same work as the raw paths: the goals use this one.
 * - `storeDefaults`: the same with the store's defaults, i.e. plus `ANALYZE` before the commit and
 *   `VACUUM (ANALYZE)` after it (the playbook's maintenance, which the raw paths skip): what users get.
 * - `storeInsert`: `store` with `method: 'insert'` — multi-row INSERTs of 500 rows with binary vectors
 *   through Prisma's `$queryRaw` (`RETURNING id, created_at`), one transaction: the path taken without a
 *   `pool` or inside a caller's transaction.
 * - `pgInsertBinary`: `pg` alone, multi-row INSERTs of 500 rows with binary vector parameters, in one
 *   transaction.
 * - `pgCopyBinary`: `pg` alone, one `COPY … FROM STDIN (FORMAT binary)`.
 * - `prismaPerRow`: one `INSERT` per row through `$executeRaw` with a text vector `'[…]'::vector`, all in
 *   one batch `$transaction([...])` (LangChain's PrismaVectorStore style).
 * - `pgTextChunks`: `pg` alone, multi-row INSERTs of 500 rows with text vectors (LangChain's PGVectorStore).
 *
 * The fastest of the two raw binary paths is contender (a) of the goal.
 */

import { raw, sqltag as sql } from '@prisma/client/runtime/client';
import type pg from 'pg';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { resolveStoreConfig } from '../src/store/config.js';
import { encodeCopyTuple, prepareCopyRow } from '../src/store/copy.js';
import { createVectorStore } from '../src/store/vector-store.js';
import type { Mixture, Row } from './dataset.js';
import { capturingClient, resetTable } from './engine.js';
import { copyBinaryRows, copyFrom, vectorBinary } from './pg-copy.js';
import { type Goal, goal, interleave, now, type Summary, summarize } from './stats.js';

export const BULK_CONTENDERS = [
  'store',
  'storeDefaults',
  'storeInsert',
  'pgInsertBinary',
  'pgCopyBinary',
  'prismaPerRow',
  'pgTextChunks',
] as const;
export type BulkContender = (typeof BULK_CONTENDERS)[number];

/** Result of the bulk-load comparison at one dimension. */
export interface BulkResult {
  readonly dims: number;
  readonly rows: number;
  /** Rows per load for the slow text paths (b) and (c): a quarter, to keep the run short; rows/s is compared. */
  readonly slowRows: number;
  readonly rounds: number;
  readonly table: string;
  readonly index: 'none (no vector index during the load)';
  /** rows/s per contender. */
  readonly rowsPerSecond: Record<BulkContender, Summary>;
  readonly fastestRaw: 'pgInsertBinary' | 'pgCopyBinary';
  readonly ratios: {
    readonly storeVsFastestRaw: number;
    /** The INSERT path (`method: 'insert'`) ÷ the fastest raw path. */
    readonly storeInsertVsFastestRaw: number;
    /** The store with its default post-load maintenance ÷ the fastest raw path (which does none). */
    readonly storeDefaultsVsFastestRaw: number;
    readonly storeVsPerRow: number;
    readonly storeVsTextChunks: number;
  };
  /** Vector bytes sent per row by each path. */
  readonly vectorBytesPerRow: {
    /** In the store's COPY tuples (the embedding field). */
    readonly store: number;
    /** Bound by the store's INSERT statements. */
    readonly storeInsert: number;
    readonly pgvectorBinary: number;
    readonly text: number;
  };
  readonly goals: Goal[];
}

const CHUNK = 500;

function textVector(v: Float32Array): string {
  return `[${Array.prototype.join.call(v, ',')}]`;
}

async function pgInsertBinary(
  client: pg.Client,
  table: string,
  dims: number,
  rows: readonly Row[],
): Promise<void> {
  await client.query('BEGIN');
  for (let at = 0; at < rows.length; at += CHUNK) {
    const chunk = rows.slice(at, at + CHUNK);
    const values: unknown[] = [];
    const tuples = chunk.map((r, i) => {
      values.push(r.id, r.content, JSON.stringify(r.metadata), vectorBinary(r.embedding));
      const p = i * 4;
      return `($${p + 1}, $${p + 2}, $${p + 3}::jsonb, $${p + 4}::vector(${dims}))`;
    });
    await client.query(
      `INSERT INTO "${table}" ("id", "content", "metadata", "embedding") VALUES ${tuples.join(', ')}`,
      values,
    );
  }
  await client.query('COMMIT');
}

async function pgTextChunks(client: pg.Client, table: string, rows: readonly Row[]): Promise<void> {
  for (let at = 0; at < rows.length; at += CHUNK) {
    const chunk = rows.slice(at, at + CHUNK);
    const values: unknown[] = [];
    const tuples = chunk.map((r, i) => {
      values.push(r.id, r.content, JSON.stringify(r.metadata), textVector(r.embedding));
      const p = i * 4;
      return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}::vector)`;
    });
    await client.query(
      `INSERT INTO "${table}" ("id", "content", "metadata", "embedding") VALUES ${tuples.join(', ')}`,
      values,
    );
  }
}

async function prismaPerRow(prisma: PrismaClient, table: string, rows: readonly Row[]): Promise<void> {
  const t = raw(`"${table}"`);
  await prisma.$transaction(
    rows.map((r) =>
      prisma.$executeRaw(
        sql`INSERT INTO ${t} ("id", "content", "metadata", "embedding") VALUES (${r.id}, ${r.content}, ${JSON.stringify(r.metadata)}::jsonb, ${textVector(r.embedding)}::vector)`,
      ),
    ),
  );
}

/** The vector bytes the store binds per row: the Buffer parameters of its INSERT statements. */
export async function storeInsertVectorBytes(
  prisma: PrismaClient,
  table: string,
  dims: number,
  rows: readonly Row[],
): Promise<number> {
  let bytes = 0;
  let count = 0;
  const client = capturingClient(prisma, (q) => {
    for (const v of q.values) {
      if (v instanceof Uint8Array) {
        bytes += v.length;
        count++;
      }
    }
  });
  const store = createVectorStore(client, {
    table,
    dimensions: dims,
    partialIndexPredicates: [],
    vectorEncoding: 'binary',
    analyzeThreshold: Number.POSITIVE_INFINITY,
  });
  await store.addMany(rows.slice(0, 1).map(toDoc));
  return count === 0 ? Number.NaN : bytes / count;
}

/** The vector bytes the store's COPY path puts in a tuple per row: the tuple with it minus the one without. */
export function storeCopyVectorBytes(dims: number, rows: readonly Row[]): number {
  const config = resolveStoreConfig({ dimensions: dims, partialIndexPredicates: [] });
  const sample = rows.slice(0, 100);
  const bytes = sample.reduce((sum, r) => {
    const row = prepareCopyRow(config, toDoc(r), 'doc', false);
    return (
      sum + encodeCopyTuple(row, false).length - encodeCopyTuple({ ...row, embedding: null }, false).length
    );
  }, 0);
  return bytes / sample.length;
}

/** A bench row as the store's document input. */
export function toDoc(r: Row) {
  return { id: r.id, content: r.content, metadata: { ...r.metadata }, embedding: r.embedding };
}

/** Runs the bulk-load comparison at one dimension. */
export async function benchBulkLoad(opts: {
  readonly client: pg.Client;
  readonly prisma: PrismaClient;
  /** The pool behind `prisma`'s adapter: the store's `pool`. */
  readonly pool: pg.Pool;
  /** Full garbage collections in the server (embedded) and here, before each timed load. */
  readonly settle: () => Promise<void>;
  readonly mixture: Mixture;
  readonly rows: number;
  readonly rounds: number;
  readonly log: (line: string) => void;
}): Promise<BulkResult> {
  const { client, prisma, mixture, rounds, log } = opts;
  const dims = mixture.spec.dims;
  const table = `bench_bulk_${dims}`;
  const allRows = [...mixture.rows(opts.rows)];
  const slowRows = Math.max(1, Math.floor(allRows.length / 4));
  const defaults = createVectorStore(prisma, {
    table,
    dimensions: dims,
    partialIndexPredicates: [],
    pool: opts.pool,
  });
  const store = createVectorStore(prisma, {
    table,
    dimensions: dims,
    partialIndexPredicates: [],
    pool: opts.pool,
    analyzeThreshold: Number.POSITIVE_INFINITY,
    vacuumAfterBulk: false,
  });
  if (store.vectorEncoding !== 'binary')
    throw new Error('the store should send binary vectors through adapter-pg');
  await resetTable(client, table, dims);
  const ms = await interleave(rounds, BULK_CONTENDERS, async (contender, round) => {
    await client.query(`TRUNCATE "${table}"`);
    const slow = contender === 'prismaPerRow' || contender === 'pgTextChunks';
    const rows = slow ? allRows.slice(0, slowRows) : allRows;
    await opts.settle();
    const start = now();
    switch (contender) {
      case 'store':
      case 'storeDefaults': {
        const r = await (contender === 'store' ? store : defaults).addMany(rows.map(toDoc));
        if (r.method !== 'copy') throw new Error(`the store loaded with ${r.method}: ${r.copySkipped}`);
        break;
      }
      case 'storeInsert':
        await store.addMany(rows.map(toDoc), { batchSize: CHUNK, method: 'insert' });
        break;
      case 'pgInsertBinary':
        await pgInsertBinary(client, table, dims, rows);
        break;
      case 'pgCopyBinary':
        await copyFrom(
          client,
          `COPY "${table}" ("id", "content", "metadata", "embedding") FROM STDIN (FORMAT binary)`,
          copyBinaryRows(rows),
        );
        break;
      case 'prismaPerRow':
        await prismaPerRow(prisma, table, rows);
        break;
      case 'pgTextChunks':
        await pgTextChunks(client, table, rows);
        break;
    }
    const elapsed = now() - start;
    const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
    if (Number(counted[0]?.n) !== rows.length)
      throw new Error(`${contender} loaded ${counted[0]?.n} rows, expected ${rows.length}`);
    log(
      `    ${dims}d round ${round + 1} ${contender.padEnd(15)} ${(rows.length / (elapsed / 1000)).toFixed(0).padStart(8)} rows/s`,
    );
    return rows.length / (elapsed / 1000);
  });
  const rowsPerSecond = Object.fromEntries(BULK_CONTENDERS.map((c) => [c, summarize(ms[c])])) as Record<
    BulkContender,
    Summary
  >;
  const fastestRaw =
    rowsPerSecond.pgCopyBinary.median > rowsPerSecond.pgInsertBinary.median
      ? 'pgCopyBinary'
      : 'pgInsertBinary';
  const s = rowsPerSecond.store.median;
  const ratios = {
    storeVsFastestRaw: s / rowsPerSecond[fastestRaw].median,
    storeInsertVsFastestRaw: rowsPerSecond.storeInsert.median / rowsPerSecond[fastestRaw].median,
    storeDefaultsVsFastestRaw: rowsPerSecond.storeDefaults.median / rowsPerSecond[fastestRaw].median,
    storeVsPerRow: s / rowsPerSecond.prismaPerRow.median,
    storeVsTextChunks: s / rowsPerSecond.pgTextChunks.median,
  };
  await client.query(`TRUNCATE "${table}"`);
  const storeBytes = storeCopyVectorBytes(dims, allRows);
  const storeInsertBytes = await storeInsertVectorBytes(prisma, table, dims, allRows);
  const sample = allRows.slice(0, 100);
  const text = sample.reduce((sum, r) => sum + Buffer.byteLength(textVector(r.embedding)), 0) / sample.length;
  await client.query(`DROP TABLE "${table}"`);
  return {
    dims,
    rows: allRows.length,
    slowRows,
    rounds,
    table,
    index: 'none (no vector index during the load)',
    rowsPerSecond,
    fastestRaw,
    ratios,
    vectorBytesPerRow: {
      store: storeBytes,
      storeInsert: storeInsertBytes,
      pgvectorBinary: 4 * dims + 4,
      text,
    },
    goals: [
      goal(
        `bulk.${dims}.vsFastestRaw`,
        `${dims}d addMany rows/s ÷ fastest raw pg (${fastestRaw})`,
        ratios.storeVsFastestRaw,
        { atLeast: 0.8 },
      ),
      goal(
        `bulk.${dims}.vsPerRow`,
        `${dims}d addMany rows/s ÷ one $executeRaw INSERT per row, text vectors`,
        ratios.storeVsPerRow,
        { atLeast: 20 },
      ),
      goal(
        `bulk.${dims}.bytesPerRow`,
        `${dims}d vector bytes the store sends per row (COPY; INSERT binds ${storeInsertBytes}) ÷ pgvector binary (4·d+4 = ${4 * dims + 4})`,
        Math.max(storeBytes, storeInsertBytes) / (4 * dims + 4),
        { atMost: 1 },
      ),
    ],
  };
}
