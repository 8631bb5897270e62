/**
 * Every SQL statement the vector store runs, built in one place from a validated configuration
 * ({@link resolveStoreConfig}): identifiers come quoted from there, values are always bind parameters
 * (`Prisma.sql`), with two deliberate literals explained where they are written — `LIMIT k` and the
 * configured partial-index predicates (in `filter.ts`) — both needed by the planner under generic plans.
 */

import { empty, join, raw, type Sql, sqltag as sql } from '@prisma/client/runtime/client';
import { PgVectorError } from '../core/errors.js';
import { EXPRESSION_INDEXES_SQL } from '../core/filter-expressions.js';
import { distanceSql, type IndexMethod, type Metric } from '../core/metric.js';
import type { ResolvedStoreConfig } from './config.js';
import type { SearchSettings } from './search-settings.js';
import { STATISTICS_SQL } from './statistics.js';

/** Optional fields a search hit can carry (`id`, `distance` and `similarity` are always there). */
export type HitField = 'content' | 'metadata' | 'createdAt';

/** Every {@link HitField}, in the order they are selected. */
export const HIT_FIELDS = ['content', 'metadata', 'createdAt'] as const satisfies readonly HitField[];

/** One row to write, validated: values ready to bind. */
export interface RowValues {
  /** Absent: the column's default (`gen_random_uuid()::text` on `documents`). */
  readonly id?: string;
  readonly content: string;
  /** Metadata as JSON text, or `null` for SQL NULL. */
  readonly metadataJson: string | null;
  /** The vector as a bind parameter with its cast (`vectorParam`), or `null` for SQL NULL. */
  readonly embedding: Sql | null;
  /** Absent: the column's default (`now()`). */
  readonly createdAt?: Date;
}

/** What `search` selects and how it orders and limits. */
export interface SearchSpec {
  /** The query vector as a bind parameter with its cast (`vectorParam`). */
  readonly query: Sql;
  readonly metric: Metric;
  /** Rows wanted: an integer from 1 to 1000, validated by the caller. */
  readonly k: number;
  /** The compiled filter (`compileFilter`); `TRUE` for none. */
  readonly where: Sql;
  /** Optional fields to select. */
  readonly fields: readonly HitField[];
  /** Also select the embedding (as text). */
  readonly includeEmbedding: boolean;
  /** Keep only rows with `distance <= maxDistance` (applied after the index scan, see {@link buildSearchSql}). */
  readonly maxDistance?: number | undefined;
  /** The index scan returns rows in relaxed order (iterative scan): re-sort them. */
  readonly relaxed: boolean;
  /**
   * Exact search: rank the filter's rows by computing every distance, never through the vector index (the
   * rows come through whatever index serves the filter). See {@link buildSearchSql}.
   */
  readonly exact?: boolean;
  /** With `exact`: rank at most `guard + 1` of the filter's rows, and number them in a `"_n"` column (the row numbered `guard + 1`, if any, first). */
  readonly guard?: number;
  /**
   * The settings applied by the statement itself (see {@link buildSettingsGate}): a one-time filter that
   * sets them before the index scan starts, and the column that reports the values applied.
   */
  readonly gate?: SettingsGate | undefined;
}

/** See {@link buildSettingsGate}. */
export interface SettingsGate {
  readonly condition: Sql;
  readonly applied: Sql | undefined;
}

const NULL = raw('NULL');
const SETTING_NAME = /^(?:[a-z_]+\.[a-z_]+|enable_seqscan|enable_bitmapscan)$/;

/**
 * Planner settings of an iterative or partial plan: the store chose the vector index scan because many
 * rows match (its count or estimate), and PostgreSQL's own estimate of a jsonb filter can be far lower —
 * it would then rank the rows with a sequential or bitmap scan and a sort. They act at planning time, so
 * such a search sets them in a transaction before the statement, never through the settings gate.
 */
export const PIN_VECTOR_INDEX: readonly SettingEntry[] = [
  ['enable_seqscan', 'off'],
  ['enable_bitmapscan', 'off'],
];

