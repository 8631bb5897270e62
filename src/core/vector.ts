/**
 * The vector codec: validation, pgvector's text and binary formats, and the SQL fragment that binds a vector
 * as a query parameter. Nothing else in the library formats or parses vectors.
 *
 * Which encoding works where (measured with pgvector 0.8.7 on PGlite 0.5 / PostgreSQL 18):
 * - `text` works with every driver: node-postgres, `@prisma/adapter-pg`, PGlite, `pglite-prisma-adapter`.
 * - `binary` works where the driver sends a `Uint8Array` parameter in binary format with an unspecified
 *   type, so that the server infers the type from the cast and runs the type's `recv` function:
 *   node-postgres and `@prisma/adapter-pg` (also through `@electric-sql/pglite-socket`). It does NOT work
 *   with in-process PGlite or `pglite-prisma-adapter`: PGlite turns parameters of non-built-in types into
 *   text, and the server rejects the bytes.
 */

import { raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import { PgVectorError } from './errors.js';
import type { VectorType } from './metric.js';

/** A dense vector as callers hold it. Values are stored as float4 (`vector`) or float2 (`halfvec`). */
export type DenseVectorInput = readonly number[] | Float32Array | Float64Array;

/**
 * A sparse vector: `indices` are ZERO-based (as in JavaScript arrays; the text format is one-based),
 * `values[i]` belongs to `indices[i]`, `dims` is the full length.
 */
export interface SparseVector {
  readonly indices: readonly number[];
  readonly values: readonly number[];
  readonly dims: number;
}

/** A sparse vector as a {@link SparseVector} or a map from zero-based index to value. */
export type SparseVectorInput = SparseVector | ReadonlyMap<number, number>;

/** A bit vector: booleans, or a string of `0` and `1` (first character = first bit). */
export type BitVectorInput = readonly boolean[] | string;

/** How a vector parameter travels to the server; see the module comment for which works where. */
export type VectorEncoding = 'binary' | 'text';

/**
 * The largest number of dimensions each type can store (pgvector's `*_MAX_DIM`; for `bit`, PostgreSQL's
 * limit). Indexes have lower limits; those are checked where indexes are built.
 */
export const MAX_DIMENSIONS = {
  vector: 16_000,
  halfvec: 16_000,
  sparsevec: 1_000_000_000,
  bit: 83_886_080,
} as const satisfies Record<VectorType, number>;

/** The most non-zero elements a `sparsevec` can store (pgvector's `SPARSEVEC_MAX_NNZ`). */
export const SPARSEVEC_MAX_NONZERO = 16_000;

/** Smallest float4 magnitude that pgvector's float4 → float2 conversion rounds to infinity (and rejects). */
const HALF_OVERFLOW = 65_520;
const PREVIEW_ELEMENTS = 3;

/**
 * A short rendering of a vector for messages: at most `max` elements, then how many were left out.
 *
 * ### Examples
 * ```ts
 * formatVectorPreview([0.12, 0.5, 0.3, 0.9]); // '[0.12, 0.5, 0.3, …1 more]'
 * ```
 */
export function formatVectorPreview(values: ArrayLike<unknown>, max = PREVIEW_ELEMENTS): string {
  const shown: string[] = [];
  for (let i = 0; i < Math.min(max, values.length); i++) shown.push(formatElement(values[i]));
  const rest = values.length - shown.length;
  return `[${shown.join(', ')}${rest > 0 ? `${shown.length > 0 ? ', ' : ''}…${rest} more` : ''}]`;
}

function formatElement(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function checkDims(dims: number, type: VectorType): void {
  if (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMENSIONS[type]) {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      `dimensions for type ${type} must be an integer from 1 to ${MAX_DIMENSIONS[type]}, got ${String(dims)}`,
    );
  }
}

function invalid(message: string): PgVectorError {
  return new PgVectorError('INVALID_VECTOR', message);
}

function mismatch(expected: number, actual: unknown, preview: string): PgVectorError {
  return new PgVectorError(
    'DIMENSION_MISMATCH',
    `expected ${expected} dimensions, got ${formatElement(actual)}: ${preview}`,
    {
      fix: 'embed with a model of the configured dimensions, or change the configured dimensions and the column type',
    },
  );
}

/** Checks one element; returns a reason when the column type cannot store it. */
function elementProblem(value: unknown, type: 'vector' | 'halfvec' | 'sparsevec'): string | undefined {
  if (typeof value !== 'number') return `is not a number (${formatElement(value)})`;
  if (Number.isNaN(value)) return 'is NaN';
  if (!Number.isFinite(value)) return `is ${value > 0 ? '' : '-'}Infinity`;
  const magnitude = Math.abs(Math.fround(value));
  if (magnitude === Number.POSITIVE_INFINITY || (type === 'halfvec' && magnitude >= HALF_OVERFLOW)) {
    return `(${value}) is out of range for type ${type}`;
  }
  return undefined;
}

/**
 * Checks that `input` is a dense vector of exactly `dims` finite numbers that fit the column type, and
 * returns it unchanged. Accepts `number[]`, `Float32Array` and `Float64Array`.
 *
 * Throws `DIMENSION_MISMATCH` for a wrong length and `INVALID_VECTOR` for anything else (not an array, empty,
 * NaN, ±Infinity, a non-number, a value out of float4 range — or of float2 range for `halfvec`), naming the
 * first bad index. Messages show at most three elements.
 *
 * ### Examples
 * ```ts
 * validateVector([0.1, 0.2, 0.3], 3);       // returns the array
 * validateVector([0.1, 0.2], 3);            // DIMENSION_MISMATCH: expected 3 dimensions, got 2: [0.1, 0.2]
 * validateVector([0.1, NaN, 0.3], 3);       // INVALID_VECTOR: element 1 is NaN: [0.1, NaN, 0.3]
 * validateVector([7e4], 1, 'halfvec');      // INVALID_VECTOR: element 0 (70000) is out of range for type halfvec
 * ```
 */
export function validateVector(
  input: unknown,
  dims: number,
  type: 'vector' | 'halfvec' = 'vector',
): DenseVectorInput {
  if (!(Array.isArray(input) || input instanceof Float32Array || input instanceof Float64Array)) {
    throw invalid(
      `a vector must be an array of numbers, a Float32Array or a Float64Array, got ${describe(input)}`,
    );
  }
  const values: ArrayLike<unknown> = input;
  if (values.length === 0) throw invalid('vector is empty');
  checkDims(dims, type);
  if (values.length !== dims) throw mismatch(dims, values.length, formatVectorPreview(values));
  for (let i = 0; i < values.length; i++) {
    const problem = elementProblem(values[i], type);
    if (problem !== undefined) throw invalid(`element ${i} ${problem}: ${formatVectorPreview(values)}`);
  }
  return input as DenseVectorInput;
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (ArrayBuffer.isView(input)) return input.constructor.name;
  return typeof input;
}

/**
 * The shortest decimal that reads back as the same float4, in JavaScript's number syntax (which pgvector's
 * parser accepts). `-0` keeps its sign. Nine significant digits always identify a float4, and reading back
 * is monotone in the number of digits (the finer decimal grid contains the coarser one, so rounding to more
 * digits never lands farther away). Most float4 values need eight or nine digits, so eight is probed first,
 * then fewer until one no longer reads back.
 */
function float4ToText(value: number): string {
  const f = Math.fround(value);
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  let best = Number(f.toPrecision(8));
  if (Math.fround(best) !== f) return String(Number(f.toPrecision(9)));
  for (let digits = 7; digits >= 1; digits--) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) !== f) break;
    best = candidate;
  }
  return String(best);
}

