/**
 * Failures of the connection rather than of a statement — what only a real server under load or failure
 * shows: a terminated backend, a server that shut down or crashed, a statement cut by `statement_timeout`, a
 * pool with no free connection. {@link translateDatabaseError} (src/core/translate-error.ts) uses these to give
 * them stable codes: `CONNECTION_LOST`, `QUERY_CANCELED`, `POOL_EXHAUSTED`.
 *
 * How they reach us (measured with `pg` 8.16 / `pg-pool` 3.14 / `@prisma/adapter-pg` 7.10 on PostgreSQL 17):
 *
 * | what happened | error |
 * |---|---|
 * | `pg_terminate_backend`, fast/immediate shutdown | SQLSTATE `57P01` (`terminating connection due to administrator command` / `… immediate shutdown command`) |
 * | a backend of the server crashed | `57P02` |
 * | server starting up / shutting down | `57P03` (`the database system is starting up`) |
 * | the socket broke under a write (e.g. mid-COPY) | `pg` raises `write EPIPE` / `ECONNRESET`, no SQLSTATE |
 * | the server went away between statements | `Connection terminated unexpectedly`, then `Client has encountered a connection error and is not queryable` |
 * | server down | `connect ECONNREFUSED 127.0.0.1:5432` |
 * | `statement_timeout`, `pg_cancel_backend` | `57014` (`canceling statement due to statement timeout` / `… user request`) |
 * | the same through Prisma Client (adapter-pg) | `P2010` whose `meta.driverAdapterError.cause.kind` is `DatabaseNotReachable`, `ConnectionClosed` or `SocketTimeout` |
 * | every pool connection checked out for `connectionTimeoutMillis` | `pg-pool`: `timeout exceeded when trying to connect` (also through Prisma Client, untouched) |
 *
 * A new connection that does not open within `connectionTimeoutMillis` is `Connection terminated due to
 * connection timeout` (the server, not the pool): `CONNECTION_LOST`.
 */

import type { PgVectorErrorCode } from './errors.js';

/** A connection failure with the code and fix it gets. */
export interface ConnectionFailure {
  readonly code: Extract<PgVectorErrorCode, 'CONNECTION_LOST' | 'POOL_EXHAUSTED'>;
  readonly message: string;
  readonly fix: string;
}

/** The fix of `CONNECTION_LOST`. */
export const CONNECTION_LOST_FIX =
  'the connection to PostgreSQL broke (a terminated backend, a server shutdown, crash or restart, or the ' +
  'network): the pool has dropped it and the next call opens a new one. A bulk write that failed this way ' +
  'rolled back whole, unless the connection broke during its COMMIT (the COPY path then says so; through ' +
  "Prisma's $transaction that moment cannot be told apart); retry it once the server answers — with ids " +
  'given, upsertMany can be retried safely';

/** The fix of `POOL_EXHAUSTED`. */
export const POOL_EXHAUSTED_FIX =
  'every connection of the pg.Pool stayed checked out for its connectionTimeoutMillis: release the clients ' +
  'you hold (client.release(), also on errors), raise the pool max (within the server max_connections), ' +
  'or raise connectionTimeoutMillis';

/** The fix of `QUERY_CANCELED`, by the server's message. */
export function queryCanceledFix(serverMessage: string): string {
  if (/statement timeout/.test(serverMessage)) {
    return (
      'the statement ran longer than statement_timeout (set on the role, the database, the connection or ' +
      'the pool options): make the search cheaper (an index its plan uses, see explainSearch; a smaller k ' +
      'or ef_search), raise statement_timeout for this workload, or look for a lock it waited on'
    );
  }
  return 'another session cancelled it (pg_cancel_backend) or the client sent a cancel request: run it again';
}

/** SQLSTATEs of a connection that is gone or cannot be used: class 08, and 57P01-57P03. */
export function isConnectionSqlState(sqlState: string | undefined): boolean {
  return sqlState !== undefined && (sqlState.startsWith('08') || /^57P0[1-3]$/.test(sqlState));
}

const SOCKET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const LOST_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^Connection closed/,
];

/** `pg-pool`'s error when no client became free within `connectionTimeoutMillis`. */
const POOL_TIMEOUT = 'timeout exceeded when trying to connect';

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * `@prisma/adapter-pg` maps socket errors to these kinds (`meta.driverAdapterError.cause.kind` of a Prisma
 * error, `Code: N/A` in its message): ECONNREFUSED/ENOTFOUND, ECONNRESET, ETIMEDOUT.
 */
const ADAPTER_LOST_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);

/** The driver adapter's error kind of a Prisma error or a bare `DriverAdapterError`. */
function adapterKind(e: Record<string, unknown>): string | undefined {
  const adapterError = e.name === 'DriverAdapterError' ? e : asRecord(asRecord(e.meta)?.driverAdapterError);
  const kind = asRecord(adapterError?.cause)?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/**
 * The connection failure `error` is — a socket error, `pg`'s "Connection terminated …" family, or
 * `pg-pool`'s checkout timeout — else `undefined`. Errors with a SQLSTATE are the server's: see
 * {@link isConnectionSqlState}. Prisma's own connection codes (`P1001` can't reach, `P1017` closed, `P2024`
 * pool timeout) count too.
 *
 * ### Examples
 * ```ts
 * connectionFailure(new Error('timeout exceeded when trying to connect')); // { code: 'POOL_EXHAUSTED', … }
 * connectionFailure(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })); // { code: 'CONNECTION_LOST', … }
 * ```
 */
export function connectionFailure(error: unknown): ConnectionFailure | undefined {
  const e = asRecord(error);
  if (e === undefined) return undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (message === POOL_TIMEOUT || code === 'P2024') {
    return {
      code: 'POOL_EXHAUSTED',
      message: `no free connection in the pool (${message})`,
      fix: POOL_EXHAUSTED_FIX,
    };
  }
  if (
    (code !== undefined && (SOCKET_CODES.has(code) || code === 'P1001' || code === 'P1017')) ||
    ADAPTER_LOST_KINDS.has(adapterKind(e) ?? '') ||
    LOST_MESSAGES.some((m) => m.test(message))
  ) {
    const lastLine = message.trim().split('\n').at(-1) ?? '';
    return {
      code: 'CONNECTION_LOST',
      message: `the connection to the server was lost (${lastLine})`,
      fix: CONNECTION_LOST_FIX,
    };
  }
  return undefined;
}
