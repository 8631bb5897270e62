/**
 * Filter index specs → `CREATE INDEX` DDL, and which of them serves which part of a metadata filter.
 *
 * The indexed expressions are the TEXT of `src/core/filter-expressions.ts`, the same text the filter compiler
 * writes into queries, so that the planner sees one expression on both sides:
 *
 * | kind | DDL (table `documents`, key `price`) | serves | schema.prisma |
 * |---|---|---|---|
 * | `gin` | `USING gin ("metadata" jsonb_path_ops)` | equality, `in`, `contains` on any key (`"metadata" @> $1::jsonb`) | `@@index([metadata(ops: JsonbPathOps)], map: "…", type: Gin)` |
 * | `string` | `USING btree (((CASE WHEN jsonb_typeof(("metadata" -> 'day')) = 'string' THEN ("metadata" ->> 'day') END)))` | string equality, `in`, ranges (ISO dates) on that key, with no per-row type test | none (Prisma ignores expression indexes) |
 * | `text` | `USING btree ((("metadata" ->> 'price')))` | text equality, `in`, ranges on that key (with a per-row type test beside the condition) | none |
 * | `number` | `USING btree (((CASE WHEN jsonb_typeof(("metadata" -> 'price')) = 'number' THEN ("metadata" -> 'price')::numeric END)))` | numeric ranges on that key | none |
 * | `createdAt` | `USING btree ("created_at")` | `createdAt` ranges | `@@index([createdAt], map: "…")` |
 *
 * Partial vector indexes (`WHERE ((metadata ->> 'k'::text) = 'v'::text)`) are vector index specs with
 * `where`: see `index-spec.ts`.
 *
 * The schema.prisma column was measured with the real Prisma 7 CLI (`migrate diff`, both directions): an
 * expression index is invisible to Prisma's introspection, and a `@@index([metadata], map: "…")` line for it
 * makes Prisma CREATE a plain B-tree on the column — so none is written for `text` and `number`.
 */

import { createHash } from 'node:crypto';
import { PgVectorError } from '../core/errors.js';
import {
  isIndexableKeyPath,
  metadataNumberExpression,
  metadataStringExpression,
  metadataTextExpression,
} from '../core/filter-expressions.js';
import { MAX_IDENTIFIER_BYTES, qualifiedTable, quoteIdentifier } from './index-spec.js';

/** The filter index kinds; see the table above. */
export const FILTER_INDEX_KINDS = ['gin', 'string', 'text', 'number', 'createdAt'] as const;
export type FilterIndexKind = (typeof FILTER_INDEX_KINDS)[number];

/** A filter index, as configuration. */
export interface FilterIndexSpec {
  /** Table name (not quoted; it is quoted here). */
  readonly table: string;
  /** Schema of the table; omitted = unqualified. */
  readonly schema?: string | undefined;
  readonly kind: FilterIndexKind;
  /** The indexed column: default `metadata` (gin, text, number) or `created_at` (createdAt). */
  readonly column?: string | undefined;
  /** `text` / `number`: the metadata key, a path `a.b` for nested objects (`.` separates, as in filters). */
  readonly key?: string | undefined;
  /** Index name; default {@link defaultFilterIndexName}. At most 63 bytes. */
  readonly name?: string | undefined;
  /** `CREATE INDEX CONCURRENTLY`: no write lock, but not inside a transaction (so not in a migration). */
  readonly concurrently?: boolean | undefined;
  /** `IF NOT EXISTS`. */
  readonly ifNotExists?: boolean | undefined;
}

/** A filter index spec with every default filled in and every check passed. */
export interface ResolvedFilterIndexSpec {
  readonly table: string;
  readonly schema: string | undefined;
  readonly kind: FilterIndexKind;
  readonly column: string;
  /** The key path (`text` / `number`), e.g. `['author', 'name']`. */
  readonly key: readonly string[] | undefined;
  readonly name: string;
  readonly method: 'gin' | 'btree';
  /** The index key as SQL: `"metadata" jsonb_path_ops`, `(("metadata" ->> 'price'))`, `"created_at"`. */
  readonly keySql: string;
  readonly concurrently: boolean;
  readonly ifNotExists: boolean;
}

