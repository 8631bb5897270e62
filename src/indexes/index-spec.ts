/**
 * Vector index specs → `CREATE INDEX` DDL: the one place this library writes index DDL.
 *
 * Every spec is checked BEFORE it reaches the database, against the limits pgvector 0.8 enforces (read from
 * pgvector's `src/hnsw.h`, `src/ivfflat.h`, `src/hnswutils.c` and confirmed on pgvector 0.8.7, see
 * tests/integration/indexes.test.ts), and every refusal names the fix:
 *
 * | limit | value | pgvector's own error |
 * |---|---|---|
 * | dimensions, `vector` | 2,000 | `column cannot have more than 2000 dimensions for hnsw index` |
 * | dimensions, `halfvec` | 4,000 | `… more than 4000 dimensions …` |
 * | dimensions, `bit` | 64,000 | `… more than 64000 dimensions …` |
 * | non-zero elements, `sparsevec` (HNSW only) | 1,000 per row | checked per row at build/insert time |
 * | HNSW `m` | 2..100 | `value 101 out of bounds for option "m"` |
 * | HNSW `ef_construction` | 4..1000 and ≥ 2·m | `ef_construction must be greater than or equal to 2 * m` |
 * | IVFFlat `lists` | 1..32768 | `value 0 out of bounds for option "lists"` |
 * | operator class | per type and method ({@link opclassFor}) | `operator class … does not exist for access method …` |
 * | index name | ≤ 63 bytes | (PostgreSQL silently truncates; Prisma's `map:` then no longer matches) |
 *
 * **`where` is raw SQL.** It is pasted into the DDL as written. It must come from your configuration or
 * your code, NEVER from user input: anything else is SQL injection. The only check made is that it holds no
 * `;` outside string literals (no second statement).
 */

import { createHash } from 'node:crypto';
import { PgVectorError } from '../core/errors.js';
import { type IndexMethod, type Metric, opclassFor, parseMetric, type VectorType } from '../core/metric.js';

/**
 * Index an expression instead of the bare column, for models above the `vector` index limit:
 * - `halfvec`: `("embedding"::halfvec(3072)) halfvec_cosine_ops` — half precision, up to 4,000 dimensions;
 * - `binary_quantize`: `(binary_quantize("embedding")::bit(3072)) bit_hamming_ops` — one bit per dimension,
 *   up to 64,000 dimensions, metric `hamming` or `jaccard`; re-rank the candidates with the full vectors.
 *
 * Queries must then ORDER BY the same expression (`"embedding"::halfvec(3072) <=> $1::halfvec(3072)`),
 * or the index is not used.
 */
export type IndexExpression = 'halfvec' | 'binary_quantize';

/** A vector index, as configuration. */
export interface IndexSpec {
  /** Table name (not quoted; it is quoted here). */
  readonly table: string;
  /** Schema of the table; omitted = unqualified (`search_path` decides, as in migrations). */
  readonly schema?: string | undefined;
  /** The vector column. */
  readonly column: string;
  /** Index name; default {@link defaultIndexName}. At most 63 bytes. */
  readonly name?: string | undefined;
  readonly method: IndexMethod;
  /** The column's type. */
  readonly type: VectorType;
  /** The column's dimensions (`vector(1536)` → 1536). */
  readonly dimensions: number;
  readonly metric: Metric;
  /** HNSW: neighbours per node, 2..100 (default 16). */
  readonly m?: number | undefined;
  /** HNSW: candidate list size while building, 4..1000 and ≥ 2·m (default max(64, 2·m)). */
  readonly efConstruction?: number | undefined;
  /** IVFFlat: number of lists, 1..32768 (default 100); see `adviseIndex` for a value. */
  readonly lists?: number | undefined;
  /**
   * Partial index predicate, RAW SQL pasted into the DDL: from configuration only, NEVER from user input
   * (SQL injection). E.g. `(metadata ->> 'type') = 'note'`.
   */
  readonly where?: string | undefined;
  /** Index an expression of the column; see {@link IndexExpression}. */
  readonly expression?: IndexExpression | undefined;
  /** `CREATE INDEX CONCURRENTLY`: no write lock, but not inside a transaction (so not in a Prisma migration). */
  readonly concurrently?: boolean | undefined;
  /** `IF NOT EXISTS`. */
  readonly ifNotExists?: boolean | undefined;
}