/** A setting name written into SQL as a literal: only `prefix.name` of lower-case letters and `_`. */
function settingLiteral(name: string): { literal: Sql; alias: Sql } {
  if (!SETTING_NAME.test(name)) {
    throw new PgVectorError('INVALID_ARGUMENT', `not a pgvector setting name: ${JSON.stringify(name)}`);
  }
  return { literal: raw(`'${name}'`), alias: raw(`"${name}"`) };
}
const DEFAULT = raw('DEFAULT');

/** PostgreSQL's name of each id type, for the array casts of id lists. */
const ID_ARRAY_CASTS = { text: 'text[]', uuid: 'uuid[]', int: 'integer[]', bigint: 'bigint[]' } as const;

/** The id as the store returns it: a string (`"id"`, or `"id"::text` for uuid / integer ids). */
function idOut(config: ResolvedStoreConfig): Sql {
  return config.idType === 'text' ? config.columns.id : sql`${config.columns.id}::text`;
}

/** `$n::text[]` (or `uuid[]`, `integer[]`, `bigint[]`): a list of ids as one parameter of the column's type. */
function idList(config: ResolvedStoreConfig, ids: readonly string[]): Sql {
  return sql`${ids}::${raw(ID_ARRAY_CASTS[config.idType])}`;
}

function isTrue(where: Sql): boolean {
  return where.text === 'TRUE' && where.values.length === 0;
}

/**
 * The `VALUES` tuple of one row, in the column order of {@link buildInsertSql}:
 * `(id, content, metadata, embedding, created_at)`, with `DEFAULT` for an absent id or creation time and
 * `NULL` for absent metadata or embedding (neither takes a bind parameter).
 *
 * ### Examples
 * ```ts
 * buildRowSql({ content: 'x', metadataJson: '{"type":"note"}', embedding: vectorParam(v, 'vector', 3, 'text') });
 * ```
 *
 * The generated SQL (PostgreSQL), values `'x'`, `'{"type":"note"}'`, `'[1,2,3]'`:
 * ```sql
 * (DEFAULT, $1, $2::jsonb, $3::vector(3), DEFAULT)
 * ```
 */
export function buildRowSql(row: RowValues): Sql {
  return sql`(${row.id === undefined ? DEFAULT : row.id}, ${row.content}, ${
    row.metadataJson === null ? NULL : sql`${row.metadataJson}::jsonb`
  }, ${row.embedding ?? NULL}, ${row.createdAt === undefined ? DEFAULT : row.createdAt})`;
}

/**
 * One multi-row `INSERT` of rows built by {@link buildRowSql}, returning each row's id and creation time in
 * input order. With `upsert`, a row whose id exists replaces that row's content, metadata and embedding
 * (its creation time stays) and `inserted` tells which rows were new.
 *
 * ### Examples
 * ```ts
 * buildInsertSql(config, [buildRowSql(a), buildRowSql(b)], { upsert: false });
 * ```
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * INSERT INTO "documents" ("id", "content", "metadata", "embedding", "created_at")
 * VALUES (DEFAULT, $1, NULL, $2::vector(1536), DEFAULT), (DEFAULT, $3, $4::jsonb, $5::vector(1536), DEFAULT)
 * RETURNING "id" AS "id", "created_at" AS "createdAt"
 * -- upsert: … ON CONFLICT ("id") DO UPDATE SET "content" = EXCLUDED."content", "metadata" = EXCLUDED."metadata",
 * --   "embedding" = EXCLUDED."embedding" RETURNING "id" AS "id", "created_at" AS "createdAt", (xmax = 0) AS "inserted"
 * ```
 */
export function buildInsertSql(
  config: ResolvedStoreConfig,
  rows: readonly Sql[],
  options: { readonly upsert: boolean },
): Sql {
  const c = config.columns;
  const insert = sql`INSERT INTO ${config.table} (${c.id}, ${c.content}, ${c.metadata}, ${c.embedding}, ${c.createdAt}) VALUES ${join(rows, ', ')}`;
  const id = idOut(config);
  if (!options.upsert) return sql`${insert} RETURNING ${id} AS "id", ${c.createdAt} AS "createdAt"`;
  return sql`${insert} ON CONFLICT (${c.id}) DO UPDATE SET ${c.content} = EXCLUDED.${c.content}, ${c.metadata} = EXCLUDED.${c.metadata}, ${c.embedding} = EXCLUDED.${c.embedding} RETURNING ${id} AS "id", ${c.createdAt} AS "createdAt", (xmax = 0) AS "inserted"`;
}

