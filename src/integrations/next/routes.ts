/**
 * Route handlers for the App Router (`app/api/…/route.ts`): `export const POST = searchRoute(getStore)`.
 * Each reads a JSON body (size-capped), runs the request with the store and answers JSON; every error
 * becomes a status and `{ error: { code, message } }` (input → 400, unavailable → 503, else 500), never
 * a stack. 5xx errors are passed to `onError` (default `console.error`) for the server log.
 */

import type { VectorStore } from '../../index.js';
import { PgVectorError } from '../../index.js';
import { type HttpError, httpErrorOf, PayloadTooLargeError } from '../http-errors.js';
import {
  type AddDocumentsRequestOptions,
  handleAddDocuments,
  handleSearch,
  type SearchRequestOptions,
} from '../requests.js';

type AnyStore<M extends object> = VectorStore<M, 'vector' | 'halfvec' | 'sparsevec' | 'bit'>;

/** Options every route helper takes. */
export interface RouteOptions {
  /** Largest body accepted, in bytes (→ 413 above). Default 1 MiB for searches, 16 MiB for adds. */
  readonly maxBodyBytes?: number;
  /** Called with every error answered with 5xx, for the server log. Default `console.error`. */
  readonly onError?: (error: unknown, answer: HttpError) => void;
}

/** A route handler of the App Router. */
export type RouteHandler = (request: Request) => Promise<Response>;

/**
 * The answer to an error, as `Response.json(body, { status })`; for handlers of your own.
 *
 * ### Examples
 * ```ts
 * export async function POST(req: Request) {
 *   try { … } catch (e) { return errorResponse(e); }
 * }
 * ```
 */
export function errorResponse(error: unknown, onError: RouteOptions['onError'] = logError): Response {
  const answer = httpErrorOf(error);
  if (answer.status >= 500) onError(error, answer);
  return Response.json(answer.body, { status: answer.status });
}

function logError(error: unknown): void {
  console.error('prisma-pgvector:', error);
}

/**
 * Reads a request's JSON body, refusing more than `maxBytes` (413) and anything that is not JSON (400
 * `INVALID_ARGUMENT`).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw new PayloadTooLargeError(`the body is larger than ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new PayloadTooLargeError(`the body is larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PgVectorError('INVALID_ARGUMENT', 'the body must be JSON (Content-Type: application/json)');
  }
}

function route<M extends object>(
  getStore: () => AnyStore<M>,
  maxBodyBytes: number,
  onError: RouteOptions['onError'],
  run: (store: AnyStore<M>, body: unknown) => Promise<{ status: number; body: unknown }>,
): RouteHandler {
  return async (request) => {
    try {
      const body = await readJsonBody(request, maxBodyBytes);
      const answer = await run(getStore(), body);
      return Response.json(answer.body, { status: answer.status });
    } catch (error) {
      return errorResponse(error, onError);
    }
  };
}

/**
 * `POST` handler of a search route. Body: `{ "query": "…" }` (embedded with the store's embedder) or
 * `{ "embedding": [...] }`, with optional `k`, `filter`, `minSimilarity` (see `handleSearch`). Answers 200
 * with `{ results: [{ id, content, metadata, similarity, distance, createdAt }], warnings }`.
 *
 * ### Examples
 * ```ts
 * // app/api/search/route.ts
 * import { searchRoute } from 'prisma-pgvector/next';
 * import { getStore } from '@/lib/vector-store';
 * export const runtime = 'nodejs';
 * export const POST = searchRoute(getStore, { maxK: 50 });
 * ```
 */
export function searchRoute<M extends object>(
  getStore: () => AnyStore<M>,
  options: SearchRequestOptions & RouteOptions = {},
): RouteHandler {
  const { maxBodyBytes = 1024 * 1024, onError = logError, ...limits } = options;
  return route(getStore, maxBodyBytes, onError, async (store, body) => ({
    status: 200,
    body: await handleSearch(store, body, limits),
  }));
}

/**
 * `POST` handler of an add-documents route. Body: `{ "documents": [{ content, metadata?, id?, embedding? }] }`
 * (all with an embedding, or none: then the store's embedder embeds `content`), added in one transaction.
 * Answers 201 with `{ ids, inserted, method }`.
 *
 * ### Examples
 * ```ts
 * // app/api/documents/route.ts
 * export const runtime = 'nodejs';
 * export const POST = addDocumentsRoute(getStore, { maxDocuments: 500 });
 * ```
 */
export function addDocumentsRoute<M extends object>(
  getStore: () => AnyStore<M>,
  options: AddDocumentsRequestOptions & RouteOptions = {},
): RouteHandler {
  const { maxBodyBytes = 16 * 1024 * 1024, onError = logError, ...limits } = options;
  return route(getStore, maxBodyBytes, onError, async (store, body) => ({
    status: 201,
    body: await handleAddDocuments(store, body, limits),
  }));
}
