/**
 * How a {@link PgVectorError} (or any other error) becomes an HTTP answer, for the Next.js route helpers and
 * the NestJS exception filter alike: the status, and a stable JSON body `{ error: { code, message } }` that
 * never carries a stack, a server message or a vector.
 */

import { PgVectorError, type PgVectorErrorCode } from '../index.js';

/** Codes of errors in what the caller sent: answered with 400. */
export const INPUT_ERROR_CODES = [
  'INVALID_VECTOR',
  'DIMENSION_MISMATCH',
  'INVALID_FILTER',
  'INVALID_ARGUMENT',
] as const satisfies readonly PgVectorErrorCode[];

/**
 * Codes of errors that pass when retried (the database or the embeddings API is briefly unreachable, busy or
 * slow): answered with 503.
 */
export const UNAVAILABLE_ERROR_CODES = [
  'CONNECTION_LOST',
  'POOL_EXHAUSTED',
  'QUERY_CANCELED',
  'EMBEDDING_FAILED',
  'EMBEDDING_TIMEOUT',
] as const satisfies readonly PgVectorErrorCode[];

/** `code` of an HTTP error body: a {@link PgVectorErrorCode}, or one of the HTTP layer's own. */
export type HttpErrorCode = PgVectorErrorCode | 'PAYLOAD_TOO_LARGE' | 'INTERNAL_ERROR';

/** The JSON body of every error answer. */
export interface HttpErrorBody {
  readonly error: { readonly code: HttpErrorCode; readonly message: string };
}

/** An error answer: its status and body. */
export interface HttpError {
  readonly status: 400 | 413 | 500 | 503;
  readonly body: HttpErrorBody;
}

/** Thrown by the route helpers when a body is larger than allowed; answered with 413. */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

const INPUT = new Set<string>(INPUT_ERROR_CODES);
const UNAVAILABLE = new Set<string>(UNAVAILABLE_ERROR_CODES);

/**
 * True for a {@link PgVectorError}, also one from a second copy of this package (an app that loads both the
 * ESM and the CommonJS build), where `instanceof` fails.
 */
export function looksLikePgVectorError(error: unknown): error is PgVectorError {
  if (error instanceof PgVectorError) return true;
  return (
    error instanceof Error &&
    error.name === 'PgVectorError' &&
    typeof (error as { code?: unknown }).code === 'string'
  );
}

/**
 * The HTTP answer to `error`: input errors → 400 with the library's message (it names the bad field, vectors
 * shortened); errors that pass when retried → 503; everything else → 500. 5xx bodies carry a fixed message:
 * the details (server fields, SQL state, cause) belong in the server's log, not in the answer.
 *
 * ### Examples
 * ```ts
 * httpErrorOf(new PgVectorError('DIMENSION_MISMATCH', 'embedding has 3 dimensions, expected 1536'));
 * // { status: 400, body: { error: { code: 'DIMENSION_MISMATCH', message: 'embedding has 3 dimensions, …' } } }
 * httpErrorOf(new Error('boom')); // { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: … } } }
 * ```
 */
export function httpErrorOf(error: unknown): HttpError {
  if (error instanceof PayloadTooLargeError) {
    return { status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE', message: error.message } } };
  }
  if (looksLikePgVectorError(error)) {
    if (INPUT.has(error.code)) {
      return { status: 400, body: { error: { code: error.code, message: error.message } } };
    }
    if (UNAVAILABLE.has(error.code)) {
      const message = 'The vector store is unavailable for the moment; try again.';
      return { status: 503, body: { error: { code: error.code, message } } };
    }
    const message = 'The vector store failed; the server log has the details.';
    return { status: 500, body: { error: { code: error.code, message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'Internal server error.' } } };
}
