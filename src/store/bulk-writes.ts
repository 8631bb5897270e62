/**
 * Bulk writes: documents checked and sent as binary COPY through the store's pool (`copy.ts`) or as multi-row
 * INSERTs of at most `batchSize` rows and 65 535 bind parameters, in one transaction, then ANALYZE and
 * VACUUM (ANALYZE) after large writes.
 */

import type { Sql } from '@prisma/client/runtime/client';
import { isPgVectorError, PgVectorError } from '../core/errors.js';
import { describeValue } from '../core/input-checks.js';
import { translateDatabaseError } from '../core/translate-error.js';
import { MAX_BIND_PARAMETERS, type ResolvedStoreConfig } from './config.js';
import { type CopyLoadResult, copyLoad, type IndexedCopyRow, prepareCopyRow } from './copy.js';
import { argumentError, optionsOf, shownKey, shownValue, unknownOption } from './options.js';
import type { StorePool } from './pool.js';
import { buildAnalyzeSql, buildGetByIdsSql, buildInsertSql, buildRowSql } from './sql.js';
import type { RawRow, StoreContext } from './store-context.js';
import type {
  DocumentSource,
  VectorStoreClient,
  WriteManyOptions,
  WriteManyResult,
  WriteMethod,
} from './types.js';

/**
 * A bulk write (`addMany`, `upsertMany`, `addTexts`): binary COPY through the store's pool when it may, else
 * multi-row INSERTs (see `VectorStore.addMany`).
 */
export async function writeMany(
  ctx: StoreContext,
  docs: DocumentSource<unknown>,
  input: WriteManyOptions,
  upsert: boolean,
  operation: string,
): Promise<WriteManyResult> {
  const options = writeManyOptions(input);
  const streamed = !Array.isArray(docs);
  if (streamed && !isIterable(docs)) {
    throw argumentError(`${operation} expects an array or an (async) iterable of documents`);
  }
  const batchSize = batchSizeOf(ctx.config, options);
  const returnIds = options.returnIds ?? true;
  if (typeof returnIds !== 'boolean')
    throw argumentError(`returnIds must be true or false, got ${describeValue(returnIds)}`);
  const plan = writeMethod(ctx, options);
  let copySkipped = plan.skipped;
  if (plan.method === 'copy') {
    const result = await copyMany(ctx, docs, operation, upsert, returnIds, options.method === 'copy');
    if ('inserted' in result) return result;
    copySkipped = result.skipped;
  }
  const written = streamed
    ? await insertStream(ctx, docs, batchSize, upsert, operation, returnIds)
    : await insertArray(ctx, docs as readonly unknown[], batchSize, upsert, operation, returnIds);
  return finishWrite(ctx, written, 'insert', copySkipped);
}

/** Whether a bulk write may use COPY, or why not (only worth saying when a `pool` is configured). */
function writeMethod(
  ctx: StoreContext,
  options: WriteManyOptions,
): { method: WriteMethod; skipped?: string } {
  const asked = options.method ?? 'auto';
  if (!['auto', 'copy', 'insert'].includes(asked)) {
    throw argumentError(`method must be 'auto', 'copy' or 'insert', got ${shownValue(asked)}`);
  }
  if (asked === 'insert') return { method: 'insert' };
  const skipped =
    ctx.config.pool === undefined
      ? 'no pool is configured'
      : ctx.inTransaction
        ? "in a caller's transaction (COPY would run on another connection, outside it)"
        : ctx.config.idType !== 'text'
          ? `binary COPY sends text ids; the id column is ${ctx.config.idType}`
          : ctx.shared.copyRefused === undefined
            ? undefined
            : `the server refused COPY: ${ctx.shared.copyRefused}`;
  if (skipped === undefined) return { method: 'copy' };
  if (asked === 'copy') throw argumentError(`method 'copy' is not possible here: ${skipped}`);
  return { method: 'insert', ...(ctx.config.pool === undefined ? {} : { skipped }) };
}

