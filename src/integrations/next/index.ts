// `prisma-pgvector/next`: the store in a Next.js (App Router) app — a hot-reload-safe singleton and route
// handlers. Node.js runtime only: ./runtime.js comes first and throws on the Edge runtime, naming the fix.

export {
  type HttpError,
  type HttpErrorBody,
  type HttpErrorCode,
  httpErrorOf,
  INPUT_ERROR_CODES,
  UNAVAILABLE_ERROR_CODES,
} from '../http-errors.js';
export * from '../requests.js';
export {
  addDocumentsRoute,
  errorResponse,
  type RouteHandler,
  type RouteOptions,
  readJsonBody,
  searchRoute,
} from './routes.js';
export { assertNodeRuntime, isEdgeRuntime, NODE_RUNTIME_FIX } from './runtime.js';
export { type NextVectorStoreParts, singleton, vectorStoreSingleton } from './singleton.js';