function denseText(values: DenseVectorInput): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = float4ToText(values[i] as number);
  return `[${parts.join(',')}]`;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function denseBinary(values: DenseVectorInput): Buffer {
  // The floats are written natively (one typed-array copy) and byte-swapped in place: ~10× faster than
  // writeFloatBE per element, which matters on the search path (1536 floats per query).
  const bytes = new ArrayBuffer(4 + 4 * values.length);
  const floats = new Float32Array(bytes, 4, values.length);
  floats.set(values);
  const buf = Buffer.from(bytes);
  if (LITTLE_ENDIAN) buf.subarray(4).swap32();
  buf.writeInt16BE(values.length, 0);
  buf.writeInt16BE(0, 2);
  return buf;
}

/**
 * The binary parameter of a dense query vector in one pass (each element read once, checked as
 * {@link validateVector} checks it, written as a float): `undefined` when anything is off — not an array of
 * `dims` numbers, an element not finite or out of range for `type` — and the caller then takes the checked
 * path, which says what. `zero` is true for a vector of zeros. Searches take this path (a 1536-float query
 * was read three times: copied, validated, written).
 */
export function denseBinaryParam(
  input: unknown,
  type: 'vector' | 'halfvec',
  dims: number,
): { readonly sql: Sql; readonly zero: boolean } | undefined {
  if (!(Array.isArray(input) || input instanceof Float32Array || input instanceof Float64Array))
    return undefined;
  const values = input as ArrayLike<unknown>;
  if (!Number.isInteger(dims) || dims < 1 || dims > MAX_DIMENSIONS[type] || values.length !== dims) {
    return undefined;
  }
  const bytes = new ArrayBuffer(4 + 4 * dims);
  const floats = new Float32Array(bytes, 4, dims);
  const limit = type === 'halfvec' ? HALF_OVERFLOW : Number.POSITIVE_INFINITY;
  let zero = true;
  for (let i = 0; i < dims; i++) {
    const v = values[i];
    if (typeof v !== 'number') return undefined;
    floats[i] = v;
    const magnitude = Math.abs(floats[i] as number);
    // NaN fails the comparison; a finite double beyond float4 became Infinity.
    if (!(magnitude < limit)) return undefined;
    if (magnitude !== 0) zero = false;
  }
  const buf = Buffer.from(bytes);
  if (LITTLE_ENDIAN) buf.subarray(4).swap32();
  buf.writeInt16BE(dims, 0);
  buf.writeInt16BE(0, 2);
  return {
    sql:
      type === 'vector'
        ? sql`${buf}${cast('vector', dims)}`
        : sql`${buf}${cast('vector', dims)}${cast('halfvec', dims)}`,
    zero,
  };
}