/** The COPY path; `{ skipped }` (nothing consumed, nothing written) when the server refuses COPY. */
async function copyMany(
  ctx: StoreContext,
  docs: DocumentSource<unknown>,
  operation: string,
  upsert: boolean,
  returnIds: boolean,
  required: boolean,
): Promise<WriteManyResult | { skipped: string }> {
  const config = ctx.config;
  const toCopyRow = (doc: unknown, index: number): IndexedCopyRow => ({
    index,
    row: prepareCopyRow(config, doc, `docs[${index}]`, upsert),
  });
  let rows: AsyncIterable<IndexedCopyRow>;
  if (Array.isArray(docs)) {
    // An array is validated whole before anything is sent, as on the INSERT path.
    const prepared = Array.from(docs as readonly unknown[], toCopyRow);
    // Generated ids are random UUIDs: checking them too costs nothing and cannot fail.
    checkDistinctIds(prepared.map((r) => r.row.id));
    rows = fromArray(prepared);
  } else {
    // Streamed adds keep nothing per row (the primary key refuses a repeated id, naming the row); upserts
    // refuse one here (the merge could not say which row).
    const ids = upsert ? new DistinctIds() : undefined;
    rows = mapSource(docs as Iterable<unknown> | AsyncIterable<unknown>, (doc, index) => {
      const row = toCopyRow(doc, index);
      ids?.check(row.row.id, index, true);
      return row;
    });
  }
  const result: CopyLoadResult | { unsupported: string } = await copyLoad({
    pool: config.pool as StorePool,
    config,
    rows,
    analyze: (n) => n >= config.analyzeThreshold,
    operation,
    upsert,
    returnIds,
    probe: !ctx.shared.copyWorks,
    translate: (error, label) => translateDatabaseError(error, ctx.errorContext(label)),
  });
  if ('unsupported' in result) {
    ctx.shared.copyRefused = result.unsupported;
    const skipped = `the server refused COPY: ${result.unsupported}`;
    if (required) throw argumentError(`method 'copy' is not possible here: ${skipped}`);
    return { skipped };
  }
  ctx.shared.copyWorks = true;
  return finishWrite(
    ctx,
    {
      inserted: result.inserted,
      updated: result.updated,
      ids: result.ids,
      batches: result.statements,
      analyzed: result.analyzed,
    },
    'copy',
    undefined,
  );
}

/** An array through multi-row INSERTs: all validated first; one transaction unless it is one small batch. */
async function insertArray(
  ctx: StoreContext,
  docs: readonly unknown[],
  batchSize: number,
  upsert: boolean,
  operation: string,
  returnIds: boolean,
): Promise<WrittenRows> {
  const prepared = Array.from(docs as readonly unknown[], (doc, i) => ctx.prepare(doc, `docs[${i}]`, upsert));
  checkDistinctIds(prepared.map((row) => row.id));
  const rows = prepared.map(buildRowSql);
  const batches = batchRows(rows, batchSize);
  const analyze = docs.length >= ctx.config.analyzeThreshold;
  const run = async (client: VectorStoreClient): Promise<WrittenRows> => {
    const written = new WrittenRows(returnIds);
    for (const [n, batch] of batches.entries()) {
      const label = `${operation}: batch ${n + 1} of ${batches.length} (docs[${batch.start}..${batch.start + batch.rows.length - 1}])`;
      written.add(await ctx.query<RawRow>(buildInsertSql(ctx.config, batch.rows, { upsert }), label, client));
    }
    if (analyze) await ctx.execute(buildAnalyzeSql(ctx.config), `${operation}: ANALYZE`, client);
    written.analyzed = analyze;
    return written;
  };
  if (batches.length === 0) return new WrittenRows(returnIds);
  return batches.length === 1 && !analyze ? run(ctx.client) : ctx.transaction(operation, run);
}

/**
 * An iterable through multi-row INSERTs in one transaction, `batchSize` documents validated and sent at a
 * time: an invalid document or a failing batch rolls back everything written before it.
 */
