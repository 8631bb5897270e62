/**
 * Validation of what callers hand the store — documents, ids, metadata, vectors — before any SQL runs.
 * Every error names where the bad value is (`docs[17].embedding: …`) and never shows a whole vector.
 */

import type { Sql } from '@prisma/client/runtime/client';
import { PgVectorError } from '../core/errors.js';
import {
  dateProblem,
  describeValue,
  MAX_DATE_YEAR,
  MIN_DATE_YEAR,
  quoted,
  textProblem,
} from '../core/input-checks.js';
import type { VectorType } from '../core/metric.js';
import {
  type BitVectorInput,
  type DenseVectorInput,
  denseBinaryParam,
  type SparseVector,
  type SparseVectorInput,
  type VectorEncoding,
  validateVector,
  vectorParam,
} from '../core/vector.js';
import type { ResolvedStoreConfig } from './config.js';
import type { RowValues } from './sql.js';

/** The vector a store of type `T` accepts: dense numbers, a sparse vector, or bits. */
export type EmbeddingInput<T extends VectorType> = T extends 'bit'
  ? BitVectorInput
  : T extends 'sparsevec'
    ? SparseVectorInput
    : DenseVectorInput;

/** The vector a store of type `T` returns: `number[]`, a {@link SparseVector} (zero-based), or a `0`/`1` string. */
export type Embedding<T extends VectorType> = T extends 'bit'
  ? string
  : T extends 'sparsevec'
    ? SparseVector
    : number[];

/**
 * A document to write. `id` defaults to the column default (`gen_random_uuid()::text` on `documents`) and
 * `createdAt` to `now()`; `metadata` is a JSON object; `embedding` may be left out (or `null`) and set later
 * with `update` — such rows are never returned by `search`.
 */
export interface DocumentInput<M extends object = Record<string, unknown>, T extends VectorType = 'vector'> {
  readonly id?: string;
  readonly content: string;
  readonly metadata?: M | null;
  readonly embedding?: EmbeddingInput<T> | null;
  readonly createdAt?: Date;
}

const DOCUMENT_KEYS = ['id', 'content', 'metadata', 'embedding', 'createdAt'];
const MAX_JSON_DEPTH = 100;

function argumentError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message, fix === undefined ? {} : { fix });
}

const describe = describeValue;

/** Plain object: `{}` or `Object.create(null)`, not a Date, Map or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Re-raises a validation error with the place it happened in front of its message, keeping code and fix.
 *
 * ### Examples
 * ```ts
 * atPath(error, 'docs[3].embedding'); // "docs[3].embedding: expected 1536 dimensions, got 3: […]"
 * ```
 */
export function atPath(error: unknown, path: string): unknown {
  if (!(error instanceof PgVectorError)) return error;
  const suffix = error.fix === undefined ? '' : `\nFix: ${error.fix}`;
  const message =
    suffix !== '' && error.message.endsWith(suffix) ? error.message.slice(0, -suffix.length) : error.message;
  return new PgVectorError(error.code, `${path}: ${message}`, {
    cause: error,
    ...(error.server === undefined ? {} : { server: error.server }),
    ...(error.fix === undefined ? {} : { fix: error.fix }),
  });
}

/**
 * Validates document content: a string without NUL characters (PostgreSQL text cannot store them) and
 * without unpaired UTF-16 surrogates (drivers turn them into U+FFFD: the text would change).
 *
 * ### Examples
 * ```ts
 * checkContent('hello', 'content'); // 'hello'
 * ```
 */
export function checkContent(value: unknown, path: string): string {
  return checkText(value, path);
}

function checkText(value: unknown, path: string): string {
  if (typeof value !== 'string') throw argumentError(`${path} must be a string, got ${describe(value)}`);
  const problem = textProblem(value);
  if (problem !== undefined) throw argumentError(`${path} has ${problem}`);
  return value;
}

/**
 * Validates a JSON value and returns a copy of it (each property read once; objects without a prototype,
 * so that a `__proto__` key stays a key): what is validated is what is stored.
 */