/** A spec with every default filled in and every check passed: what {@link indexDdl} renders. */
export interface ResolvedIndexSpec {
  readonly table: string;
  readonly schema: string | undefined;
  readonly column: string;
  readonly name: string;
  readonly method: IndexMethod;
  readonly type: VectorType;
  readonly dimensions: number;
  readonly metric: Metric;
  /** The type the index stores: `type`, or the expression's type. */
  readonly indexedType: VectorType;
  readonly opclass: string;
  /** `WITH (...)` parameters, in DDL order. */
  readonly params: Readonly<Record<string, number>>;
  readonly where: string | undefined;
  readonly expression: IndexExpression | undefined;
  readonly concurrently: boolean;
  readonly ifNotExists: boolean;
}

/**
 * How many dimensions (for `sparsevec`: non-zero elements per row) an HNSW or IVFFlat index accepts per
 * indexed type; pgvector 0.8's `HNSW_MAX_DIM`/`IVFFLAT_MAX_DIM` (2000), ×2 for halfvec, ×32 for bit,
 * `HNSW_MAX_NNZ` for sparsevec.
 */
export const INDEX_DIMENSION_LIMITS = {
  vector: 2_000,
  halfvec: 4_000,
  bit: 64_000,
  sparsevec: 1_000,
} as const satisfies Record<VectorType, number>;

/** pgvector's ranges for index parameters (`hnsw.h`, `ivfflat.h`) and its defaults. */
export const INDEX_PARAMETER_LIMITS = {
  m: { min: 2, max: 100, default: 16 },
  efConstruction: { min: 4, max: 1_000, default: 64 },
  lists: { min: 1, max: 32_768, default: 100 },
} as const;

/** PostgreSQL's longest identifier in bytes (NAMEDATALEN − 1); longer names are silently truncated. */
export const MAX_IDENTIFIER_BYTES = 63;

function configError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_CONFIG', message, fix === undefined ? {} : { fix });
}

/**
 * Quotes an identifier for PostgreSQL (`"a""b"`). Refuses empty names, NUL bytes and names longer than
 * 63 bytes (PostgreSQL would truncate them, and Prisma's `map:` would then not match the index).
 *
 * ### Examples
 * ```ts
 * quoteIdentifier('documents'); // '"documents"'
 * quoteIdentifier('My "T"');    // '"My ""T"""'
 * ```
 */
export function quoteIdentifier(name: string, what = 'identifier'): string {
  if (typeof name !== 'string' || name.length === 0) throw configError(`${what} must be a non-empty string`);
  if (name.includes('\0')) throw configError(`${what} contains a NUL byte`);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_IDENTIFIER_BYTES) {
    throw configError(
      `${what} "${name}" is ${bytes} bytes long; PostgreSQL keeps only ${MAX_IDENTIFIER_BYTES} and would truncate it`,
      `use a name of at most ${MAX_IDENTIFIER_BYTES} bytes`,
    );
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`, or `"table"` without a schema. */
export function qualifiedTable(table: string, schema?: string): string {
  const t = quoteIdentifier(table, 'table name');
  return schema === undefined ? t : `${quoteIdentifier(schema, 'schema name')}.${t}`;
}

/**
 * The default index name: `<table>_<column>[_halfvec|_bq]_<method>[_<metric>][_p<hash>]_idx`. The metric
 * is left out for the usual one (cosine; hamming for bits), so that the default for the common case reads
 * `documents_embedding_hnsw_idx`; a partial index gets 8 hex digits of the predicate's SHA-256.
 *
 * ### Examples
 * ```ts
 * defaultIndexName({ table: 'documents', column: 'embedding', method: 'hnsw', metric: 'cosine' });
 * // 'documents_embedding_hnsw_idx'
 * defaultIndexName({ table: 'documents', column: 'embedding', method: 'hnsw', metric: 'l2', expression: 'halfvec' });
 * // 'documents_embedding_halfvec_hnsw_l2_idx'
 * ```
 */
export function defaultIndexName(
  spec: Pick<IndexSpec, 'table' | 'column' | 'method' | 'metric' | 'expression' | 'where'>,
): string {
  const parts = [spec.table, spec.column];
  if (spec.expression === 'halfvec') parts.push('halfvec');
  if (spec.expression === 'binary_quantize') parts.push('bq');
  parts.push(spec.method);
  if (spec.metric !== 'cosine' && spec.metric !== 'hamming') parts.push(spec.metric.toLowerCase());
  if (spec.where !== undefined) {
    parts.push(`p${createHash('sha256').update(spec.where.trim()).digest('hex').slice(0, 8)}`);
  }
  parts.push('idx');
  return parts.join('_');
}

function checkInteger(name: string, value: number, min: number, max: number, fix: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw configError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`, fix);
  }
}