async function insertStream(
  ctx: StoreContext,
  docs: Iterable<unknown> | AsyncIterable<unknown>,
  batchSize: number,
  upsert: boolean,
  operation: string,
  returnIds: boolean,
): Promise<WrittenRows> {
  // Upserts refuse an id given twice (the second would silently win); adds too while the ids are kept
  // anyway (returnIds), naming both documents. Otherwise only within a chunk (bounded memory), and the
  // primary key refuses the rest: that error is then completed with the document (see duplicateDetail).
  const ids = upsert || returnIds ? new DistinctIds() : undefined;
  let failed: { readonly first: number; readonly ids: readonly (string | undefined)[] } | undefined;
  try {
    return await ctx.transaction(operation, async (client) => {
      const written = new WrittenRows(returnIds);
      let chunk: Sql[] = [];
      let chunkIds: (string | undefined)[] = [];
      let inChunk = new DistinctIds();
      let chunkStart = 0;
      let count = 0;
      const flush = async (): Promise<void> => {
        for (const batch of batchRows(chunk, batchSize)) {
          const first = chunkStart + batch.start;
          const label = `${operation}: batch of docs[${first}..${first + batch.rows.length - 1}]`;
          try {
            written.add(
              await ctx.query<RawRow>(buildInsertSql(ctx.config, batch.rows, { upsert }), label, client),
            );
          } catch (error) {
            if (isPgVectorError(error) && error.server?.sqlState === '23505') {
              failed = { first, ids: chunkIds.slice(batch.start, batch.start + batch.rows.length) };
            }
            throw error;
          }
        }
        chunkStart += chunk.length;
        chunk = [];
        chunkIds = [];
        inChunk = new DistinctIds();
      };
      for await (const doc of docs) {
        const row = ctx.prepare(doc, `docs[${count}]`, upsert);
        if (row.id !== undefined) (ids ?? inChunk).check(row.id, count, true);
        chunk.push(buildRowSql(row));
        chunkIds.push(row.id);
        count++;
        if (chunk.length >= batchSize) await flush();
      }
      if (chunk.length > 0) await flush();
      written.analyzed = count >= ctx.config.analyzeThreshold;
      if (written.analyzed) await ctx.execute(buildAnalyzeSql(ctx.config), `${operation}: ANALYZE`, client);
      return written;
    });
  } catch (error) {
    if (failed === undefined || !isPgVectorError(error)) throw error;
    throw withDetail(error, await duplicateDetail(ctx, failed.first, failed.ids, returnIds));
  }
}

/**
 * Which document of a batch the primary key refused (Prisma reports a unique violation without the
 * server's `Key (id)=(…)` detail): after the rollback, the batch's ids already in the table; otherwise one
 * given earlier in the load.
 */
async function duplicateDetail(
  ctx: StoreContext,
  first: number,
  ids: readonly (string | undefined)[],
  idsKept: boolean,
): Promise<string> {
  const range = `docs[${first}..${first + ids.length - 1}]`;
  const given = ids.filter((id): id is string => id !== undefined);
  if (ctx.inTransaction || given.length === 0) {
    return `${range}: one of these ids is already in the table or was given earlier in this load`;
  }
  let existing: Set<string>;
  try {
    const rows = await ctx.query<RawRow>(buildGetByIdsSql(ctx.config, given, false), 'duplicate check');
    existing = new Set(rows.map((r) => String(r.id)));
  } catch {
    return `${range}: one of these ids is already in the table or was given earlier in this load`;
  }
  const at = ids.findIndex((id) => id !== undefined && existing.has(id));
  if (at >= 0) return `docs[${first + at}].id '${ids[at]}' is already in the table`;
  return idsKept
    ? `${range}: one of these ids is already in the table or was given earlier in this load`
    : `${range}: one of these ids was given earlier in this load (with returnIds: false no ids are kept to say which)`;
}

/** The result of a bulk write, after the playbook's VACUUM (ANALYZE) when the write was large. */
async function finishWrite(
  ctx: StoreContext,
  written: Pick<WriteManyResult, 'inserted' | 'updated' | 'ids' | 'batches' | 'analyzed'>,
  method: WriteMethod,
  copySkipped: string | undefined,
): Promise<WriteManyResult> {
  // VACUUM cannot run in a transaction: only possible once our own transaction has committed.
  const vacuumed = written.analyzed && ctx.config.vacuumAfterBulk && !ctx.inTransaction;
  if (vacuumed) await ctx.maintain();
  return {
    inserted: written.inserted,
    updated: written.updated,
    ids: written.ids,
    batches: written.batches,
    analyzed: written.analyzed,
    vacuumed,
    vacuumRecommended: written.analyzed && !vacuumed,
    method,
    ...(copySkipped === undefined ? {} : { copySkipped }),
  };
}

