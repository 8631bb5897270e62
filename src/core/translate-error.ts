/**
 * Turns errors from the database (as Prisma Client 7 surfaces them) into {@link PgVectorError}s that keep the
 * server's fields and name the fix for the pgvector errors users meet most.
 *
 * How Prisma 7 surfaces a driver error (measured with `@prisma/adapter-pg` 7.10 and `pglite-prisma-adapter`
 * 0.7): a `PrismaClientKnownRequestError` (code `P2010` for raw queries; `P2002` etc. for the errors Prisma
 * classifies) whose `meta.driverAdapterError` is `{ name: 'DriverAdapterError', cause }`, where `cause` is
 * `{ originalCode, originalMessage, kind, … }`: `kind: 'postgres'` carries `code`, `severity`, `message`,
 * `detail`, `column`, `hint`; classified kinds (`UniqueConstraintViolation`, `TableDoesNotExist`, …) carry
 * their own fields (`constraint`, `table`) and lose `detail`. The `error.message` is Prisma's
 * ("Invalid `prisma.$queryRaw()` invocation: … Raw query failed. Code: `42883`. Message: `…`").
 */

import {
  CONNECTION_LOST_FIX,
  connectionFailure,
  isConnectionSqlState,
  queryCanceledFix,
} from './connection-errors.js';
import { PgVectorError, type PgVectorErrorCode, type ServerErrorFields } from './errors.js';
import { METRICS, type Metric, metricsFor, opclassFor, VECTOR_TYPES, type VectorType } from './metric.js';

/** What the store was doing, for the message and the fix. */
export interface ErrorContext {
  /** The operation, e.g. `search` or `addMany: batch 2 of 4 (docs[500..999])`. */
  readonly operation: string;
  /** The table, for messages. */
  readonly tableName: string;
  /** The configured vector type and dimensions. */
  readonly vectorType: VectorType;
  readonly dimensions: number;
  /** The metric of the statement that failed (a search's metric, else the store's). */
  readonly metric: Metric;
}

/** The fix for a missing pgvector, shared by the version check and the error translation. */
export const EXTENSION_MISSING_FIX =
  'install pgvector on the server (Debian/Ubuntu: apt install postgresql-<major>-pgvector; Docker: the ' +
  'pgvector/pgvector image; managed services: allow the "vector" extension in the provider settings), then ' +
  'run CREATE EXTENSION vector in this database (the first migration does it: prisma migrate deploy)';

const LONG_LIST = /([[{])([^[\]{}]{60,})([\]}])/g;
const KEPT_CHARACTERS = 48;

/**
 * Shortens every long bracketed list in a text (a vector echoed by the server) to its first characters and
 * the number left out, so that error messages never carry whole vectors.
 *
 * ### Examples
 * ```ts
 * shortenVectorsIn(`invalid input syntax for type vector: "[${'0.1,'.repeat(1535)}0.1]"`);
 * // 'invalid input syntax for type vector: "[0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,…(6,095 more characters)]"'
 * ```
 */