/**
 * `UPDATE` of one row by id, setting only the given fields (`null` metadata or embedding stores SQL NULL).
 * At least one field must be given (checked by the caller).
 *
 * ### Examples
 * ```ts
 * buildUpdateSql(config, 'doc-1', { metadataJson: '{"type":"note"}', embedding: null });
 * ```
 *
 * The generated SQL (PostgreSQL), values `'{"type":"note"}'`, `'doc-1'`:
 * ```sql
 * UPDATE "documents" SET "metadata" = $1::jsonb, "embedding" = NULL WHERE "id" = $2
 * ```
 */
export function buildUpdateSql(
  config: ResolvedStoreConfig,
  id: string,
  set: {
    readonly content?: string;
    readonly metadataJson?: string | null;
    readonly embedding?: Sql | null;
  },
): Sql {
  const c = config.columns;
  const assignments: Sql[] = [];
  if (set.content !== undefined) assignments.push(sql`${c.content} = ${set.content}`);
  if (set.metadataJson !== undefined) {
    assignments.push(
      sql`${c.metadata} = ${set.metadataJson === null ? NULL : sql`${set.metadataJson}::jsonb`}`,
    );
  }
  if (set.embedding !== undefined) assignments.push(sql`${c.embedding} = ${set.embedding ?? NULL}`);
  return sql`UPDATE ${config.table} SET ${join(assignments, ', ')} WHERE ${c.id} = ${id}`;
}

/**
 * `DELETE` of the rows with the given ids (one array parameter, whatever the number of ids).
 *
 * The generated SQL (PostgreSQL), value `['a', 'b']`:
 * ```sql
 * DELETE FROM "documents" WHERE "id" = ANY($1::text[])
 * ```
 */
export function buildDeleteByIdsSql(config: ResolvedStoreConfig, ids: readonly string[]): Sql {
  return sql`DELETE FROM ${config.table} WHERE ${config.columns.id} = ANY(${idList(config, ids)})`;
}

/**
 * `DELETE` of the rows a compiled filter matches (`TRUE` deletes every row; the store refuses that unless
 * asked with `{ all: true }`).
 *
 * The generated SQL (PostgreSQL), for the filter `{ lang: 'de' }`:
 * ```sql
 * DELETE FROM "documents" WHERE ("metadata" @> $1::jsonb)  -- $1 = '{"lang":"de"}'
 * ```
 */
export function buildDeleteWhereSql(config: ResolvedStoreConfig, where: Sql): Sql {
  return sql`DELETE FROM ${config.table} WHERE ${where}`;
}

function selectedColumns(
  config: ResolvedStoreConfig,
  fields: readonly HitField[],
  includeEmbedding: boolean,
): Sql {
  const c = config.columns;
  const parts: Sql[] = [sql`${idOut(config)} AS "id"`];
  if (fields.includes('content')) parts.push(sql`${c.content} AS "content"`);
  if (fields.includes('metadata')) parts.push(sql`${c.metadata} AS "metadata"`);
  if (fields.includes('createdAt')) parts.push(sql`${c.createdAt} AS "createdAt"`);
  if (includeEmbedding) parts.push(sql`${c.embedding}::text AS "embedding"`);
  return join(parts, ', ');
}

/**
 * `SELECT` of rows by id; the embedding is read as text (pgvector's text output) when asked for.
 *
 * The generated SQL (PostgreSQL), value `['a', 'b']`:
 * ```sql
 * SELECT "id" AS "id", "content" AS "content", "metadata" AS "metadata", "created_at" AS "createdAt",
 *        "embedding"::text AS "embedding"
 * FROM "documents" WHERE "id" = ANY($1::text[])
 * ```
 */
