/**
 * The COPY bulk path: rows go to the server as `COPY … FROM STDIN (FORMAT binary)` through a connection of
 * the application's `pg.Pool` (the store's `pool`, the one given to `@prisma/adapter-pg`), in one
 * transaction, streamed with backpressure so that memory does not grow with the number of rows. Vectors
 * travel in pgvector's binary format, written straight into the outgoing chunks (no buffer per row).
 */

import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CopyStreamQuery } from 'pg-copy-streams';
import { connectionFailure, isConnectionSqlState } from '../core/connection-errors.js';
import { PgVectorError } from '../core/errors.js';
import type { ResolvedStoreConfig } from './config.js';
import { type CopyEmbedding, copyEmbedding, prepareRowWith } from './input.js';
import {
  inPoolTransaction,
  type PoolConnectionState,
  PoolTransactionError,
  reasonOf,
  type StorePool,
  type StorePoolClient,
} from './pool.js';

/** pg-copy-streams, loaded on the first COPY rather than when the store is imported. */
async function copyFrom(statement: string): Promise<CopyStreamQuery> {
  return (await import('pg-copy-streams')).from(statement);
}

/** One validated row as the COPY path sends it. */
export interface CopyRow {
  readonly id: string;
  readonly content: string;
  readonly metadataJson: string | null;
  /** Dense values, or the column type's binary (`recv`) format; `null` for SQL NULL. */
  readonly embedding: CopyEmbedding | null;
  readonly createdAt?: Date;
}

/** A row with the index of its document in the input (for error messages). */
export interface IndexedCopyRow {
  readonly index: number;
  readonly row: CopyRow;
}

/** What a COPY load did. */
export interface CopyLoadResult {
  readonly inserted: number;
  /** Existing rows replaced (upserts only). */
  readonly updated: number;
  readonly ids: string[];
  /** COPY statements run (a new one every `statementBytes`, and when the column set changes). */
  readonly statements: number;
  readonly analyzed: boolean;
}

/** Options of {@link copyLoad}. */
export interface CopyLoadOptions {
  readonly pool: StorePool;
  readonly config: ResolvedStoreConfig;
  /** Validated rows, in input order; a rejection aborts the load (nothing lands). */
  readonly rows: AsyncIterable<IndexedCopyRow>;
  /**
   * Upsert: COPY into a temporary staging table (`LIKE` the table, dropped at commit), then one
   * `INSERT … SELECT … ON CONFLICT (id) DO UPDATE` into the table. Ids must be given and distinct.
   */
  readonly upsert?: boolean;
  /** Whether to run `ANALYZE` before the commit, given the number of rows written. */
  readonly analyze: (rows: number) => boolean;
  /** Error messages start with it, e.g. `addMany`. */
  readonly operation: string;
  /** Most COPY data per statement (the embedded server buffers one statement). */
  readonly statementBytes?: number;
  /** Whether to keep the ids of the written rows (memory grows with the rows). Default true. */
  readonly returnIds?: boolean;
  /**
   * First run a COPY of no rows and give up (`{ unsupported }`, nothing consumed, rolled back) when the
   * server or a proxy in between refuses COPY (SQLSTATE 0A000, or no CopyInResponse at all).
   */
  readonly probe?: boolean;
  /** Turns a database error into the store's typed error. */
  readonly translate: (error: unknown, operation: string) => unknown;
}

/**
 * Default most COPY data per statement: 16 MiB (≈ 2,700 rows of 1536 dimensions). A real server streams
 * it; the embedded server buffers one statement, so this bounds its memory too.
 */
export const COPY_STATEMENT_BYTES = 16 * 1024 * 1024;

/** Every value as its text (the merge's two counts are read with `Number`). */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value };

/** Encoded rows are handed to the socket in chunks of about this size. */
const CHUNK_BYTES = 256 * 1024;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
const TRAILER = Buffer.from([0xff, 0xff]);
/** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix milliseconds. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);

/**
 * Validates one document for the COPY path (the same checks and errors as the INSERT path). A missing id is
 * generated (`randomUUID()`, the format of the `documents` table's `gen_random_uuid()::text` default): COPY
 * cannot return the ids the server would pick.
 *
 * ### Examples
 * ```ts
 * prepareCopyRow(config, { content: 'x', embedding: v }, 'docs[0]', false); // { id: '…uuid…', … }
 * ```
 */
export function prepareCopyRow(
  config: ResolvedStoreConfig,
  doc: unknown,
  path: string,
  requireId: boolean,
): CopyRow {
  const cosine = config.metric === 'cosine';
  const row = prepareRowWith(doc, path, requireId, (value, at) => copyEmbedding(config, value, at, cosine));
  return row.id === undefined ? { ...row, id: randomUUID() } : (row as CopyRow);
}