/** True when `sql` holds a `;` outside single-quoted literals, quoted identifiers and dollar quotes. */
function hasStatementSeparator(sql: string): boolean {
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const close = sql.indexOf(ch, i + 1);
      if (close < 0) return true; // unterminated: refuse, whatever it is
      i = close + 1;
      continue;
    }
    if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (tag !== undefined) {
        const close = sql.indexOf(tag, i + tag.length);
        if (close < 0) return true;
        i = close + tag.length;
        continue;
      }
    }
    if (ch === ';') return true;
    if (ch === '-' && sql[i + 1] === '-') return true; // a comment would swallow the rest of the DDL
    if (ch === '/' && sql[i + 1] === '*') return true;
    i += 1;
  }
  return false;
}

function indexedTypeOf(spec: IndexSpec): VectorType {
  switch (spec.expression) {
    case undefined:
      return spec.type;
    case 'halfvec':
      if (spec.type !== 'vector') {
        throw configError(
          `expression 'halfvec' casts a vector column to halfvec; the column is '${spec.type}'`,
          spec.type === 'halfvec'
            ? 'index the halfvec column directly (no expression)'
            : 'remove `expression`',
        );
      }
      return 'halfvec';
    case 'binary_quantize':
      if (spec.type !== 'vector' && spec.type !== 'halfvec') {
        throw configError(
          `expression 'binary_quantize' needs a vector or halfvec column; the column is '${spec.type}'`,
          'remove `expression`',
        );
      }
      return 'bit';
    default:
      throw configError(
        `unknown expression '${String(spec.expression)}'; valid: 'halfvec', 'binary_quantize'`,
      );
  }
}

function dimensionFix(spec: IndexSpec, indexedType: VectorType): string {
  const d = spec.dimensions;
  const col = spec.column;
  if (indexedType === 'vector') {
    return d <= INDEX_DIMENSION_LIMITS.halfvec
      ? `index \`${col}::halfvec(${d})\` (expression: 'halfvec', up to ${INDEX_DIMENSION_LIMITS.halfvec} dims) or quantise (\`binary_quantize(${col})::bit(${d})\`, expression: 'binary_quantize', metric 'hamming') and re-rank; or use a model with at most ${INDEX_DIMENSION_LIMITS.vector} dimensions`
      : `quantise: index \`binary_quantize(${col})::bit(${d})\` (expression: 'binary_quantize', metric 'hamming') and re-rank with the full vectors; or use a model with fewer dimensions`;
  }
  if (indexedType === 'halfvec') {
    return `quantise: index \`binary_quantize(${col})::bit(${d})\` (expression: 'binary_quantize', metric 'hamming', up to ${INDEX_DIMENSION_LIMITS.bit} dims) and re-rank; or reduce the dimensions`;
  }
  return 'reduce the dimensions (e.g. a model with Matryoshka embeddings truncated to fewer dimensions)';
}

/**
 * Checks a spec against pgvector's limits and fills in the defaults. Throws `INDEX_DIMENSION_LIMIT` when
 * the indexed type has too many dimensions and `INVALID_CONFIG` for anything else pgvector would refuse
 * (parameter ranges, operator class, names, a `where` with a second statement); each error names the fix.
 *
 * ### Examples
 * ```ts
 * resolveIndexSpec({ table: 'documents', column: 'embedding', method: 'hnsw', type: 'vector', dimensions: 3072, metric: 'cosine' });
 * // throws INDEX_DIMENSION_LIMIT: … Fix: index `embedding::halfvec(3072)` (expression: 'halfvec' …) or quantise …
 * ```
 */