export function buildGetByIdsSql(
  config: ResolvedStoreConfig,
  ids: readonly string[],
  includeEmbedding: boolean,
): Sql {
  return sql`SELECT ${selectedColumns(config, HIT_FIELDS, includeEmbedding)} FROM ${config.table} WHERE ${config.columns.id} = ANY(${idList(config, ids)})`;
}

/**
 * The nearest-neighbour query. The query vector is bound ONCE: the distance is selected as `"distance"`
 * and the rows are ordered by that alias, which PostgreSQL resolves to the bare expression
 * `embedding <op> $1` (EXPLAIN shows `Order By: (embedding <=> $1)` on the index scan); ascending, with a
 * LIMIT, and `embedding IS NOT NULL` (an index holds no NULLs). `k` is written as a literal (an integer the
 * caller validated): under a generic plan a bound `LIMIT $n` is assumed to keep 10% of the rows, and the
 * planner then prefers a sequential scan to the vector index (measured on PostgreSQL 18 / pgvector 0.8.7).
 *
 * The index scan is wrapped in an outer query when
 * - `relaxed`: an iterative scan in relaxed order returns rows slightly out of order; the outer query
 *   re-sorts them by `distance + 0` — `ORDER BY "distance"` would be dropped by the planner, which knows the
 *   subquery is "already sorted" by it (checked with EXPLAIN on PostgreSQL 18: same for a MATERIALIZED CTE);
 * - `maxDistance` is set: the distance condition goes outside the `LIMIT`, as pgvector recommends, so that it
 *   does not make an iterative scan run to its `max_scan_tuples` when fewer than k rows are close enough.
 *
 * With `exact`, the rows are ranked exactly (recall 1), never through the vector index:
 * `SELECT * FROM (SELECT …, "embedding" <=> $1 AS "distance" FROM t WHERE … OFFSET 0) AS s
 * [WHERE s."distance" <= $n] ORDER BY s."distance" LIMIT k`.
 *
 * ### Examples
 * ```ts
 * buildSearchSql(config, {
 *   query: vectorParam(q, 'vector', 1536, 'binary'), metric: 'cosine', k: 5, where: compileFilter(f, …),
 *   fields: ['content'], includeEmbedding: false, maxDistance: 0.5, relaxed: true,
 * });
 * ```
 *
 * The generated SQL (PostgreSQL), for the filter `{ type: 'article' }` (the configured partial index):
 * ```sql
 * SELECT * FROM (
 *   SELECT "id" AS "id", "content" AS "content", "embedding" <=> $1::vector(1536) AS "distance"
 *   FROM "documents"
 *   WHERE "embedding" IS NOT NULL AND (("metadata" ->> 'type'::text) = 'article'::text)
 *   ORDER BY "distance" LIMIT 5
 * ) AS s WHERE s."distance" <= $2 ORDER BY s."distance" + 0
 * ```
 */
export function buildSearchSql(config: ResolvedStoreConfig, spec: SearchSpec): Sql {
  if (!Number.isInteger(spec.k) || spec.k < 1) {
    throw new PgVectorError('INVALID_ARGUMENT', `k must be a positive integer, got ${String(spec.k)}`);
  }
  const c = config.columns;
  const distance = distanceSql(spec.metric, c.embedding, spec.query);
  const filter = isTrue(spec.where) ? empty : sql` AND ${spec.where}`;
  const gate = spec.gate === undefined ? empty : sql` AND ${spec.gate.condition}`;
  const applied = spec.gate?.applied === undefined ? empty : sql`, ${spec.gate.applied} AS "_settings"`;
  const columns = sql`${selectedColumns(config, spec.fields, spec.includeEmbedding)}, ${distance} AS "distance"${applied} FROM ${config.table} WHERE ${c.embedding} IS NOT NULL${filter}${gate}`;
  const limit = raw(String(spec.k));
  const within = spec.maxDistance === undefined ? empty : sql` WHERE s."distance" <= ${spec.maxDistance}`;
  if (spec.exact === true) {
    // OFFSET 0 keeps the subquery from being flattened: its rows are selected by the filter alone, and
    // the outer ORDER BY … LIMIT is a top-N sort over them — the planner cannot use the HNSW ordering.
    if (spec.guard !== undefined && spec.maxDistance === undefined) {
      // At most guard + 1 of the filter's rows (the LIMIT also keeps the subquery from being flattened),
      // numbered as they stream by (`row_number()` buffers nothing; `count(*) OVER ()` kept every row in a
      // tuplestore: 0.2 ms per 1,000 rows on PostgreSQL 17), and the row numbered guard + 1, when there is
      // one, sorted first: "_n" > guard on the first row means that more rows match and the answer may be
      // incomplete; otherwise the rows are the k nearest.
      const rows = raw(String(spec.guard + 1));
      const bound = raw(String(spec.guard));
      return sql`SELECT * FROM (SELECT *, row_number() OVER () AS "_n" FROM (SELECT ${columns} LIMIT ${rows}) AS s) AS s ORDER BY (s."_n" > ${bound}) DESC, s."distance" LIMIT ${limit}`;
    }
    return sql`SELECT * FROM (SELECT ${columns} OFFSET 0) AS s${within} ORDER BY s."distance" LIMIT ${limit}`;
  }
  const inner = sql`SELECT ${columns} ORDER BY "distance" LIMIT ${limit}`;
  if (!spec.relaxed && spec.maxDistance === undefined) return inner;
  const order = spec.relaxed ? raw('s."distance" + 0') : raw('s."distance"');
  return sql`SELECT * FROM (${inner}) AS s${within} ORDER BY ${order}`;
}