const FLOAT_VIEW = new DataView(new ArrayBuffer(4));

/** IEEE 754 binary16 bits of a float32 value, rounded to nearest even (as C's `(_Float16) x`). */
export function toHalfBits(value: number): number {
  FLOAT_VIEW.setFloat32(0, value);
  const bits = FLOAT_VIEW.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (rest > midpoint || (rest === midpoint && (half & 1) === 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1) ? half + 1 : half);
}

/** Bytes of the embedding field's value (without its length word). */
function embeddingSize(embedding: CopyEmbedding, half: boolean): number {
  return embedding instanceof Uint8Array ? embedding.length : 4 + (half ? 2 : 4) * embedding.dense.length;
}

/** Bytes of one tuple: field count, then a length word and the value of each field. */
function tupleSize(row: CopyRow, withCreatedAt: boolean, half: boolean): number {
  return (
    2 +
    4 * (withCreatedAt ? 5 : 4) +
    Buffer.byteLength(row.id, 'utf8') +
    Buffer.byteLength(row.content, 'utf8') +
    (row.metadataJson === null ? 0 : 1 + Buffer.byteLength(row.metadataJson, 'utf8')) +
    (row.embedding === null ? 0 : embeddingSize(row.embedding, half)) +
    (withCreatedAt ? 8 : 0)
  );
}

/**
 * Writes one tuple of the binary COPY format for the columns `(id, content, metadata, embedding[,
 * created_at])` into `out` at `at` (room checked by the caller with {@link tupleSize}); returns the end.
 * `jsonb` is version byte 1 + JSON text, `vector` int16 dims, int16 0, float4 × dims big-endian, `halfvec`
 * the same with float2, timestamps µs since 2000-01-01 UTC.
 */
function writeTuple(
  out: Buffer,
  view: DataView,
  at: number,
  row: CopyRow,
  withCreatedAt: boolean,
  half: boolean,
) {
  let p = out.writeInt16BE(withCreatedAt ? 5 : 4, at);
  const text = (value: string, prefix?: number): void => {
    const start = p + 4 + (prefix === undefined ? 0 : 1);
    if (prefix !== undefined) out[p + 4] = prefix;
    const end = start + out.write(value, start, 'utf8');
    out.writeInt32BE(end - p - 4, p);
    p = end;
  };
  text(row.id);
  text(row.content);
  if (row.metadataJson === null) p = out.writeInt32BE(-1, p);
  else text(row.metadataJson, 1);
  const embedding = row.embedding;
  if (embedding === null) {
    p = out.writeInt32BE(-1, p);
  } else if (embedding instanceof Uint8Array) {
    p = out.writeInt32BE(embedding.length, p);
    out.set(embedding, p);
    p += embedding.length;
  } else {
    const values = embedding.dense;
    p = out.writeInt32BE(embeddingSize(embedding, half), p);
    p = out.writeInt16BE(values.length, p);
    p = out.writeInt16BE(0, p);
    if (half) {
      for (let i = 0; i < values.length; i++, p += 2) view.setUint16(p, toHalfBits(values[i] as number));
    } else {
      for (let i = 0; i < values.length; i++, p += 4) view.setFloat32(p, values[i] as number);
    }
  }
  if (withCreatedAt) {
    p = out.writeInt32BE(8, p);
    const micros = BigInt((row.createdAt as Date).getTime() - POSTGRES_EPOCH_MS) * 1000n;
    p = out.writeBigInt64BE(micros, p);
  }
  return p;
}

/** One tuple on its own (for tests and measurements; loads write tuples straight into their chunks). */
export function encodeCopyTuple(row: CopyRow, withCreatedAt: boolean, half = false): Buffer {
  const out = Buffer.alloc(tupleSize(row, withCreatedAt, half));
  writeTuple(out, new DataView(out.buffer, out.byteOffset, out.length), 0, row, withCreatedAt, half);
  return out;
}

/** Fills chunks of about {@link CHUNK_BYTES} with tuples; a chunk handed out is never written again. */
class ChunkWriter {
  private out = Buffer.allocUnsafe(0);
  private view = new DataView(this.out.buffer, 0, 0);
  private at = 0;

  /** Bytes in the current chunk. */
  get size(): number {
    return this.at;
  }

  /** Makes room for `bytes`; returns the full chunk to send first, if it had to start a new one. */
  reserve(bytes: number): Buffer | undefined {
    if (this.at + bytes <= this.out.length) return undefined;
    const full = this.at > 0 ? this.out.subarray(0, this.at) : undefined;
    this.out = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.view = new DataView(this.out.buffer, this.out.byteOffset, this.out.length);
    this.at = 0;
    return full;
  }

  bytes(data: Uint8Array): void {
    this.out.set(data, this.at);
    this.at += data.length;
  }