export function resolveIndexSpec(spec: IndexSpec): ResolvedIndexSpec {
  if (spec.method !== 'hnsw' && spec.method !== 'ivfflat') {
    throw configError(`unknown index method '${String(spec.method)}'; valid: 'hnsw', 'ivfflat'`);
  }
  const metric = parseMetric(spec.metric);
  if (!Number.isInteger(spec.dimensions) || spec.dimensions < 1) {
    throw configError(`dimensions must be a positive integer, got ${String(spec.dimensions)}`);
  }
  const indexedType = indexedTypeOf(spec);
  // sparsevec: the limit is on non-zero elements per row, checked by pgvector row by row during the build.
  if (indexedType !== 'sparsevec' && spec.dimensions > INDEX_DIMENSION_LIMITS[indexedType]) {
    const what = spec.expression ? `${indexedType} expression` : `${indexedType} column`;
    throw new PgVectorError(
      'INDEX_DIMENSION_LIMIT',
      `${spec.dimensions} dims: a ${spec.method} index on a ${what} takes at most ${INDEX_DIMENSION_LIMITS[indexedType]} dimensions (pgvector's limit)`,
      { fix: dimensionFix(spec, indexedType) },
    );
  }
  if (
    indexedType === 'bit' &&
    spec.expression === 'binary_quantize' &&
    metric !== 'hamming' &&
    metric !== 'jaccard'
  ) {
    throw configError(
      `expression 'binary_quantize' indexes bits, and 'bit' supports: 'hamming', 'jaccard' (the index's metric); got '${metric}'`,
      `pass metric 'hamming' (--metric hamming); the store re-ranks the candidates by the full vectors with its own metric ('${metric}', indexExpression: 'binary_quantize')`,
    );
  }
  const opclass = opclassFor(metric, indexedType, spec.method);

  const params: Record<string, number> = {};
  if (spec.method === 'hnsw') {
    if (spec.lists !== undefined)
      throw configError('`lists` is an IVFFlat parameter', 'remove `lists` or use method ivfflat');
    const { m: mLim, efConstruction: efLim } = INDEX_PARAMETER_LIMITS;
    const m = spec.m ?? mLim.default;
    checkInteger(
      'm',
      m,
      mLim.min,
      mLim.max,
      'use m between 2 and 100 (16 is the default; 24-48 for high recall)',
    );
    const ef = spec.efConstruction ?? Math.max(efLim.default, 2 * m);
    checkInteger('efConstruction', ef, efLim.min, efLim.max, 'use ef_construction between 4 and 1000');
    if (ef < 2 * m) {
      throw configError(
        `ef_construction (${ef}) must be at least 2 × m (${2 * m}): pgvector refuses it`,
        `use efConstruction ≥ ${2 * m}, or a smaller m`,
      );
    }
    params.m = m;
    params.ef_construction = ef;
  } else {
    if (spec.m !== undefined || spec.efConstruction !== undefined) {
      throw configError('`m` and `efConstruction` are HNSW parameters', 'remove them or use method hnsw');
    }
    const lists = spec.lists ?? INDEX_PARAMETER_LIMITS.lists.default;
    const { min, max } = INDEX_PARAMETER_LIMITS.lists;
    checkInteger('lists', lists, min, max, 'use rows/1000 up to 1M rows, √rows above (see adviseIndex)');
    params.lists = lists;
  }

  let where: string | undefined;
  if (spec.where !== undefined) {
    where = spec.where.trim();
    if (where.length === 0) throw configError('`where` is empty', 'remove it or write the predicate');
    if (hasStatementSeparator(where)) {
      throw configError(
        '`where` holds a `;` or a comment outside quotes: it must be ONE predicate (raw SQL from configuration)',
        'remove the `;`/comment; never build `where` from user input',
      );
    }
  }
  const name = spec.name ?? defaultIndexName({ ...spec, metric });
  quoteIdentifier(name, 'index name');
  quoteIdentifier(spec.column, 'column name');
  qualifiedTable(spec.table, spec.schema);

  return {
    table: spec.table,
    schema: spec.schema,
    column: spec.column,
    name,
    method: spec.method,
    type: spec.type,
    dimensions: spec.dimensions,
    metric,
    indexedType,
    opclass,
    params,
    where,
    expression: spec.expression,
    concurrently: spec.concurrently ?? false,
    ifNotExists: spec.ifNotExists ?? false,
  };
}