function argumentError(message: string, fix?: string): PgVectorError {
  return new PgVectorError('INVALID_ARGUMENT', message, fix === undefined ? {} : { fix });
}

/** Splits a filter key into its path (`'author.name'` → `['author', 'name']`). */
export function keyPath(key: string): string[] {
  return key.split('.');
}

function nameSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * The default name: `<table>_<column>_gin_idx`, `<table>_<column>_<key>_idx` (text),
 * `<table>_<column>_<key>_num_idx` (number), `<table>_<column>_idx` (createdAt). Characters other than
 * ASCII letters, digits and `_` become `_`, and then (or when the name would pass 63 bytes) 8 hex digits of
 * the key's SHA-256 keep names of different keys apart.
 *
 * ### Examples
 * ```ts
 * defaultFilterIndexName({ table: 'documents', kind: 'gin' });                       // 'documents_metadata_gin_idx'
 * defaultFilterIndexName({ table: 'documents', kind: 'number', key: 'price' });      // 'documents_metadata_price_num_idx'
 * defaultFilterIndexName({ table: 'documents', kind: 'text', key: 'author.name' });  // 'documents_metadata_author_name_h…_idx'
 * defaultFilterIndexName({ table: 'documents', kind: 'string', key: 'day' });        // 'documents_metadata_day_str_idx'
 * ```
 */