  tuple(row: CopyRow, withCreatedAt: boolean, half: boolean): void {
    this.at = writeTuple(this.out, this.view, this.at, row, withCreatedAt, half);
  }

  /** The current chunk, handed out; the writer starts a new one. */
  take(): Buffer {
    const full = this.out.subarray(0, this.at);
    this.out = Buffer.allocUnsafe(0);
    this.at = 0;
    return full;
  }
}

function copyStatement(config: ResolvedStoreConfig, table: string, withCreatedAt: boolean): string {
  const c = config.columns;
  const columns = [c.id, c.content, c.metadata, c.embedding, ...(withCreatedAt ? [c.createdAt] : [])];
  return `COPY ${table} (${columns.map((s) => s.text).join(', ')}) FROM STDIN (FORMAT binary)`;
}

/** The staging table of a COPY upsert (temporary: private to the session, dropped at commit). */
const STAGE = 'pg_temp."prisma_pgvector_upsert_stage"';

/** Moves the staged rows into the table: inserted or replacing content, metadata and embedding. */
function mergeStatement(config: ResolvedStoreConfig): string {
  const c = config.columns;
  const all = [c.id, c.content, c.metadata, c.embedding, c.createdAt].map((s) => s.text).join(', ');
  const set = [c.content, c.metadata, c.embedding].map((s) => `${s.text} = EXCLUDED.${s.text}`).join(', ');
  return (
    `WITH written AS (INSERT INTO ${config.table.text} (${all}) SELECT ${all} FROM ${STAGE} ` +
    `ON CONFLICT (${c.id.text}) DO UPDATE SET ${set} RETURNING (xmax = 0) AS inserted) ` +
    'SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, count(*)::int AS total FROM written'
  );
}

/**
 * Runs `statement` with no rows; returns why COPY is not available (SQLSTATE 0A000, or a protocol-level
 * failure such as a proxy that does not relay COPY), `undefined` when it works. Other server errors
 * (a missing table or column) are thrown: every bulk path would meet them.
 */
async function refusesCopy(client: StorePoolClient, statement: string): Promise<string | undefined> {
  try {
    await pipeline(
      Readable.from([Buffer.concat([HEADER, TRAILER])]),
      client.query(await copyFrom(statement)),
    );
    return undefined;
  } catch (error) {
    const sqlState = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    // A broken connection is not a refusal: remembering it would turn COPY off for the store's lifetime.
    if (connectionFailure(error) !== undefined || isConnectionSqlState(asSqlState(sqlState))) throw error;
    if (sqlState === '0A000' || typeof sqlState !== 'string') return message;
    throw error;
  }
}

/** The row of a binary COPY a server error points at (`COPY documents, line 3`), 1-based. */
function copyLine(error: unknown): number | undefined {
  const where = (error as { where?: unknown } | null)?.where;
  const line = typeof where === 'string' ? /COPY [^,]+, line (\d+)/.exec(where)?.[1] : undefined;
  return line === undefined ? undefined : Number(line);
}

/**
 * Loads `rows` with binary COPY statements in one transaction on a connection of `pool`: all rows land or
 * none. Rows stream from the iterable to the socket with backpressure; at most one chunk of encoded rows
 * (plus the socket's buffer) is held at a time. A validation error from the iterable aborts the COPY
 * (CopyFail), rolls back and is rethrown as is; a server error is translated and names the document the
 * server stopped at. `ANALYZE` runs before the commit when `analyze(rows)` says so.
 *
 * ### Examples
 * ```ts
 * await copyLoad({ pool, config, rows, analyze: (n) => n >= 1000, operation: 'addMany', translate });
 * ```
 *
 * The statements (PostgreSQL):
 * ```sql
 * BEGIN;
 * COPY "documents" ("id", "content", "metadata", "embedding") FROM STDIN (FORMAT binary); -- every 16 MiB
 * ANALYZE "documents";                                                                      -- if asked
 * COMMIT;
 * ```
 */