export function shortenVectorsIn(text: string): string {
  return text.replace(LONG_LIST, (_list, open: string, body: string, close: string) => {
    const left = (body.length - KEPT_CHARACTERS).toLocaleString('en-US');
    return `${open}${body.slice(0, KEPT_CHARACTERS)}…(${left} more characters)${close}`;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function fieldsOf(cause: Record<string, unknown>): ServerErrorFields | undefined {
  const sqlState = text(cause.originalCode) ?? text(cause.code);
  if (sqlState === undefined || !/^[0-9A-Z]{5}$/.test(sqlState)) return undefined;
  const constraint = isObject(cause.constraint)
    ? (text(cause.constraint.index) ??
      (Array.isArray(cause.constraint.fields) ? cause.constraint.fields.join(', ') : undefined))
    : text(cause.constraint);
  const message = text(cause.originalMessage) ?? text(cause.message);
  const detail = text(cause.detail);
  return {
    sqlState,
    detail: detail === undefined ? undefined : shortenVectorsIn(detail),
    hint: text(cause.hint),
    constraint,
    table: text(cause.table),
    column: text(cause.column),
    serverMessage: message === undefined ? undefined : shortenVectorsIn(message),
  };
}

/**
 * The server's error fields, from any of the shapes a database error reaches us in: a Prisma Client
 * `PrismaClientKnownRequestError` (`meta.driverAdapterError.cause`), a bare `DriverAdapterError` (`cause`),
 * or a node-postgres `DatabaseError` (fields on the error). `undefined` when `error` is none of these.
 *
 * ### Examples
 * ```ts
 * serverErrorFields(prismaError); // { sqlState: '42883', serverMessage: 'operator does not exist: …', hint: '…' }
 * ```
 */
export function serverErrorFields(error: unknown): ServerErrorFields | undefined {
  if (!isObject(error)) return undefined;
  const meta = error.meta;
  if (isObject(meta) && isObject(meta.driverAdapterError) && isObject(meta.driverAdapterError.cause)) {
    return fieldsOf(meta.driverAdapterError.cause);
  }
  if (error.name === 'DriverAdapterError' && isObject(error.cause)) return fieldsOf(error.cause);
  if (typeof error.severity === 'string') return fieldsOf(error);
  return undefined;
}

function asVectorType(name: string | undefined): VectorType | undefined {
  return VECTOR_TYPES.find((t) => t === name);
}

function operatorFix(message: string, context: ErrorContext): string {
  const match = /operator does not exist: (\w+)(?:\(\d+\))? (\S+) (\w+)/.exec(message);
  const column = asVectorType(match?.[1]);
  const sent = asVectorType(match?.[3]);
  const metric = context.metric;
  const operator = METRICS[metric].operator;
  if (column !== undefined && sent !== undefined && column !== sent) {
    const available = metricsFor(column).includes(metric)
      ? `; on ${column}, '${metric}' is ${operator} with index opclass ${opclassFor(metric, column)}`
      : '';
    return `the column is ${column} but the store sends ${sent}: configure vectorType: '${column}'${available}`;
  }
  if (column !== undefined && !metricsFor(column).includes(metric)) {
    const valid = metricsFor(column)
      .map((m) => `'${m}' (${METRICS[m].operator}, ${opclassFor(m, column)})`)
      .join(', ');
    return `metric '${metric}' (${operator}) does not exist for ${column}; ${column} supports ${valid}`;
  }
  return (
    `metric '${metric}' uses ${operator}; the column must be ${context.vectorType} ` +
    `and its index built with ${opclassFor(metric, context.vectorType)}`
  );
}

interface Translation {
  readonly code: PgVectorErrorCode;
  readonly fix?: string;
}

function classify(fields: ServerErrorFields, context: ErrorContext): Translation {
  const message = fields.serverMessage ?? '';
  switch (fields.sqlState) {
    case '42883':
      if (message.startsWith('operator does not exist')) {
        return { code: 'OPERATOR_MISMATCH', fix: operatorFix(message, context) };
      }
      break;
    case '54000':
      if (/index row (size|requires)/.test(message)) {
        return {
          code: 'INDEX_ROW_TOO_LARGE',
          fix:
            'an index entry must fit in a page (8 kB): for a vector index store halfvec (indexable up to 4,000 ' +
            'dimensions) or index a binary quantization (bit, up to 64,000), or use fewer dimensions; for a ' +
            'btree index on a large text or JSON value, index a hash of it (md5) instead',
        };
      }
      break;
    case '22000': {
      const expected = /expected (\d+) dimensions, not (\d+)/.exec(message);
      if (expected !== null) {
        return {
          code: 'DIMENSION_MISMATCH',
          fix:
            `the column holds ${expected[1]} dimensions but the store is configured with dimensions: ` +
            `${context.dimensions}: configure dimensions: ${expected[1]}, or embed with a model of ${context.dimensions} dimensions and alter the column`,
        };
      }
      if (/different \w+ dimensions/.test(message)) {
        return {
          code: 'DIMENSION_MISMATCH',
          fix: `stored vectors and the query have different lengths: every vector in ${context.tableName} must have ${context.dimensions} dimensions`,
        };
      }
      break;
    }
    case '42704':
      if (/^type "(vector|halfvec|sparsevec)" does not exist/.test(message)) {
        return { code: 'EXTENSION_MISSING', fix: EXTENSION_MISSING_FIX };
      }
      break;
    case '58P01':
      if (message.includes('vector')) return { code: 'EXTENSION_MISSING', fix: EXTENSION_MISSING_FIX };
      break;
    case '25001':
      return {
        code: 'IN_TRANSACTION',
        fix: 'run it with the root Prisma client, outside $transaction',
      };
    case '42P01':
      return {
        code: 'DATABASE_ERROR',
        fix: `create the table (prisma migrate deploy), or configure table and schema (now ${context.tableName})`,
      };
    case '42703':
      return {
        code: 'DATABASE_ERROR',
        fix: `configure columns to match the columns of ${context.tableName}`,
      };
    case '22021':
    case '22P05':
      // The store refuses such text before SQL; this reaches SQL the store did not check (e.g. raw input).
      return {
        code: 'DATABASE_ERROR',
        fix: 'a text or JSON value holds a NUL character (\\u0000) or an unpaired UTF-16 surrogate, which PostgreSQL cannot store: remove or replace it',
      };
    case '57014':
      return { code: 'QUERY_CANCELED', fix: queryCanceledFix(message) };
  }
  if (isConnectionSqlState(fields.sqlState)) return { code: 'CONNECTION_LOST', fix: CONNECTION_LOST_FIX };
  return { code: 'DATABASE_ERROR' };
}

/**
 * Translates an error thrown by a database call into a {@link PgVectorError} with the server's fields kept
 * (`server.sqlState`, `detail`, `hint`, `constraint`, `table`, `column`, `serverMessage`) and the original
 * error as `cause`. `PgVectorError`s pass through unchanged; errors that do not come from the database
 * (programming errors) are returned as they are.
 *
 * | server error | SQLSTATE | code |
 * |---|---|---|
 * | `operator does not exist: vector <=> halfvec` | 42883 | `OPERATOR_MISMATCH` (fix names the operator and opclass) |
 * | `index row size … exceeds maximum …` | 54000 | `INDEX_ROW_TOO_LARGE` |
 * | `expected 1536 dimensions, not 768` | 22000 | `DIMENSION_MISMATCH` |
 * | `type "vector" does not exist`, `could not access file "$libdir/vector"` | 42704, 58P01 | `EXTENSION_MISSING` |
 * | `VACUUM cannot run inside a transaction block` | 25001 | `IN_TRANSACTION` |
 * | `canceling statement due to statement timeout` / `… user request` | 57014 | `QUERY_CANCELED` |
 * | `terminating connection due to administrator command`, a broken socket, a server that is down | 57P01-57P03, 08xxx, none | `CONNECTION_LOST` |
 * | `pg-pool`: `timeout exceeded when trying to connect` (no free connection) | none | `POOL_EXHAUSTED` |
 * | anything else, and Prisma's transaction errors (`P2028`, e.g. a timeout) | | `DATABASE_ERROR` |
 *
 * ### Examples
 * ```ts
 * try {
 *   await prisma.$queryRaw(sql);
 * } catch (error) {
 *   throw translateDatabaseError(error, { operation: 'search', tableName: 'documents', vectorType: 'vector', dimensions: 1536, metric: 'cosine' });
 * }
 * ```
 */
export function translateDatabaseError(error: unknown, context: ErrorContext): unknown {
  if (error instanceof PgVectorError) return error;
  const fields = serverErrorFields(error);
  if (fields !== undefined) {
    const { code, fix } = classify(fields, context);
    const where = fields.sqlState === undefined ? '' : ` (SQLSTATE ${fields.sqlState})`;
    return new PgVectorError(
      code,
      `${context.operation} failed${where}: ${fields.serverMessage ?? 'database error'}`,
      {
        cause: error,
        server: fields,
        ...(fix === undefined ? {} : { fix }),
      },
    );
  }
  const lost = connectionFailure(error);
  if (lost !== undefined) {
    return new PgVectorError(lost.code, `${context.operation} failed: ${lost.message}`, {
      cause: error,
      fix: lost.fix,
    });
  }
  if (isObject(error) && typeof error.code === 'string' && /^P\d{4}$/.test(error.code)) {
    const message = typeof error.message === 'string' ? error.message.trim().split('\n').at(-1) : undefined;
    return new PgVectorError(
      'DATABASE_ERROR',
      `${context.operation} failed (Prisma ${error.code}): ${shortenVectorsIn(message ?? '')}`,
      {
        cause: error,
        ...(error.code === 'P2028'
          ? {
              fix: 'the transaction timed out or could not start: raise transactionOptions.timeout / maxWait',
            }
          : {}),
      },
    );
  }
  return error;
}
