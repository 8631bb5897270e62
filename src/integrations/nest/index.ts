// `prisma-pgvector/nest`: the store in a NestJS app — `PgVectorModule.forRoot` / `forRootAsync` over the
// app's Prisma service and pool, `@InjectVectorStore()`, and an exception filter mapping PgVectorError to HTTP.

export {
  type HttpError,
  type HttpErrorBody,
  type HttpErrorCode,
  httpErrorOf,
  INPUT_ERROR_CODES,
  UNAVAILABLE_ERROR_CODES,
} from '../http-errors.js';
export * from '../requests.js';
export { PgVectorExceptionFilter, toHttpException } from './exception-filter.js';
export { PgVectorModule, type PgVectorModuleAsyncOptions, type PgVectorModuleOptions } from './module.js';
export {
  InjectVectorStore,
  moduleOptionsToken,
  PGVECTOR_MODULE_OPTIONS,
  VECTOR_STORE,
  vectorStoreToken,
} from './tokens.js';