export function defaultFilterIndexName(
  spec: Pick<FilterIndexSpec, 'table' | 'kind' | 'column' | 'key'>,
): string {
  const column = spec.column ?? (spec.kind === 'createdAt' ? 'created_at' : 'metadata');
  const head = nameSafe(`${spec.table}_${column}`);
  if (spec.kind === 'gin') return `${head}_gin_idx`;
  if (spec.kind === 'createdAt') return `${head}_idx`;
  const key = spec.key ?? '';
  const tail = spec.kind === 'number' ? '_num_idx' : spec.kind === 'string' ? '_str_idx' : '_idx';
  const plain = nameSafe(key);
  const name = `${head}_${plain}${tail}`;
  if (plain === key && Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES) return name;
  const hash = `_h${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
  const room = MAX_IDENTIFIER_BYTES - hash.length - tail.length;
  return `${`${head}_${plain}`.slice(0, room)}${hash}${tail}`;
}

/**
 * Checks a filter index spec and fills in the defaults. Throws `INVALID_ARGUMENT` for a `string`/`text`/`number`
 * index without a key, or with a key that cannot be written as an SQL literal (`isIndexableKeyPath`: letters,
 * digits and `_ - : @ /` per segment) — such keys stay bound parameters in queries, so no expression index
 * could ever match them — and `INVALID_CONFIG` for names over 63 bytes.
 */
export function resolveFilterIndexSpec(spec: FilterIndexSpec): ResolvedFilterIndexSpec {
  if (!(FILTER_INDEX_KINDS as readonly string[]).includes(spec.kind)) {
    throw argumentError(
      `unknown filter index kind '${String(spec.kind)}'; valid: ${FILTER_INDEX_KINDS.join(', ')}`,
    );
  }
  const column = spec.column ?? (spec.kind === 'createdAt' ? 'created_at' : 'metadata');
  const col = quoteIdentifier(column, 'column name');
  let key: string[] | undefined;
  let keySql: string;
  if (spec.kind === 'string' || spec.kind === 'text' || spec.kind === 'number') {
    if (spec.key === undefined || spec.key === '') {
      throw argumentError(`a ${spec.kind} index needs the metadata key`, 'pass the key (--key price)');
    }
    key = keyPath(spec.key);
    if (!isIndexableKeyPath(key)) {
      throw argumentError(
        `key ${JSON.stringify(spec.key)} cannot be indexed as an expression: each segment must be 1-200 letters, digits or _ - : @ / (filters bind other keys as parameters, which no expression index matches)`,
        'rename the key, or rely on the GIN index (kind gin) for equality on it',
      );
    }
    const expression =
      spec.kind === 'text'
        ? metadataTextExpression(col, key)
        : spec.kind === 'string'
          ? metadataStringExpression(col, key)
          : metadataNumberExpression(col, key);
    keySql = `(${expression})`;
  } else {
    if (spec.key !== undefined) {
      throw argumentError(`a ${spec.kind} index takes no key`, 'remove the key');
    }
    keySql = spec.kind === 'gin' ? `${col} jsonb_path_ops` : col;
  }
  const name = spec.name ?? defaultFilterIndexName({ ...spec, column });
  quoteIdentifier(name, 'index name');
  qualifiedTable(spec.table, spec.schema);
  return {
    table: spec.table,
    schema: spec.schema,
    kind: spec.kind,
    column,
    key,
    name,
    method: spec.kind === 'gin' ? 'gin' : 'btree',
    keySql,
    concurrently: spec.concurrently ?? false,
    ifNotExists: spec.ifNotExists ?? false,
  };
}

/**
 * The `CREATE INDEX` statement for a filter index.
 *
 * ### Examples
 * ```ts
 * filterIndexDdl({ table: 'documents', kind: 'gin' });
 * filterIndexDdl({ table: 'documents', kind: 'text', key: 'tenant', concurrently: true, ifNotExists: true });
 * filterIndexDdl({ table: 'documents', kind: 'number', key: 'price' });
 * filterIndexDdl({ table: 'documents', kind: 'createdAt' });
 * ```
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * CREATE INDEX "documents_metadata_gin_idx" ON "documents" USING gin ("metadata" jsonb_path_ops)
 * CREATE INDEX CONCURRENTLY IF NOT EXISTS "documents_metadata_tenant_idx" ON "documents" USING btree ((("metadata" ->> 'tenant')))
 * CREATE INDEX "documents_metadata_price_num_idx" ON "documents" USING btree (((CASE WHEN jsonb_typeof(("metadata" -> 'price')) = 'number' THEN ("metadata" -> 'price')::numeric END)))
 * CREATE INDEX "documents_created_at_idx" ON "documents" USING btree ("created_at")
 * ```
 */
export function filterIndexDdl(spec: FilterIndexSpec | ResolvedFilterIndexSpec): string {
  const r = 'keySql' in spec ? spec : resolveFilterIndexSpec(spec);
  return [
    'CREATE INDEX',
    r.concurrently ? ' CONCURRENTLY' : '',
    r.ifNotExists ? ' IF NOT EXISTS' : '',
    ` ${quoteIdentifier(r.name, 'index name')}`,
    ` ON ${qualifiedTable(r.table, r.schema)}`,
    ` USING ${r.method} (${r.keySql})`,
  ].join('');
}

/**
 * The schema.prisma line that mirrors a filter index, or `undefined` when none must be written (expression
 * indexes: Prisma's introspection does not see them, and a line would make `migrate dev` create a plain
 * B-tree). `field` is the Prisma field name.
 *
 * ### Examples
 * ```ts
 * filterIndexPrismaLine('gin', 'metadata', 'documents_metadata_gin_idx');
 * // '@@index([metadata(ops: JsonbPathOps)], map: "documents_metadata_gin_idx", type: Gin)'
 * filterIndexPrismaLine('createdAt', 'createdAt', 'documents_created_at_idx');
 * // '@@index([createdAt], map: "documents_created_at_idx")'
 * filterIndexPrismaLine('text', 'metadata', 'documents_metadata_tenant_idx'); // undefined
 * ```
 */
export function filterIndexPrismaLine(
  kind: FilterIndexKind,
  field: string,
  name: string,
): string | undefined {
  const map = JSON.stringify(name);
  if (kind === 'gin') return `@@index([${field}(ops: JsonbPathOps)], map: ${map}, type: Gin)`;
  if (kind === 'createdAt') return `@@index([${field}], map: ${map})`;
  return undefined;
}

/** One part of a filter an index could serve, found by {@link filterIndexNeeds}. */
export interface FilterIndexNeed {
  readonly kind: FilterIndexKind;
  /** The metadata key (`text` / `number`); the GIN index serves every key at once. */
  readonly key?: string | undefined;
  /** The filter's operators this index would serve, e.g. `['eq', 'in']` or `['gte', 'lt']`. */
  readonly operators: readonly string[];
  /** Inside an `or`: served only when every branch of the `or` is. */
  readonly inOr: boolean;
}

/** A top-level string equality, which a partial vector index could serve. */
export interface PartialIndexCandidate {
  readonly key: string;
  readonly value: string;
}

/** What {@link filterIndexNeeds} finds in a filter. */
export interface FilterIndexAnalysis {
  readonly needs: readonly FilterIndexNeed[];
  /** Top-level (AND-ed) `{ key: 'value' }` conditions: candidates for a partial vector index. */
  readonly partialCandidates: readonly PartialIndexCandidate[];
  /** Conditions no index serves (negations, `exists`, keys that stay bound parameters), as `key.operator`. */
  readonly unserved: readonly string[];
}

const RANGE = ['gt', 'gte', 'lt', 'lte'] as const;
const PREDICATE_TEXT = /^[\p{L}\p{N} _\-:/@.]{1,200}$/u;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Which filter indexes could serve a filter: equality / `in` / `contains` → the GIN index (any key), ranges
 * on a key → that key's `number` or `text` B-tree (by the operand's type), `createdAt` → the `created_at`
 * B-tree. Negations (`ne`, `nin`, `not`) and `exists` are listed as unserved: they match most rows, so an
 * index would not help. A plain structural walk: the filter is validated when it is compiled.
 *
 * ### Examples
 * ```ts
 * filterIndexNeeds({ tenant: 't7', price: { gte: 10, lt: 20 } });
 * // needs: [{ kind: 'gin', operators: ['eq'] }, { kind: 'number', key: 'price', operators: ['gte', 'lt'] }],
 * // partialCandidates: [{ key: 'tenant', value: 't7' }]
 * ```
 */