/**
 * pgvector's text format for `vector`: `[1,2.5,-0.125]`, each element the shortest decimal that reads back
 * as the same float4 (so `0.1` stays `0.1`, not `0.10000000149011612`). Validates first.
 *
 * ### Examples
 * ```ts
 * encodeVectorText([1, 2.5, -0.125]);            // '[1,2.5,-0.125]'
 * encodeVectorText(new Float32Array([0.1, -0])); // '[0.1,-0]'
 * ```
 */
export function encodeVectorText(values: DenseVectorInput): string {
  return denseText(validateVector(values, values.length));
}

/**
 * Text for `halfvec`: the same format as {@link encodeVectorText}; the server rounds each element to float2.
 * Validates first, rejecting values float2 cannot hold (|x| ≥ 65520).
 *
 * ### Examples
 * ```ts
 * encodeHalfvecText([1, 0.5]); // '[1,0.5]'
 * ```
 */
export function encodeHalfvecText(values: DenseVectorInput): string {
  return denseText(validateVector(values, values.length, 'halfvec'));
}

/**
 * pgvector's binary format for `vector` (what `vector_recv` reads): int16 dimensions, int16 0, then each
 * element as a big-endian float4. 4 + 4·dims bytes (6,148 for 1536 dims, against ~17 KB of text).
 * Validates first.
 *
 * ### Examples
 * ```ts
 * encodeVectorBinary([1, 2]); // <Buffer 00 02 00 00 3f 80 00 00 40 00 00 00>
 * ```
 */
export function encodeVectorBinary(values: DenseVectorInput): Buffer {
  return denseBinary(validateVector(values, values.length));
}

/**
 * Parses pgvector's text output (`vector` or `halfvec`, e.g. from `embedding::text`) into numbers, or into
 * a `Float32Array` with `{ float32: true }`. Throws `INVALID_VECTOR` for anything that is not a non-empty
 * `[n,n,…]` list of finite numbers.
 *
 * ### Examples
 * ```ts
 * parseVectorText('[1,2.5,-0.125]');                    // [1, 2.5, -0.125]
 * parseVectorText('[1,2.5]', { float32: true });        // Float32Array [1, 2.5]
 * ```
 */
export function parseVectorText(text: string): number[];
export function parseVectorText(text: string, options: { float32: true }): Float32Array;
export function parseVectorText(text: string, options?: { float32?: boolean }): number[] | Float32Array;
export function parseVectorText(text: string, options: { float32?: boolean } = {}): number[] | Float32Array {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  if (!trimmed.startsWith('[') || !trimmed.endsWith(']') || trimmed.length < 3) {
    throw invalid(`not a vector in text format: ${formatElement(text)}`);
  }
  const parts = trimmed.slice(1, -1).split(',');
  const out = options.float32 ? new Float32Array(parts.length) : new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = (parts[i] as string).trim();
    const value = part === '' ? Number.NaN : Number(part);
    if (!Number.isFinite(value))
      throw invalid(`element ${i} of the vector text is not a finite number: ${formatElement(part)}`);
    out[i] = value;
  }
  return out;
}

