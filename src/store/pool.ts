/**
 * The store's direct path to the application's `pg.Pool` (the one given to `@prisma/adapter-pg`): binary
 * COPY for bulk loads (`store-copy.ts`) and, unless `searchVia: 'prisma'`, searches — the same SQL and
 * parameters the store would hand to `$queryRaw`, without Prisma's raw-query layer in between.
 */

import type { Sql } from '@prisma/client/runtime/client';
import { connectionFailure, isConnectionSqlState } from '../core/connection-errors.js';

/**
 * The part of a `pg.Pool` the store uses: pass the pool your `PrismaPg` adapter was built with, so that the
 * store shares its connections and settings.
 *
 * ### Examples
 * ```ts
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
 * const store = createVectorStore(prisma, { pool });
 * ```
 */
export interface StorePool {
  connect(): Promise<StorePoolClient>;
  query(config: PoolQuery): Promise<{ rows: unknown[] }>;
}

/** The part of a `pg.PoolClient` the store uses. */
export interface StorePoolClient {
  query(text: string): Promise<unknown>;
  query(config: PoolQuery): Promise<{ rows: unknown[] }>;
  query<S extends { submit(connection: never): void }>(stream: S): S;
  release(destroy?: boolean | Error): void;
  /**
   * `pg` emits `error` on a client whose connection breaks (a terminated backend, a server shutdown) and
   * `pg-pool` listens only while the client is idle: a checked-out client without a listener would crash
   * the process (an unhandled `error` event). The store listens while it holds a client.
   */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
}

/** A query as `pg` takes it, with the store's type parsers. */
export interface PoolQuery {
  readonly text: string;
  readonly values: unknown[];
  readonly types: { getTypeParser(oid: number, format?: string): (value: string) => unknown };
}

const TIMESTAMP_OID = 1114;
const NAIVE_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/;

/**
 * `pg`'s type parsers, except `timestamp` (without time zone): read as UTC, as Prisma reads its `DateTime`
 * columns (`pg` would read it in the process's local time zone).
 */
export function poolTypes(defaults: PoolQuery['types']): PoolQuery['types'] {
  return {
    getTypeParser(oid, format) {
      const parse = defaults.getTypeParser(oid, format);
      if (oid !== TIMESTAMP_OID || format === 'binary') return parse;
      return (value: string) =>
        NAIVE_TIMESTAMP.test(value) ? new Date(`${value.replace(' ', 'T')}Z`) : parse(value);
    },
  };
}

/**
 * A Prisma `Sql` as a `pg` query: the same text and values, with Dates sent as UTC ISO strings (a
 * `timestamp` column keeps the UTC wall time, as Prisma writes it; `pg` would send local time).
 */
export function toPoolQuery(statement: Sql, types: PoolQuery['types']): PoolQuery {
  return {
    text: statement.text,
    values: statement.values.map((v) => (v instanceof Date ? v.toISOString() : v)),
    types,
  };
}

/** Where {@link inPoolTransaction} was when it failed: a failure at `commit` leaves the outcome unknown. */
export type PoolTransactionStep = 'connect' | 'work' | 'commit';

/** What the work of {@link inPoolTransaction} can ask about its connection. */
export interface PoolConnectionState {
  /**
   * The server's own error (with a SQLSTATE, e.g. `57P01 terminating connection due to administrator
   * command`) when the connection reported one before it broke — more telling than the `write EPIPE` a
   * COPY then meets.
   */
  reported(): Error | undefined;
}

function serverReported(error: Error | undefined): Error | undefined {
  return typeof (error as { severity?: unknown } | undefined)?.severity === 'string' ? error : undefined;
}