/**
 * `EXPLAIN` of a statement; with `analyze`, `EXPLAIN (ANALYZE, BUFFERS)`, which runs it.
 *
 * The generated SQL (PostgreSQL): `EXPLAIN SELECT …`
 */
export function buildExplainSql(statement: Sql, analyze: boolean): Sql {
  return sql`${raw(analyze ? 'EXPLAIN (ANALYZE, BUFFERS)' : 'EXPLAIN')} ${statement}`;
}

/** pgvector's name of each search setting, per index method (`undefined`: the method has no such setting). */
export const SETTING_NAMES: Readonly<
  Record<IndexMethod, Readonly<Record<keyof SearchSettings, string | undefined>>>
> = {
  hnsw: {
    efSearch: 'hnsw.ef_search',
    iterativeScan: 'hnsw.iterative_scan',
    maxScanTuples: 'hnsw.max_scan_tuples',
    probes: undefined,
  },
  ivfflat: {
    efSearch: undefined,
    iterativeScan: 'ivfflat.iterative_scan',
    maxScanTuples: undefined,
    probes: 'ivfflat.probes',
  },
};

/**
 * One setting to apply: pgvector's name, the value as text and, for a floor (see `SearchTuning.floors`),
 * the setting's default when the server has none, e.g. `['hnsw.ef_search', '50', 40]`.
 */
export type SettingEntry = readonly [name: string, value: string, floorDefault?: number];

/** pgvector's default of each setting that can be a floor. */
const FLOOR_DEFAULTS: Readonly<Record<'efSearch' | 'probes', number>> = { efSearch: 40, probes: 1 };

/**
 * The names and values of the settings to apply, in a stable order (ef_search, iterative_scan,
 * max_scan_tuples, probes), values as text; a setting in `floors` carries its default as a third element.
 *
 * ### Examples
 * ```ts
 * settingEntries({ efSearch: 100, iterativeScan: 'relaxed_order' }, 'hnsw');
 * // [['hnsw.ef_search', '100'], ['hnsw.iterative_scan', 'relaxed_order']]
 * settingEntries({ efSearch: 10 }, 'hnsw', ['efSearch']); // [['hnsw.ef_search', '10', 40]]
 * ```
 */
export function settingEntries(
  settings: SearchSettings,
  indexMethod: IndexMethod,
  floors: readonly ('efSearch' | 'probes')[] = [],
): SettingEntry[] {
  const entries: SettingEntry[] = [];
  for (const key of ['efSearch', 'iterativeScan', 'maxScanTuples', 'probes'] as const) {
    const value = settings[key];
    const name = SETTING_NAMES[indexMethod][key];
    if (value === undefined || name === undefined) continue;
    const floor = key === 'efSearch' || key === 'probes' ? floors.includes(key) : false;
    entries.push(
      floor ? [name, String(value), FLOOR_DEFAULTS[key as 'efSearch' | 'probes']] : [name, String(value)],
    );
  }
  return entries;
}