export async function copyLoad(
  options: CopyLoadOptions,
): Promise<CopyLoadResult | { readonly unsupported: string }> {
  const { config, operation } = options;
  const statementBytes = options.statementBytes ?? COPY_STATEMENT_BYTES;
  const returnIds = options.returnIds ?? true;
  const half = config.vectorType === 'halfvec';
  const load = async (
    client: StorePoolClient,
    connection: PoolConnectionState,
  ): Promise<CopyLoadResult | { unsupported: string }> => {
    const ids: string[] = [];
    let inserted = 0;
    let updated = 0;
    let statements = 0;
    if (options.probe === true) {
      const refused = await refusesCopy(client, copyStatement(config, config.table.text, false));
      if (refused !== undefined) return { unsupported: refused };
    }
    const target = options.upsert === true ? STAGE : config.table.text;
    if (options.upsert === true) {
      try {
        await client.query(
          `CREATE TEMPORARY TABLE ${STAGE} (LIKE ${config.table.text} INCLUDING DEFAULTS) ON COMMIT DROP`,
        );
      } catch (error) {
        throw options.translate(error, `${operation}: staging table`);
      }
    }
    const source = options.rows[Symbol.asyncIterator]();
    let lookahead: IndexedCopyRow | undefined;
    const next = async (): Promise<IndexedCopyRow | undefined> => {
      if (lookahead !== undefined) {
        const row = lookahead;
        lookahead = undefined;
        return row;
      }
      const result = await source.next();
      return result.done === true ? undefined : result.value;
    };
    for (let first = await next(); first !== undefined; first = await next()) {
      const withCreatedAt = first.row.createdAt !== undefined;
      const start = first.index;
      async function* statementData(): AsyncGenerator<Buffer> {
        const chunks = new ChunkWriter();
        chunks.reserve(HEADER.length);
        chunks.bytes(HEADER);
        let sent = 0;
        for (let current: IndexedCopyRow | undefined = first; current !== undefined; ) {
          const full = chunks.reserve(tupleSize(current.row, withCreatedAt, half));
          if (full !== undefined) {
            sent += full.length;
            yield full;
          }
          chunks.tuple(current.row, withCreatedAt, half);
          if (returnIds) ids.push(current.row.id);
          if (sent + chunks.size >= statementBytes) break;
          current = await next();
          if (current !== undefined && (current.row.createdAt !== undefined) !== withCreatedAt) {
            lookahead = current; // a different column set: a statement of its own
            break;
          }
        }
        const full = chunks.reserve(TRAILER.length);
        if (full !== undefined) yield full;
        chunks.bytes(TRAILER);
        yield chunks.take();
      }
      const stream = client.query(await copyFrom(copyStatement(config, target, withCreatedAt)));
      try {
        await pipeline(Readable.from(statementData()), stream);
      } catch (error) {
        if (error instanceof PgVectorError) throw error;
        const line = copyLine(error);
        const at = line === undefined ? `docs[${start}..]` : `docs[${start + line - 1}]`;
        throw options.translate(connection.reported() ?? error, `${operation}: COPY (${at})`);
      }
      inserted += stream.rowCount;
      statements++;
    }
    if (options.upsert === true && statements > 0) {
      try {
        const { rows } = await client.query({
          text: mergeStatement(config),
          values: [],
          types: TEXT_TYPES,
        });
        const merged = rows[0] as { inserted: string; total: string };
        inserted = Number(merged.inserted);
        updated = Number(merged.total) - inserted;
      } catch (error) {
        throw options.translate(error, `${operation}: INSERT … ON CONFLICT from the staged rows`);
      }
    }
    const analyzed = options.analyze(inserted + updated);
    if (analyzed) {
      try {
        await client.query(`ANALYZE ${config.table.text}`);
      } catch (error) {
        throw options.translate(error, `${operation}: ANALYZE`);
      }
    }
    return { inserted, updated, ids, statements, analyzed };
  };
  try {
    // A refused COPY (the probe) rolls back: nothing was consumed, the caller takes the INSERT path.
    return await inPoolTransaction(options.pool, load, (result) => !('unsupported' in result));
  } catch (error) {
    throw loadError(error, options);
  }
}

/** The typed error of a failed load, saying whether anything can have landed. */
function loadError(error: unknown, options: CopyLoadOptions): unknown {
  const { operation } = options;
  if (!(error instanceof PoolTransactionError)) {
    return error instanceof PgVectorError ? error : options.translate(error, operation);
  }
  if (error.step === 'connect') return options.translate(error.cause, `${operation}: connecting`);
  if (error.step === 'work') {
    const cause = error.cause;
    if (cause instanceof PgVectorError) return cause;
    return options.translate(reasonOf(error), operation);
  }
  const translated = options.translate(reasonOf(error), `${operation}: COMMIT`);
  if (!(translated instanceof PgVectorError) || translated.code !== 'CONNECTION_LOST') return translated;
  const message = translated.message.split('\nFix: ')[0] as string;
  return new PgVectorError(
    'CONNECTION_LOST',
    `${message}\nThe COMMIT was sent but its answer never came: the rows may or may not have landed.`,
    {
      cause: translated.cause,
      ...(translated.server === undefined ? {} : { server: translated.server }),
      fix: 'look the rows up by id (getByIds) once the server answers before loading them again, or retry with upsertMany (ids given): it is idempotent',
    },
  );
}

function asSqlState(code: unknown): string | undefined {
  return typeof code === 'string' ? code : undefined;
}