/** The indexed key: `"col"`, `("col"::halfvec(n))` or `(binary_quantize("col")::bit(n))`. */
function keySql(spec: ResolvedIndexSpec): string {
  const col = quoteIdentifier(spec.column, 'column name');
  switch (spec.expression) {
    case 'halfvec':
      return `(${col}::halfvec(${spec.dimensions}))`;
    case 'binary_quantize':
      return `(binary_quantize(${col})::bit(${spec.dimensions}))`;
    default:
      return col;
  }
}

/**
 * The `CREATE INDEX` statement for a spec (checked with {@link resolveIndexSpec} first). Parameters are
 * always written out (`WITH (m = 16, ef_construction = 64)`), defaults included, so that they are reviewed.
 *
 * ### Examples
 * ```ts
 * indexDdl({ table: 'documents', column: 'embedding', method: 'hnsw', type: 'vector', dimensions: 1536, metric: 'cosine' });
 * indexDdl({ table: 'documents', column: 'embedding', method: 'hnsw', type: 'vector', dimensions: 3072,
 *            metric: 'cosine', expression: 'halfvec', concurrently: true });
 * ```
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * CREATE INDEX "documents_embedding_hnsw_idx" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64)
 * CREATE INDEX CONCURRENTLY "documents_embedding_halfvec_hnsw_idx" ON "documents" USING hnsw (("embedding"::halfvec(3072)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)
 * ```
 */
export function indexDdl(spec: IndexSpec | ResolvedIndexSpec): string {
  const r = 'opclass' in spec ? spec : resolveIndexSpec(spec);
  const withList = Object.entries(r.params)
    .map(([k, v]) => `${k} = ${v}`)
    .join(', ');
  return [
    'CREATE INDEX',
    r.concurrently ? ' CONCURRENTLY' : '',
    r.ifNotExists ? ' IF NOT EXISTS' : '',
    ` ${quoteIdentifier(r.name, 'index name')}`,
    ` ON ${qualifiedTable(r.table, r.schema)}`,
    ` USING ${r.method} (${keySql(r)} ${r.opclass})`,
    ` WITH (${withList})`,
    r.where === undefined ? '' : ` WHERE ${r.where}`,
  ].join('');
}

/**
 * `DROP INDEX [CONCURRENTLY] [IF EXISTS] "schema"."name"`: e.g. to remove an invalid index left by a failed
 * concurrent build before building it again.
 *
 * ### Examples
 * ```ts
 * dropIndexDdl('documents_embedding_hnsw_idx', { concurrently: true, ifExists: true });
 * // 'DROP INDEX CONCURRENTLY IF EXISTS "documents_embedding_hnsw_idx"'
 * ```
 */
export function dropIndexDdl(
  name: string,
  options: { schema?: string | undefined; concurrently?: boolean; ifExists?: boolean } = {},
): string {
  const target =
    options.schema === undefined
      ? quoteIdentifier(name, 'index name')
      : `${quoteIdentifier(options.schema, 'schema name')}.${quoteIdentifier(name, 'index name')}`;
  return `DROP INDEX${options.concurrently ? ' CONCURRENTLY' : ''}${options.ifExists ? ' IF EXISTS' : ''} ${target}`;
}

/**
 * The line that mirrors a vector index in schema.prisma, so that `prisma migrate dev` / `migrate diff` do
 * not drop it. `predicate` must be PostgreSQL's OWN rendering of the index predicate
 * (`pg_get_expr(indpred, indrelid)`, e.g. `((metadata ->> 'type'::text) = 'note'::text)`), or Prisma sees
 * drift; `createIndexMigration` reads it from a scratch database.
 *
 * ### Examples
 * ```ts
 * prismaIndexLine('embedding', 'documents_embedding_hnsw_idx');
 * // '@@index([embedding], map: "documents_embedding_hnsw_idx")'
 * prismaIndexLine('embedding', 'notes_idx', "((metadata ->> 'type'::text) = 'note'::text)");
 * // '@@index([embedding], map: "notes_idx", where: raw("((metadata ->> \'type\'::text) = \'note\'::text)"))'
 * ```
 */
export function prismaIndexLine(field: string, name: string, predicate?: string): string {
  const str = (s: string) => JSON.stringify(s);
  const where = predicate === undefined ? '' : `, where: raw(${str(predicate)})`;
  return `@@index([${field}], map: ${str(name)}${where})`;
}
