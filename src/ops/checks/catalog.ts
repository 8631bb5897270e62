/**
 * The catalogue queries every check shares: the extension, the tables in scope, their vector columns and
 * their indexes. Catalogue views and functions only, all present on PostgreSQL 13+.
 */

import type { VectorType } from '../../core/metric.js';
import { quoteIdentifier } from '../../indexes/index-spec.js';
import type { DatabaseClient } from './connection.js';
import type {
  DoctorContext,
  ExtensionInfo,
  IndexInfo,
  ResolvedDoctorOptions,
  TableInfo,
  VectorColumn,
} from './types.js';

/** Reads pgvector's availability (`pg_available_extensions`) and installed version (`pg_extension`). */
export const EXTENSION_SQL = `SELECT
  (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS "defaultVersion",
  (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS "installedVersion",
  EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS "available"`;

/**
 * Tables in scope: those named — `schema.name`, or `name` resolved through the search_path as PostgreSQL
 * resolves it (the first schema that has it) — else every table of the search_path's schemas.
 */
export const TABLES_SQL = `SELECT c.oid::text AS "oid", n.nspname AS "schema", c.relname AS "name",
  c.reltuples::float8 AS "reltuples"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND CASE WHEN $1::text[] IS NULL THEN n.nspname = ANY (current_schemas(false))
      ELSE c.oid IN (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) t)
        OR n.nspname || '.' || c.relname = ANY ($1::text[]) END
ORDER BY n.nspname, c.relname`;

/** Columns of pgvector's types and of `bit` (Hamming/Jaccard vectors) in the given tables. */
export const COLUMNS_SQL = `SELECT a.attrelid::text AS "tableOid", a.attname AS "name", t.typname AS "type",
  a.atttypmod AS "typmod", format_type(a.atttypid, a.atttypmod) AS "formatted"
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  AND t.typname IN ('vector', 'halfvec', 'sparsevec', 'bit')
ORDER BY a.attrelid, a.attnum`;

/**
 * Indexes on the given tables: method, validity, predicate, first key's opclass and stored type (from the
 * index's own `pg_attribute`, so that expression keys such as `(embedding::halfvec(3072))` are seen), the
 * table columns they depend on (`pg_depend`), options and size.
 */
export const INDEXES_SQL = `SELECT i.indrelid::text AS "tableOid", n.nspname AS "schema", ci.relname AS "name",
  am.amname AS "method", i.indisvalid AS "valid", pg_get_expr(i.indpred, i.indrelid) AS "predicate",
  opc.opcname AS "opclass", kt.typname AS "keyType", ka.atttypmod AS "keyTypmod",
  ARRAY(SELECT DISTINCT a.attname::text FROM pg_depend d
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
          AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND d.refobjsubid > 0
        ORDER BY 1) AS "columns",
  coalesce(ci.reloptions, '{}') AS "options", pg_relation_size(ci.oid)::float8 AS "bytes",
  pg_get_indexdef(ci.oid) AS "definition"
FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ci.relnamespace
JOIN pg_am am ON am.oid = ci.relam
LEFT JOIN pg_opclass opc ON opc.oid = i.indclass[0]
LEFT JOIN pg_attribute ka ON ka.attrelid = i.indexrelid AND ka.attnum = 1
LEFT JOIN pg_type kt ON kt.oid = ka.atttypid
WHERE i.indrelid = ANY ($1::oid[])
ORDER BY n.nspname, ci.relname`;

const VECTOR_TYPE_NAMES: readonly string[] = ['vector', 'halfvec', 'sparsevec', 'bit'];

function dimensionsOf(typmod: number): number | undefined {
  return typmod > 0 ? typmod : undefined;
}

function parseOptions(options: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const option of options) {
    const at = option.indexOf('=');
    if (at > 0) out[option.slice(0, at)] = option.slice(at + 1);
  }
  return out;
}

/** Reads the extension's availability and version. */
export async function loadExtension(client: DatabaseClient): Promise<ExtensionInfo> {
  const { rows } = await client.query<{
    defaultVersion: string | null;
    installedVersion: string | null;
    available: boolean;
  }>(EXTENSION_SQL);
  const row = rows[0];
  return {
    available: row?.available ?? false,
    defaultVersion: row?.defaultVersion ?? undefined,
    installedVersion: row?.installedVersion ?? undefined,
  };
}

/**
 * Loads everything the checks share, once.
 *
 * ### Examples
 * ```ts
 * const context = await loadContext(client, resolveDoctorOptions({ tables: ['documents'] }));
 * context.indexes.filter(isVectorIndex).map((i) => i.name); // ['documents_embedding_hnsw_idx', …]
 * ```
 */
export async function loadContext(
  client: DatabaseClient,
  options: ResolvedDoctorOptions,
): Promise<DoctorContext> {
  const version = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  const serverVersionNum = Number(version.rows[0]?.v ?? 0);
  const extension = await loadExtension(client);

  const tableRows = await client.query<{ oid: string; schema: string; name: string; reltuples: number }>(
    TABLES_SQL,
    [options.tables === undefined ? null : [...options.tables]],
  );
  const tables: TableInfo[] = tableRows.rows.map((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    sql: `${quoteIdentifier(r.schema)}.${quoteIdentifier(r.name)}`,
    label: `${r.schema}.${r.name}`,
    reltuples: Number(r.reltuples),
  }));
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const oids = tables.map((t) => t.oid);

  const columnRows = await client.query<{
    tableOid: string;
    name: string;
    type: string;
    typmod: number;
    formatted: string;
  }>(COLUMNS_SQL, [oids]);
  const columns: VectorColumn[] = [];
  for (const r of columnRows.rows) {
    const table = byOid.get(r.tableOid);
    if (table === undefined || !VECTOR_TYPE_NAMES.includes(r.type)) continue;
    columns.push({
      table,
      name: r.name,
      type: r.type as VectorType,
      dimensions: dimensionsOf(r.typmod),
      formatted: r.formatted,
      label: `${table.label}.${r.name}`,
    });
  }

  const indexRows = await client.query<{
    tableOid: string;
    schema: string;
    name: string;
    method: string;
    valid: boolean;
    predicate: string | null;
    opclass: string | null;
    keyType: string | null;
    keyTypmod: number | null;
    columns: string[];
    options: string[];
    bytes: number;
    definition: string;
  }>(INDEXES_SQL, [oids]);
  const indexes: IndexInfo[] = [];
  for (const r of indexRows.rows) {
    const table = byOid.get(r.tableOid);
    if (table === undefined) continue;
    indexes.push({
      table,
      schema: r.schema,
      name: r.name,
      sql: `${quoteIdentifier(r.schema)}.${quoteIdentifier(r.name)}`,
      label: `${r.schema}.${r.name}`,
      method: r.method,
      valid: r.valid,
      predicate: r.predicate ?? undefined,
      opclass: r.opclass ?? '',
      keyType: r.keyType ?? '',
      keyDimensions: dimensionsOf(r.keyTypmod ?? -1),
      columns: r.columns,
      options: parseOptions(r.options),
      bytes: Number(r.bytes),
      definition: r.definition,
    });
  }
  return { client, options, serverVersionNum, extension, tables, columns, indexes };
}