/**
 * Decodes pgvector's binary format for `vector` (see {@link encodeVectorBinary}). Throws `INVALID_VECTOR`
 * when the header and the length disagree.
 *
 * ### Examples
 * ```ts
 * decodeVectorBinary(encodeVectorBinary([1, 2])); // Float32Array [1, 2]
 * ```
 */
export function decodeVectorBinary(bytes: Uint8Array): Float32Array {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 4) {
    throw invalid('binary vector is shorter than its 4-byte header');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = view.getInt16(0);
  const unused = view.getInt16(2);
  if (dims < 1 || unused !== 0 || bytes.byteLength !== 4 + 4 * dims) {
    throw invalid(`binary vector header says ${dims} dimensions but it holds ${bytes.byteLength} bytes`);
  }
  const out = new Float32Array(dims);
  for (let i = 0; i < dims; i++) out[i] = view.getFloat32(4 + 4 * i);
  return out;
}

/**
 * Checks a sparse vector against the column's dimensions and returns it in canonical form: indices sorted
 * ascending, zeros dropped (pgvector does not store them). Indices must be distinct integers in
 * `[0, dims)`; values finite and within float4 range; at most {@link SPARSEVEC_MAX_NONZERO} non-zeros.
 *
 * Throws `DIMENSION_MISMATCH` when a {@link SparseVector}'s `dims` differs from `dims`, `INVALID_VECTOR`
 * otherwise.
 *
 * ### Examples
 * ```ts
 * validateSparseVector(new Map([[4, 2], [0, 0.5]]), 5); // { indices: [0, 4], values: [0.5, 2], dims: 5 }
 * validateSparseVector({ indices: [5], values: [1], dims: 5 }, 5); // INVALID_VECTOR: index 5 is outside [0, 5)
 * ```
 */
export function validateSparseVector(input: SparseVectorInput, dims: number): SparseVector {
  checkDims(dims, 'sparsevec');
  let pairs: [unknown, unknown][];
  if (input instanceof Map) {
    pairs = [...input.entries()];
  } else if (
    typeof input === 'object' &&
    input !== null &&
    Array.isArray((input as SparseVector).indices) &&
    Array.isArray((input as SparseVector).values)
  ) {
    const s = input as SparseVector;
    if (s.dims !== dims) throw mismatch(dims, s.dims, `sparse vector with ${s.indices.length} non-zeros`);
    if (s.indices.length !== s.values.length) {
      throw invalid(`sparse vector has ${s.indices.length} indices but ${s.values.length} values`);
    }
    pairs = s.indices.map((index, i) => [index, s.values[i]]);
  } else {
    throw invalid(`a sparse vector must be { indices, values, dims } or a Map, got ${describe(input)}`);
  }
  const seen = new Set<number>();
  const kept: [number, number][] = [];
  for (const [index, value] of pairs) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= dims) {
      throw invalid(`sparse vector index ${formatElement(index)} is outside [0, ${dims})`);
    }
    if (seen.has(index)) throw invalid(`sparse vector index ${index} appears twice`);
    seen.add(index);
    const problem = elementProblem(value, 'sparsevec');
    if (problem !== undefined) throw invalid(`sparse vector value at index ${index} ${problem}`);
    if (Math.fround(value as number) !== 0) kept.push([index, value as number]);
  }
  if (kept.length > SPARSEVEC_MAX_NONZERO) {
    throw invalid(
      `sparse vector has ${kept.length} non-zero elements; at most ${SPARSEVEC_MAX_NONZERO} are allowed`,
    );
  }
  kept.sort((a, b) => a[0] - b[0]);
  return { indices: kept.map((p) => p[0]), values: kept.map((p) => p[1]), dims };
}

function sparseDims(input: SparseVectorInput): number {
  if (input instanceof Map) {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      'a Map has no dimensions: pass { indices, values, dims } instead',
    );
  }
  return (input as SparseVector).dims;
}

function sparseText(s: SparseVector): string {
  const parts = s.indices.map((index, i) => `${index + 1}:${float4ToText(s.values[i] as number)}`);
  return `{${parts.join(',')}}/${s.dims}`;
}