const SETTING_VALUE = /^(?:\d{1,10}|[a-z_]{1,40})$/;

/**
 * The statement that applies a search's settings for the rest of its transaction (`set_config(…, true)` =
 * `SET LOCAL`), with the values written as literals — each checked to be an integer or a lower-case word
 * (pgvector's settings take nothing else) — so that the statement can travel in one simple-protocol
 * message with `BEGIN` (one round trip). A floor entry applies `greatest(value, the server's value)`:
 * a session, role or database value below k can never cap the search, a higher (tuned) one is kept. The
 * row it returns holds the values applied.
 *
 * The generated SQL (PostgreSQL), for `[['hnsw.ef_search', '50', 40], ['hnsw.iterative_scan', 'off']]`:
 * ```sql
 * SELECT set_config('hnsw.ef_search', greatest(50, coalesce(nullif(current_setting('hnsw.ef_search', true), '')::int, 40))::text, true) AS "hnsw.ef_search",
 *        set_config('hnsw.iterative_scan', 'off', true) AS "hnsw.iterative_scan"
 * ```
 */
export function buildApplySettingsSql(entries: readonly SettingEntry[]): Sql {
  return sql`SELECT ${join(
    settingCalls(entries).map(({ call, alias }) => sql`${call} AS ${alias}`),
    ', ',
  )}`;
}

/**
 * The settings of a search applied by the search statement itself, in one round trip and without a
 * transaction block: `AND (SELECT concat_ws(',', set_config(…, true), …)) IS NOT NULL` in its WHERE clause.
 * The condition references no column, so PostgreSQL evaluates it once, as the one-time filter of a
 * `Result` node above the scan — before the index scan fetches its first row, which is when pgvector reads
 * `hnsw.ef_search` / `hnsw.iterative_scan` / `hnsw.max_scan_tuples` / `ivfflat.probes`. `set_config(…, true)`
 * lasts until the end of the statement's own (implicit) transaction: nothing leaks into a pooled connection
 * (checked on PostgreSQL 17 + pgvector 0.8.0: with `hnsw.ef_search = 10` for the session a k = 50 search
 * returned 50 rows, and `SHOW hnsw.ef_search` said 10 afterwards). `set_config` is parallel-unsafe, so the
 * statement never runs in parallel workers that would not see the settings. Only outside a transaction
 * block: in a caller's transaction the settings would outlive the statement. The floors' applied values
 * come back in a `"_settings"` column (comma-separated, in entry order).
 *
 * The generated SQL (PostgreSQL), for `[['hnsw.ef_search', '10', 40], ['hnsw.iterative_scan', 'off']]`:
 * ```sql
 * … AND (SELECT concat_ws(',', set_config('hnsw.ef_search', greatest(10, …)::text, true),
 *   set_config('hnsw.iterative_scan', 'off', true))) IS NOT NULL
 * -- column: (SELECT concat_ws(',', current_setting('hnsw.ef_search', true))) AS "_settings"
 * ```
 */
export function buildSettingsGate(entries: readonly SettingEntry[]): SettingsGate {
  // Every search with settings builds one, from a handful of distinct entry lists: remembered (a gate is
  // literal SQL, no bound values).
  const key = entries.map((e) => e.join('\u0001')).join('\u0000');
  const known = GATES.get(key);
  if (known !== undefined) return known;
  const gate = settingsGate(entries);
  if (GATES.size >= 256) GATES.clear();
  GATES.set(key, gate);
  return gate;
}

const GATES = new Map<string, SettingsGate>();

function settingsGate(entries: readonly SettingEntry[]): SettingsGate {
  const calls = settingCalls(entries);
  const floors = entries
    .filter(([, , floor]) => floor !== undefined)
    .map(([name]) => settingLiteral(name).literal);
  return {
    condition: sql`(SELECT concat_ws(',', ${join(
      calls.map((c) => c.call),
      ', ',
    )})) IS NOT NULL`,
    applied:
      floors.length === 0
        ? undefined
        : sql`(SELECT concat_ws(',', ${join(
            floors.map((name) => sql`current_setting(${name}, true)`),
            ', ',
          )}))`,
  };
}

