/**
 * Every error this library throws on purpose is a {@link PgVectorError} with a stable {@link PgVectorErrorCode}.
 * Match on `code`, never on `message`: messages may be reworded, codes are part of the API.
 *
 * ### Examples
 * ```ts
 * try {
 *   await store.add({ content: 'x', embedding: [1, 2] });
 * } catch (e) {
 *   if (e instanceof PgVectorError && e.code === 'DIMENSION_MISMATCH') console.error(e.message);
 * }
 * ```
 */
export type PgVectorErrorCode =
  // configuration and input
  | 'INVALID_CONFIG'
  | 'INVALID_VECTOR'
  | 'DIMENSION_MISMATCH'
  | 'INVALID_FILTER'
  | 'INVALID_ARGUMENT'
  /** An optional package a door or function needs is not installed (the message names it and its version). */
  | 'MISSING_DEPENDENCY'
  // database and extension
  | 'EXTENSION_MISSING'
  | 'EXTENSION_TOO_OLD'
  | 'OPERATOR_MISMATCH'
  /** No vector index serves the query (none exists for the column/metric, or the planner does not use it). */
  | 'INDEX_NOT_USED'
  | 'INDEX_DIMENSION_LIMIT'
  | 'INDEX_ROW_TOO_LARGE'
  // index builds and maintenance (src/indexes/build.ts, src/ops/maintenance.ts)
  | 'INSUFFICIENT_TRAINING_DATA'
  | 'INDEX_BUILD_FAILED'
  | 'DATABASE_ERROR'
  | 'IN_TRANSACTION'
  // connections and server limits (a real server under load or failure: docs/STORE.md "Errors")
  /**
   * The connection broke or could not be made: the backend was terminated (`pg_terminate_backend`), the
   * server shut down, crashed or is restarting, or the network dropped. The pool drops that connection.
   */
  | 'CONNECTION_LOST'
  /** The server cancelled the statement: `statement_timeout`, or a cancel request (`pg_cancel_backend`). */
  | 'QUERY_CANCELED'
  /** No connection of the `pg.Pool` became free within its `connectionTimeoutMillis`. */
  | 'POOL_EXHAUSTED'
  // embedders (src/core/openai-embedder.ts)
  /** The embeddings API refused the request, or its retries ran out. */
  | 'EMBEDDING_FAILED'
  /** The embeddings API did not answer within the time limit (on the last try). */
  | 'EMBEDDING_TIMEOUT'
  /** The embeddings API answered with something that is not the vectors asked for. */
  | 'EMBEDDING_INVALID_RESPONSE'
  // embedded database
  | 'PORT_IN_USE'
  | 'DATA_DIR_LOCKED'
  | 'DATA_DIR_INCOMPATIBLE'
  | 'SERVER_WEDGED'
  // native server (src/embedded/native-server.ts)
  /** The native server cannot run on this machine: not Linux, not root, or no `debootstrap`. */
  | 'NATIVE_SERVER_UNAVAILABLE'
  /** The native root could not be built (mirror unreachable, debootstrap failed) or is broken and in use. */
  | 'NATIVE_ROOT_FAILED'
  /** A native cluster failed to initialise, start or stop (the server log's last lines are in the message). */
  | 'NATIVE_SERVER_FAILED';

/** Fields a PostgreSQL server sends with an error, kept when we translate one. */
export interface ServerErrorFields {
  /** SQLSTATE, e.g. `42883` (undefined_function). */
  readonly sqlState?: string | undefined;
  readonly detail?: string | undefined;
  readonly hint?: string | undefined;
  readonly constraint?: string | undefined;
  readonly table?: string | undefined;
  readonly column?: string | undefined;
  /** The server's own message, untouched. */
  readonly serverMessage?: string | undefined;
}

export interface PgVectorErrorOptions {
  readonly cause?: unknown;
  readonly server?: ServerErrorFields;
  /** What to do about it, in one sentence; appended to the message. */
  readonly fix?: string;
}

/** The one error class of this library. */
export class PgVectorError extends Error {
  override readonly name = 'PgVectorError';
  readonly code: PgVectorErrorCode;
  readonly server: ServerErrorFields | undefined;
  readonly fix: string | undefined;

  constructor(code: PgVectorErrorCode, message: string, options: PgVectorErrorOptions = {}) {
    super(options.fix ? `${message}\nFix: ${options.fix}` : message, { cause: options.cause });
    this.code = code;
    this.server = options.server;
    this.fix = options.fix;
  }
}

/** True when `e` is a {@link PgVectorError}, optionally with the given code. */
export function isPgVectorError(e: unknown, code?: PgVectorErrorCode): e is PgVectorError {
  return e instanceof PgVectorError && (code === undefined || e.code === code);
}