function sparseBinary(s: SparseVector): Buffer {
  const nnz = s.indices.length;
  const buf = Buffer.allocUnsafe(12 + 8 * nnz);
  buf.writeInt32BE(s.dims, 0);
  buf.writeInt32BE(nnz, 4);
  buf.writeInt32BE(0, 8);
  for (let i = 0; i < nnz; i++) {
    buf.writeInt32BE(s.indices[i] as number, 12 + 4 * i);
    buf.writeFloatBE(s.values[i] as number, 12 + 4 * nnz + 4 * i);
  }
  return buf;
}

/**
 * pgvector's text format for `sparsevec`: `{index:value,…}/dims` with ONE-based indices. Validates and
 * canonicalises first ({@link validateSparseVector}).
 *
 * ### Examples
 * ```ts
 * encodeSparseVectorText({ indices: [0, 2], values: [0.5, 2], dims: 5 }); // '{1:0.5,3:2}/5'
 * ```
 */
export function encodeSparseVectorText(input: SparseVector): string {
  return sparseText(validateSparseVector(input, sparseDims(input)));
}

/**
 * pgvector's binary format for `sparsevec` (what `sparsevec_recv` reads): int32 dims, int32 non-zero count,
 * int32 0, the zero-based indices as int32, then the values as float4, all big-endian.
 *
 * ### Examples
 * ```ts
 * encodeSparseVectorBinary({ indices: [0, 2], values: [0.5, 2], dims: 5 }).length; // 28
 * ```
 */
export function encodeSparseVectorBinary(input: SparseVector): Buffer {
  return sparseBinary(validateSparseVector(input, sparseDims(input)));
}

/**
 * Parses pgvector's `sparsevec` text output (`{1:0.5,3:2}/5`) into a {@link SparseVector} with zero-based
 * indices. Throws `INVALID_VECTOR` on malformed text.
 *
 * ### Examples
 * ```ts
 * parseSparseVectorText('{1:0.5,3:2}/5'); // { indices: [0, 2], values: [0.5, 2], dims: 5 }
 * ```
 */
export function parseSparseVectorText(text: string): SparseVector {
  const match = typeof text === 'string' ? /^\s*\{([^}]*)\}\s*\/\s*(\d+)\s*$/.exec(text) : null;
  if (match === null) throw invalid(`not a sparse vector in text format: ${formatElement(text)}`);
  const dims = Number(match[2]);
  const body = (match[1] as string).trim();
  const map = new Map<number, number>();
  for (const pair of body === '' ? [] : body.split(',')) {
    const [index, value, extra] = pair.split(':').map((p) => p.trim());
    const i = Number(index);
    const v = value === undefined || value === '' ? Number.NaN : Number(value);
    if (extra !== undefined || !Number.isInteger(i) || !Number.isFinite(v)) {
      throw invalid(`malformed sparse vector element ${formatElement(pair)}`);
    }
    map.set(i - 1, v);
  }
  return validateSparseVector(map, dims);
}

/**
 * Checks a bit vector against the column's length and returns it as a string of `0`/`1`. Throws
 * `DIMENSION_MISMATCH` for a wrong length, `INVALID_VECTOR` for anything else.
 *
 * ### Examples
 * ```ts
 * validateBitVector([true, false, true], 3); // '101'
 * validateBitVector('10x', 3);               // INVALID_VECTOR: bit 2 is not 0 or 1 ("x")
 * ```
 */
export function validateBitVector(input: BitVectorInput, dims: number): string {
  let bits: string;
  if (typeof input === 'string') {
    const bad = input.search(/[^01]/);
    if (bad >= 0) throw invalid(`bit ${bad} is not 0 or 1 (${formatElement(input[bad])})`);
    bits = input;
  } else if (Array.isArray(input)) {
    const parts = new Array<string>(input.length);
    for (let i = 0; i < input.length; i++) {
      const b: unknown = input[i];
      if (typeof b !== 'boolean') throw invalid(`bit ${i} is not a boolean (${formatElement(b)})`);
      parts[i] = b ? '1' : '0';
    }
    bits = parts.join('');
  } else {
    throw invalid(`a bit vector must be a boolean[] or a string of 0 and 1, got ${describe(input)}`);
  }
  if (bits.length === 0) throw invalid('bit vector is empty');
  checkDims(dims, 'bit');
  if (bits.length !== dims) {
    throw mismatch(dims, bits.length, bits.length > 16 ? `${bits.slice(0, 16)}…` : bits);
  }
  return bits;
}