function settingCalls(entries: readonly SettingEntry[]): { call: Sql; alias: Sql }[] {
  return entries.map(([name, value, floorDefault]) => {
    const { literal, alias } = settingLiteral(name);
    if (!SETTING_VALUE.test(value)) {
      throw new PgVectorError('INVALID_ARGUMENT', `not a pgvector setting value: ${JSON.stringify(value)}`);
    }
    const applied =
      floorDefault === undefined
        ? raw(`'${value}'`)
        : sql`greatest(${raw(value)}, coalesce(nullif(current_setting(${literal}, true), '')::int, ${raw(String(Math.trunc(floorDefault)))}))::text`;
    return { call: sql`set_config(${literal}, ${applied}, true)`, alias };
  });
}

/**
 * Sets settings for the rest of the current transaction only (`set_config(name, value, true)` = `SET LOCAL`),
 * so that nothing leaks into a pooled connection. A `null` value resets the setting to its default (used to
 * restore settings inside a caller's transaction). Names come from {@link SETTING_NAMES}; values are bound.
 *
 * The generated SQL (PostgreSQL), values `'100'`, `'relaxed_order'`:
 * ```sql
 * SELECT set_config('hnsw.ef_search', $1, true) AS "hnsw.ef_search",
 *        set_config('hnsw.iterative_scan', $2, true) AS "hnsw.iterative_scan"
 * ```
 */
export function buildSetConfigSql(entries: readonly (readonly [string, string | null])[]): Sql {
  return sql`SELECT ${join(
    entries.map(([name, value]) => {
      const { literal, alias } = settingLiteral(name);
      return sql`set_config(${literal}, ${value}, true) AS ${alias}`;
    }),
    ', ',
  )}`;
}

/**
 * Reads the current values of settings (`NULL` for a setting not defined yet, i.e. before pgvector's library
 * is loaded in the session).
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * SELECT current_setting('hnsw.ef_search', true) AS "hnsw.ef_search"
 * ```
 */
export function buildReadSettingsSql(names: readonly string[]): Sql {
  return sql`SELECT ${join(
    names.map((name) => {
      const { literal, alias } = settingLiteral(name);
      return sql`current_setting(${literal}, true) AS ${alias}`;
    }),
    ', ',
  )}`;
}

/** The installed pgvector version: one row `{ version: '0.8.7' }`, or no row when the extension is missing. */
export const PGVECTOR_VERSION_SQL: Sql = sql`SELECT extversion AS "version" FROM pg_extension WHERE extname = 'vector'`;

/**
 * `ANALYZE` of the table (allowed inside a transaction), after bulk loads.
 *
 * The generated SQL (PostgreSQL): `ANALYZE "documents"`
 */
export function buildAnalyzeSql(config: ResolvedStoreConfig): Sql {
  return sql`ANALYZE ${config.table}`;
}

/**
 * `VACUUM (ANALYZE)` of the table: reclaims dead rows (and their HNSW graph entries) and refreshes the
 * planner's statistics. PostgreSQL refuses it inside a transaction block.
 *
 * The generated SQL (PostgreSQL): `VACUUM (ANALYZE) "documents"`
 */
export function buildVacuumSql(config: ResolvedStoreConfig): Sql {
  return sql`VACUUM (ANALYZE) ${config.table}`;
}

/**
 * The planner's estimate of the rows a filter matches, without running it: `EXPLAIN (FORMAT JSON)` of the
 * filter alone (its plan also tells whether an index serves the filter, see `readExplainEstimate`).
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * EXPLAIN (FORMAT JSON) SELECT 1 FROM "documents" WHERE "embedding" IS NOT NULL AND ("metadata" @> $1::jsonb)
 * ```
 */
export function buildEstimateSql(config: ResolvedStoreConfig, where: Sql): Sql {
  const filter = isTrue(where) ? empty : sql` AND ${where}`;
  return sql`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${config.table} WHERE ${config.columns.embedding} IS NOT NULL${filter}`;
}

