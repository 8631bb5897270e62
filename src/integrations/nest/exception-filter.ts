/**
 * `PgVectorExceptionFilter`: a {@link PgVectorError} thrown in a route becomes an HTTP answer — input codes
 * 400, errors that pass when retried 503, the rest 500 — with the body `{ error: { code, message } }`
 * (5xx bodies carry a fixed message; the error itself goes to Nest's logger).
 */

import { type ArgumentsHost, Catch, HttpException, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { PgVectorError } from '../../index.js';
import { httpErrorOf } from '../http-errors.js';

/**
 * The `HttpException` a {@link PgVectorError} (or any error) maps to, with the stable body as its response
 * and the error as its cause; for filters or interceptors of your own.
 *
 * ### Examples
 * ```ts
 * toHttpException(new PgVectorError('INVALID_FILTER', 'unknown operator "$gt"')).getStatus(); // 400
 * ```
 */
export function toHttpException(error: unknown): HttpException {
  const answer = httpErrorOf(error);
  return new HttpException(answer.body, answer.status, { cause: error });
}

/**
 * Maps {@link PgVectorError}s to HTTP answers (through {@link toHttpException}); leaves every other error
 * to Nest. Register it for the whole app as a provider (Nest then gives it its HTTP adapter), or per
 * controller with `@UseFilters(PgVectorExceptionFilter)`.
 *
 * ### Examples
 * ```ts
 * providers: [{ provide: APP_FILTER, useClass: PgVectorExceptionFilter }]
 * // or, in main.ts:
 * app.useGlobalFilters(new PgVectorExceptionFilter(app.get(HttpAdapterHost).httpAdapter));
 * ```
 */
export class PgVectorExceptionFilter extends BaseExceptionFilter {
  private static readonly log = new Logger('PgVectorExceptionFilter');

  override catch(exception: PgVectorError, host: ArgumentsHost): void {
    const http = toHttpException(exception);
    if (http.getStatus() >= 500) {
      PgVectorExceptionFilter.log.error(`${exception.code}: ${exception.message}`, exception.stack);
    }
    super.catch(http, host);
  }
}

// The decorator, called as a function: this package is compiled without `experimentalDecorators`.
Catch(PgVectorError)(PgVectorExceptionFilter);