function copyJson(value: unknown, path: string, depth: number, open: Set<object>): unknown {
  if (depth > MAX_JSON_DEPTH) throw argumentError(`${path}: nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') return checkText(value, path);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw argumentError(`${path} is ${value}, which JSON cannot hold`);
    return value;
  }
  const array = Array.isArray(value);
  if (!array && !isPlainObject(value)) {
    throw argumentError(
      `${path} is ${describe(value)}, not a JSON value`,
      value instanceof Date ? 'store dates as ISO strings (date.toISOString())' : undefined,
    );
  }
  const object = value as object;
  if (open.has(object)) {
    throw argumentError(`${path} refers back to an enclosing object (a cycle), which JSON cannot hold`);
  }
  open.add(object);
  try {
    if (array) {
      // JSON.stringify writes null for undefined array elements, so does the copy.
      return Array.from(object as unknown[], (v, i) =>
        v === undefined ? null : copyJson(v, `${path}[${i}]`, depth + 1, open),
      );
    }
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(object)) {
      if (v === undefined) continue; // dropped, as JSON.stringify does
      checkText(k, `${path} key ${quoted(k)}`);
      out[k] = copyJson(v, `${path}.${k}`, depth + 1, open);
    }
    return out;
  } finally {
    open.delete(object);
  }
}

/**
 * Validates metadata (a plain JSON object, or `null`/`undefined` for none) and returns its JSON text, or
 * `null`. Rejects what JSON or `jsonb` would silently change or refuse: `NaN`/`Infinity`, Dates, Maps, class
 * instances, BigInts, NUL characters, unpaired UTF-16 surrogates, cycles. Keys whose value is `undefined` are
 * dropped, as `JSON.stringify` does. Each property is read once: the JSON is written from what was checked.
 *
 * ### Examples
 * ```ts
 * metadataJson({ type: 'article', tags: ['a'] }, 'metadata'); // '{"type":"article","tags":["a"]}'
 * metadataJson({ at: new Date() }, 'metadata');               // throws INVALID_ARGUMENT: metadata.at is a Date …
 * ```
 */
export function metadataJson(value: unknown, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value))
    throw argumentError(`${path} must be a plain object or null, got ${describe(value)}`);
  return JSON.stringify(copyJson(value, path, 0, new Set()));
}

/**
 * Validates an id (a non-empty string without NUL characters or unpaired UTF-16 surrogates: `'a\ud800'` and
 * `'a\udc00'` would both reach the server as `'a\ufffd'`, the same row).
 *
 * ### Examples
 * ```ts
 * checkId('doc-1', 'id'); // 'doc-1'
 * checkId(42, 'id');      // throws INVALID_ARGUMENT: id must be a string, got a number
 * ```
 */
export function checkId(value: unknown, path: string): string {
  const id = checkText(value, path);
  if (id === '') throw argumentError(`${path} is empty`);
  return id;
}

/**
 * Validates a list of ids (strings) and returns it without duplicates, in first-seen order.
 *
 * ### Examples
 * ```ts
 * checkIds(['a', 'b', 'a'], 'ids'); // ['a', 'b']
 * ```
 */
export function checkIds(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) throw argumentError(`${path} must be an array of ids, got ${describe(value)}`);
  return [...new Set(Array.from(value as unknown[], (id, i) => checkId(id, `${path}[${i}]`)))];
}

function isZeroVector(value: unknown): boolean {
  if (!(Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array)) return false;
  for (const x of value as Iterable<unknown>) if (x !== 0) return false;
  return true;
}

/**
 * Validates a vector for the store's column type and dimensions and returns it as ONE bind parameter with its
 * cast (`$1::vector(1536)`), in the given encoding. With the cosine metric, a zero vector is refused: its cosine
 * distance is undefined (NaN) and a cosine index does not hold it.
 *
 * ### Examples
 * ```ts
 * vectorSql(config, [0.1, 0.2, 0.3], 'embedding', 'binary'); // Sql: $1::vector(3) with a 16-byte Buffer
 * ```
 */
export function vectorSql(
  config: ResolvedStoreConfig,
  value: unknown,
  path: string,
  encoding: VectorEncoding,
  cosine: boolean,
): Sql {
  if (encoding === 'binary' && (config.vectorType === 'vector' || config.vectorType === 'halfvec')) {
    // One pass for a good vector; anything off takes the checked path below, which says what.
    const fast = denseBinaryParam(value, config.vectorType, config.dimensions);
    if (fast !== undefined && !(cosine && fast.zero)) return fast.sql;
  }
  return checkedEmbedding(value, path, cosine, (v) => embeddingParam(config, v, encoding));
}

/**
 * An embedding as the COPY path writes it: dense values (`vector`, `halfvec`) validated and written straight
 * into the COPY buffer, or the type's binary format (`sparsevec`, `bit`).
 */
export type CopyEmbedding = { readonly dense: DenseVectorInput } | Uint8Array;

/**
 * Validates a vector like {@link vectorSql} (same checks, same errors) for the COPY path: dense values are
 * returned as they are (no intermediate buffer), `sparsevec` and `bit` in their binary formats.
 *
 * ### Examples
 * ```ts
 * copyEmbedding(config, [0.1, 0.2, 0.3], 'docs[0].embedding', true); // { dense: [0.1, 0.2, 0.3] }
 * ```
 */
export function copyEmbedding(
  config: ResolvedStoreConfig,
  value: unknown,
  path: string,
  cosine: boolean,
): CopyEmbedding {
  return checkedEmbedding(value, path, cosine, (v) => {
    const type = config.vectorType;
    if (type === 'vector' || type === 'halfvec') return { dense: validateVector(v, config.dimensions, type) };
    return embeddingParam(config, v, 'binary').values[0] as Uint8Array;
  });
}

function checkedEmbedding<R>(
  input: unknown,
  path: string,
  cosine: boolean,
  encode: (value: unknown) => R,
): R {
  try {
    // An array is copied first (each element read once): what is validated is what is encoded. Typed
    // arrays cannot have getters.
    const value = Array.isArray(input) ? Array.from(input as unknown[]) : input;
    if (cosine && isZeroVector(value)) {
      throw new PgVectorError(
        'INVALID_VECTOR',
        'a zero vector has no cosine distance (NaN); an index skips it',
        {
          fix: 'normalise vectors before storing them, or use the l2 or innerProduct metric',
        },
      );
    }
    return encode(value);
  } catch (error) {
    throw atPath(error, path);
  }
}

function embeddingParam(config: ResolvedStoreConfig, value: unknown, encoding: VectorEncoding): Sql {
  switch (config.vectorType) {
    case 'vector':
    case 'halfvec':
      return vectorParam(value as DenseVectorInput, config.vectorType, config.dimensions, encoding);
    case 'sparsevec':
      return vectorParam(value as SparseVectorInput, 'sparsevec', config.dimensions, encoding);
    case 'bit':
      return vectorParam(value as BitVectorInput, 'bit', config.dimensions, encoding);
  }
}

/**
 * Validates one document and returns its values ready to bind (see {@link RowValues}). Unknown keys are
 * refused (a typo such as `embeding` would otherwise store a row without a vector). With `requireId`
 * (upserts), `id` must be given.
 *
 * ### Examples
 * ```ts
 * prepareRow(config, { content: 'hello', metadata: { type: 'note' }, embedding: v }, 'docs[0]', 'binary', false);
 * ```
 */
export function prepareRow(
  config: ResolvedStoreConfig,
  doc: unknown,
  path: string,
  encoding: VectorEncoding,
  requireId: boolean,
): RowValues {
  const cosine = config.metric === 'cosine';
  return prepareRowWith(doc, path, requireId, (value, at) => vectorSql(config, value, at, encoding, cosine));
}

/** The fields of a validated document, with the embedding as `embed` turned it into. */
export type PreparedRow<E> = Omit<RowValues, 'embedding'> & { readonly embedding: E | null };

/**
 * {@link prepareRow} with the embedding validated and encoded by `embed` (called with the value and its
 * path, e.g. `docs[3].embedding`): the INSERT path binds it as a parameter, the COPY path writes it.
 */
export function prepareRowWith<E>(
  doc: unknown,
  path: string,
  requireId: boolean,
  embed: (value: unknown, path: string) => E,
): PreparedRow<E> {
  if (!isPlainObject(doc)) throw argumentError(`${path} must be a document object, got ${describe(doc)}`);
  // One snapshot: each field is read exactly once (a getter cannot pass validation with one value and be
  // written with another).
  const fields: Partial<Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!DOCUMENT_KEYS.includes(key)) {
      throw argumentError(
        `${path} has an unknown key ${/^[\w$]{1,40}$/.test(key) ? `'${key}'` : quoted(key)}; documents have: ${DOCUMENT_KEYS.join(', ')}`,
      );
    }
    fields[key] = value;
  }
  const { id, content, metadata, embedding: vector, createdAt } = fields;
  if (requireId && id === undefined) throw argumentError(`${path}.id is required to upsert`);
  if (createdAt !== undefined) {
    const problem = dateProblem(createdAt);
    if (problem !== undefined) {
      throw argumentError(
        `${path}.createdAt must be a valid Date in years ${MIN_DATE_YEAR}-${MAX_DATE_YEAR}, got ${problem}`,
      );
    }
  }
  const checkedId = id === undefined ? undefined : checkId(id, `${path}.id`);
  const checkedContent = checkText(content, `${path}.content`);
  const json = metadataJson(metadata, `${path}.metadata`);
  const embedding = vector === undefined || vector === null ? null : embed(vector, `${path}.embedding`);
  return {
    ...(checkedId === undefined ? {} : { id: checkedId }),
    content: checkedContent,
    metadataJson: json,
    embedding,
    // A copy: the caller's Date could change before the row is sent.
    ...(createdAt === undefined ? {} : { createdAt: new Date((createdAt as Date).getTime()) }),
  };
}