/** The rows per INSERT: the option, or the store's `batchSize`. */
export function batchSizeOf(config: ResolvedStoreConfig, options: WriteManyOptions): number {
  const batchSize = options.batchSize ?? config.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BIND_PARAMETERS) {
    throw argumentError(
      `batchSize must be an integer from 1 to ${MAX_BIND_PARAMETERS}, got ${shownValue(batchSize)}`,
    );
  }
  return batchSize;
}

/** Ids of validated rows (not the documents: a getter must not be read twice) are distinct. */
function checkDistinctIds(rowIds: readonly (string | undefined)[]): void {
  const ids = new DistinctIds();
  rowIds.forEach((id, i) => {
    if (id !== undefined) ids.check(id, i, true);
  });
}

/** Rows returned by INSERT … RETURNING, counted (and their ids kept when asked). */
class WrittenRows {
  inserted = 0;
  updated = 0;
  batches = 0;
  analyzed = false;
  readonly ids: string[] = [];
  constructor(private readonly keepIds: boolean) {}

  add(rows: readonly RawRow[]): void {
    this.batches++;
    for (const row of rows) {
      if (row.inserted === false) this.updated++;
      else this.inserted++;
      if (this.keepIds) this.ids.push(String(row.id));
    }
  }
}

/** Refuses an id given twice in one bulk write (`docs[7].id 'a' repeats docs[2].id`). */
class DistinctIds {
  private readonly seen = new Map<string, number>();

  check(id: string, index: number, given: boolean): void {
    if (!given) return; // generated ids are unique
    const first = this.seen.get(id);
    if (first !== undefined) throw argumentError(`docs[${index}].id '${id}' repeats docs[${first}].id`);
    this.seen.set(id, index);
  }
}

function isIterable(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' ||
      typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
  );
}

async function* fromArray<V>(values: readonly V[]): AsyncGenerator<V> {
  yield* values;
}

async function* mapSource<V>(
  source: Iterable<unknown> | AsyncIterable<unknown>,
  fn: (value: unknown, index: number) => V,
): AsyncGenerator<V> {
  let index = 0;
  for await (const value of source) yield fn(value, index++);
}

/** The same error with a line added to its message (code, server fields, cause and fix kept). */
function withDetail(error: PgVectorError, detail: string): PgVectorError {
  const suffix = error.fix === undefined ? '' : `\nFix: ${error.fix}`;
  const message =
    suffix !== '' && error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message;
  return new PgVectorError(error.code, `${message}\n${detail}`, {
    cause: error.cause,
    ...(error.server === undefined ? {} : { server: error.server }),
    ...(error.fix === undefined ? {} : { fix: error.fix }),
  });
}

/** A snapshot of {@link WriteManyOptions}, unknown keys refused. */
function writeManyOptions(input: unknown): WriteManyOptions {
  const o = optionsOf(input, 'write options');
  const unknownKey = unknownOption(o, ['batchSize', 'method', 'returnIds']);
  if (unknownKey !== undefined) {
    throw argumentError(
      `unknown write option ${shownKey(unknownKey)}; options are: batchSize, method, returnIds`,
    );
  }
  return o as WriteManyOptions;
}

/** One INSERT's worth of rows, as {@link batchRows} splits them. */
export interface InsertBatch {
  /** Index of the batch's first document. */
  readonly start: number;
  readonly rows: Sql[];
}

/**
 * Splits rows into INSERT batches of at most `batchSize` rows and {@link MAX_BIND_PARAMETERS} bind
 * parameters (PostgreSQL's protocol limit per statement), keeping input order.
 *
 * ### Examples
 * ```ts
 * batchRows(rows, 500).map((b) => b.rows.length); // e.g. [500, 500, 37]
 * ```
 */
export function batchRows(rows: readonly Sql[], batchSize: number): InsertBatch[] {
  const batches: InsertBatch[] = [];
  let current: Sql[] = [];
  let params = 0;
  let start = 0;
  rows.forEach((row, i) => {
    const n = row.values.length;
    if (current.length > 0 && (current.length >= batchSize || params + n > MAX_BIND_PARAMETERS)) {
      batches.push({ start, rows: current });
      current = [];
      params = 0;
      start = i;
    }
    current.push(row);
    params += n;
  });
  if (current.length > 0) batches.push({ start, rows: current });
  return batches;
}