/**
 * A count of the filter's rows that stops after `limit` rows (exact when below), for a filter an index
 * serves: never an unbounded count. `limit` is an integer written as a literal, like a search's k.
 *
 * The generated SQL (PostgreSQL), `limit` 10 001:
 * ```sql
 * SELECT count(*)::int AS "rows" FROM (SELECT 1 FROM "documents" WHERE "embedding" IS NOT NULL AND … LIMIT 10001) AS s
 * ```
 */
export function buildBoundedCountSql(config: ResolvedStoreConfig, where: Sql, limit: number): Sql {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new PgVectorError('INVALID_ARGUMENT', `limit must be a positive integer, got ${String(limit)}`);
  }
  const filter = isTrue(where) ? empty : sql` AND ${where}`;
  return sql`SELECT count(*)::int AS "rows" FROM (SELECT 1 FROM ${config.table} WHERE ${config.columns.embedding} IS NOT NULL${filter} LIMIT ${raw(String(limit))}) AS s`;
}

/**
 * The table's row count as the planner knows it (`reltuples`: -1 before the first VACUUM / ANALYZE on
 * PostgreSQL ≥ 14; no row for a missing table). The table is named by its quoted name, bound.
 *
 * The generated SQL (PostgreSQL), value `'"documents"'`:
 * ```sql
 * SELECT reltuples::float8 AS "rows" FROM pg_class WHERE oid = to_regclass($1)
 * ```
 */
export function buildTableRowsSql(config: ResolvedStoreConfig): Sql {
  return sql`SELECT reltuples::float8 AS "rows" FROM pg_class WHERE oid = to_regclass(${config.table.text})`;
}

/**
 * The schema and name of the table as the server resolves it (through `search_path` when the store has no
 * schema): one row, or none for a missing table.
 *
 * The generated SQL (PostgreSQL), value `'"documents"'`:
 * ```sql
 * SELECT n.nspname AS "schema", c.relname AS "table" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 * WHERE c.oid = to_regclass($1)
 * ```
 */
export function buildTableSchemaSql(config: ResolvedStoreConfig): Sql {
  return sql`SELECT n.nspname AS "schema", c.relname AS "table" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(${config.table.text})`;
}

/**
 * The first key expression of each valid, non-partial B-tree index of the table, as the server deparses it
 * (`(metadata ->> 'tenant'::text)`, or a string expression's `CASE WHEN jsonb_typeof(…) = 'string'::text
 * THEN … END`): where the filter compiler can write conditions that such an index serves (see
 * `filterIndexKeysOf` in search.ts).
 *
 * The generated SQL (PostgreSQL):
 * ```sql
 * SELECT pg_get_indexdef(i.indexrelid, 1, true) AS "expression" FROM pg_index i JOIN pg_class c ON … JOIN pg_am am ON …
 * WHERE i.indrelid = to_regclass('"documents"') AND i.indisvalid AND i.indpred IS NULL AND am.amname = 'btree' AND i.indkey[0] = 0
 * ```
 */
export function buildExpressionIndexesSql(config: ResolvedStoreConfig): Sql {
  // The one text the index advice runs too (`EXPRESSION_INDEXES_SQL`), its `$1` bound to the table.
  return bindPositional(EXPRESSION_INDEXES_SQL, [config.table.text]);
}

/** A constant text with positional parameters (`$1`, `$2`, …) as one `Sql`, each `$n` bound to `values[n - 1]`. */
export function bindPositional(text: string, values: readonly unknown[]): Sql {
  const parts = text.split(/\$(\d+)/);
  const strings = parts.filter((_, i) => i % 2 === 0);
  const bound = parts.filter((_, i) => i % 2 === 1).map((n) => values[Number(n) - 1]);
  return sql(strings, ...bound);
}

/**
 * The statistics of the table's expression B-trees and of its created-at column (`STATISTICS_SQL` in
 * statistics.ts), with the table and the column bound.
 */
export function buildStatisticsSql(config: ResolvedStoreConfig): Sql {
  return bindPositional(STATISTICS_SQL, [config.table.text, config.columnNames.createdAt]);
}