export function filterIndexNeeds(filter: unknown): FilterIndexAnalysis {
  const needs: FilterIndexNeed[] = [];
  const partialCandidates: PartialIndexCandidate[] = [];
  const unserved: string[] = [];
  const add = (need: FilterIndexNeed) => {
    const same = needs.find((n) => n.kind === need.kind && n.key === need.key && n.inOr === need.inOr);
    if (same === undefined) needs.push(need);
    else
      needs[needs.indexOf(same)] = {
        ...same,
        operators: [...new Set([...same.operators, ...need.operators])],
      };
  };
  const walk = (f: unknown, inOr: boolean, top: boolean) => {
    if (!isRecord(f)) return;
    for (const [key, value] of Object.entries(f)) {
      if (key === 'and' && Array.isArray(value)) {
        for (const g of value) walk(g, inOr, top);
        continue;
      }
      if (key === 'or' && Array.isArray(value)) {
        for (const g of value) walk(g, inOr || value.length > 1, top && value.length === 1);
        continue;
      }
      if (key === 'not') {
        unserved.push('not');
        continue;
      }
      if (key === 'createdAt') {
        const ops = isRecord(value) ? Object.keys(value).filter((o) => value[o] !== undefined) : [];
        if (ops.length > 0) add({ kind: 'createdAt', operators: ops, inOr });
        continue;
      }
      const ops: Record<string, unknown> = isRecord(value) ? value : { eq: value };
      for (const [op, operand] of Object.entries(ops)) {
        if (operand === undefined) continue;
        if (op === 'eq' || op === 'in' || op === 'contains') {
          add({ kind: 'gin', operators: [op], inOr });
          if (
            top &&
            op === 'eq' &&
            typeof operand === 'string' &&
            PREDICATE_TEXT.test(operand) &&
            !key.includes('.')
          ) {
            if (PREDICATE_TEXT.test(key)) partialCandidates.push({ key, value: operand });
          }
        } else if ((RANGE as readonly string[]).includes(op)) {
          if (!isIndexableKeyPath(keyPath(key))) {
            unserved.push(`${key}.${op} (the key cannot be indexed as an expression)`);
            continue;
          }
          // Strings: the string expression, exact on its own (the text form needs a per-row type test).
          add({ kind: typeof operand === 'number' ? 'number' : 'string', key, operators: [op], inOr });
        } else {
          unserved.push(`${key}.${op}`);
        }
      }
    }
  };
  walk(filter, false, true);
  return { needs, partialCandidates, unserved };
}