function bitBinary(bits: string): Buffer {
  const buf = Buffer.alloc(4 + Math.ceil(bits.length / 8));
  buf.writeInt32BE(bits.length, 0);
  for (let i = 0; i < bits.length; i++) {
    if (bits.charCodeAt(i) === 49) buf[4 + (i >> 3)] = (buf[4 + (i >> 3)] as number) | (0x80 >> (i & 7));
  }
  return buf;
}

/**
 * PostgreSQL's binary format for `bit(n)` (what `bit_recv` reads): int32 bit length, then the bits packed
 * most-significant first, the last byte zero-padded.
 *
 * ### Examples
 * ```ts
 * encodeBitBinary('101'); // <Buffer 00 00 00 03 a0>
 * ```
 */
export function encodeBitBinary(input: BitVectorInput): Buffer {
  return bitBinary(validateBitVector(input, input.length));
}

function cast(type: string, dims: number): Sql {
  return raw(`::${type}(${dims})`);
}

/**
 * The SQL fragment that binds a vector as ONE query parameter, cast to the column type with its dimensions
 * (so the server also checks the length). Validates the value first (see {@link validateVector},
 * {@link validateSparseVector}, {@link validateBitVector}). `encoding` defaults to `'text'`, which works
 * with every driver; `'binary'` is smaller and faster but needs a driver that sends `Uint8Array`
 * parameters in binary format (node-postgres, `@prisma/adapter-pg`; not PGlite in-process or
 * `pglite-prisma-adapter`).
 *
 * ### Examples
 * ```ts
 * const q = vectorParam(embedding, 'vector', 1536, 'binary');
 * await prisma.$queryRaw(sql`SELECT id FROM documents ORDER BY embedding <=> ${q} LIMIT 10`);
 * ```
 *
 * The generated SQL (PostgreSQL), per type and encoding:
 * ```sql
 * $1::vector(1536)                    -- vector, text '[…]' or binary
 * $1::halfvec(1536)                   -- halfvec, text
 * $1::vector(1536)::halfvec(1536)     -- halfvec, binary (sent as float4; the server rounds to float2)
 * $1::sparsevec(30000)                -- sparsevec, text '{i:v,…}/30000' or binary
 * $1::bit(64)                         -- bit, text '0101…' or binary
 * ```
 */
export function vectorParam(
  value: DenseVectorInput,
  type: 'vector' | 'halfvec',
  dims: number,
  encoding?: VectorEncoding,
): Sql;
export function vectorParam(
  value: SparseVectorInput,
  type: 'sparsevec',
  dims: number,
  encoding?: VectorEncoding,
): Sql;
export function vectorParam(value: BitVectorInput, type: 'bit', dims: number, encoding?: VectorEncoding): Sql;
export function vectorParam(
  value: DenseVectorInput | SparseVectorInput | BitVectorInput,
  type: VectorType,
  dims: number,
  encoding: VectorEncoding = 'text',
): Sql {
  if (encoding !== 'text' && encoding !== 'binary') {
    throw new PgVectorError(
      'INVALID_ARGUMENT',
      `encoding must be 'text' or 'binary', got ${formatElement(encoding)}`,
    );
  }
  const binary = encoding === 'binary';
  switch (type) {
    case 'vector': {
      const v = validateVector(value, dims, 'vector');
      return sql`${binary ? denseBinary(v) : denseText(v)}${cast('vector', dims)}`;
    }
    case 'halfvec': {
      const v = validateVector(value, dims, 'halfvec');
      if (binary) return sql`${denseBinary(v)}${cast('vector', dims)}${cast('halfvec', dims)}`;
      return sql`${denseText(v)}${cast('halfvec', dims)}`;
    }
    case 'sparsevec': {
      const s = validateSparseVector(value as SparseVectorInput, dims);
      return sql`${binary ? sparseBinary(s) : sparseText(s)}${cast('sparsevec', dims)}`;
    }
    case 'bit': {
      const bits = validateBitVector(value as BitVectorInput, dims);
      return sql`${binary ? bitBinary(bits) : bits}${cast('bit', dims)}`;
    }
    default:
      throw new PgVectorError('INVALID_ARGUMENT', `unknown vector type ${formatElement(type)}`);
  }
}