/** Thrown by {@link inPoolTransaction}: the error, and the step it happened at. */
export class PoolTransactionError extends Error {
  override readonly name = 'PoolTransactionError';
  constructor(
    readonly step: PoolTransactionStep,
    override readonly cause: unknown,
    /** An `error` event of the connection (e.g. the server's `57P01` before it closed the socket). */
    readonly connectionError: Error | undefined,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * Runs `work` in one transaction on a connection of `pool`: `BEGIN`, then `COMMIT` — or `ROLLBACK` when
 * `work` throws or `commit(result)` says no. The connection goes back to the pool, or is destroyed when it
 * broke (an `error` event while held: listened to, so that it cannot crash the process) or even the rollback
 * failed (the server then rolls back as the connection closes). Failures are thrown as
 * {@link PoolTransactionError}s naming the step: `connect` (no connection: nothing ran), `work` (rolled
 * back), `commit` (the COMMIT was sent and failed: if the connection broke, whether it committed is
 * unknown).
 */
export async function inPoolTransaction<R>(
  pool: StorePool,
  work: (client: StorePoolClient, connection: PoolConnectionState) => Promise<R>,
  commit: (result: R) => boolean = () => true,
): Promise<R> {
  let client: StorePoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new PoolTransactionError('connect', error, undefined);
  }
  let broken: Error | undefined;
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on?.('error', onError);
  const state: PoolConnectionState = { reported: () => serverReported(lost) };
  let step: PoolTransactionStep = 'work';
  try {
    await client.query('BEGIN');
    const result = await work(client, state);
    const committing = commit(result);
    if (committing) step = 'commit';
    await client.query(committing ? 'COMMIT' : 'ROLLBACK');
    return result;
  } catch (error) {
    if (step === 'work') {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
    } else {
      broken = error instanceof Error ? error : new Error(String(error));
    }
    throw new PoolTransactionError(step, error, lost);
  } finally {
    client.removeListener?.('error', onError);
    client.release(lost ?? broken ?? false);
  }
}

/**
 * Runs one statement on a connection of `pool` and returns its rows. Not `pool.query`: `pg-pool` destroys
 * the connection after ANY error of a `pool.query` (a statement timeout, a unique violation), so every
 * failed search would cost a new connection (measured on PostgreSQL 17). Here the connection goes back to
 * the pool unless it broke.
 */
export async function poolQuery(pool: StorePool, statement: PoolQuery): Promise<unknown[]> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on?.('error', onError);
  let broken: Error | undefined;
  try {
    return (await client.query(statement)).rows;
  } catch (error) {
    if (lost !== undefined || brokeConnection(error)) broken = lost ?? (error as Error);
    throw serverReported(lost) ?? error;
  } finally {
    client.removeListener?.('error', onError);
    client.release(broken ?? false);
  }
}

/** Whether `error` means the connection itself is gone (not just the statement failed). */
function brokeConnection(error: unknown): boolean {
  const sqlState = (error as { code?: unknown } | null)?.code;
  return (
    connectionFailure(error) !== undefined || (typeof sqlState === 'string' && isConnectionSqlState(sqlState))
  );
}

/**
 * Runs `statements` in one transaction on a connection of `pool` and returns the last one's rows: how a
 * search with its `set_config(…, true)` settings runs on the pool.
 */
export async function poolTransaction(pool: StorePool, statements: readonly PoolQuery[]): Promise<unknown[]> {
  try {
    return await inPoolTransaction(pool, async (client) => {
      let rows: unknown[] = [];
      for (const statement of statements) rows = (await client.query(statement)).rows;
      return rows;
    });
  } catch (error) {
    // A search changes nothing: the step does not matter, the cause does.
    throw error instanceof PoolTransactionError ? reasonOf(error) : error;
  }
}

/**
 * The most telling error of a failed pool transaction: the server's own (with a SQLSTATE, e.g. `57P01
 * terminating connection due to administrator command`) when the connection reported one before breaking,
 * else the error the step threw (e.g. `write EPIPE`).
 */
export function reasonOf(error: PoolTransactionError): unknown {
  return serverReported(error.connectionError) ?? error.cause;
}
