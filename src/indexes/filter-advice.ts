/**
 * Index advice for metadata filters, on a live table: {@link adviseFilterIndexes} says which index serves
 * each part of a sample filter, whether the table has it already, and whether it matters at the table's size.
 * Used by `prisma-pgvector advise --filter` and by the doctor's `filter-index` check.
 *
 * Existing indexes are matched by DEFINITION, as the server deparses it: each advised index is created on an
 * empty temporary copy of the table (`LIKE`), in a transaction that is rolled back, and its
 * `pg_get_indexdef` (from ` USING ` on) is compared with those of the table's valid, non-partial indexes.
 * So `(("metadata" ->> 'tenant'))` written by us and `((metadata->>'tenant'))` written by hand compare equal
 * (both deparse to `USING btree (((metadata ->> 'tenant'::text)))`), whatever the index is called. Then the
 * filter is compiled as the store compiles it and `EXPLAIN`ed with `enable_seqscan = off`
 * (`plannerIndexes`): the proof that the query's expressions are the indexed ones.
 */

import { raw } from '@prisma/client/runtime/client';
import type pg from 'pg';
import { compileFilter, type Filter, partialIndexPredicateSql } from '../core/filter.js';
import {
  EXPRESSION_INDEXES_SQL,
  filterIndexKeys,
  metadataTextExpression,
} from '../core/filter-expressions.js';
import { SMALL_TABLE_ROWS } from './advisor.js';
import {
  type FilterIndexKind,
  type FilterIndexNeed,
  filterIndexDdl,
  filterIndexNeeds,
  type PartialIndexCandidate,
  type ResolvedFilterIndexSpec,
  resolveFilterIndexSpec,
} from './filter-index.js';
import { defaultIndexName, qualifiedTable, quoteIdentifier } from './index-spec.js';

/**
 * The share of rows one value of a key must have before a partial vector index for it is advised (5%).
 * Below it, an index-served predicate (GIN) selects few enough rows for an exact search over them
 * (1M rows × 1% = 10,000 distances), and a partial index per value would multiply builds; above it the
 * selected rows are too many for an exact search, and a filtered walk of the full HNSW graph drops 90-95%
 * of what it visits (fewer than k rows, lower recall), while a partial graph holds only matching rows.
 */
export const PARTIAL_INDEX_MIN_SHARE = 0.05;

export interface AdviseFilterIndexesInput {
  /** Table name, and its schema (default: the search_path's choice). */
  readonly table: string;
  readonly schema?: string | undefined;
  /** Sample filters the application runs often (the store's filter language). */
  readonly filters: readonly unknown[];
  /** The store's column names: default `metadata`, `created_at`, `embedding`. */
  readonly metadataColumn?: string | undefined;
  readonly createdAtColumn?: string | undefined;
  readonly vectorColumn?: string | undefined;
  /** Below this many rows a sequential scan is fine and no filter index is advised (default 10,000). */
  readonly largeTableRows?: number | undefined;
}

/** One index a filter needs, and whether the table has it. */
export interface FilterIndexAdviceItem {
  readonly need: FilterIndexNeed;
  readonly spec: ResolvedFilterIndexSpec;
  /** The DDL to build it by hand (`CONCURRENTLY`). */
  readonly ddl: string;
  /** Names of the table's indexes with the same definition. */
  readonly existing: readonly string[];
  /** `served`: an index exists; `missing`: advised; `small`: the table is small, no index needed yet. */
  readonly status: 'served' | 'missing' | 'small';
  /** The `prisma-pgvector migration index …` command that writes the migration. */
  readonly command: string;
  readonly message: string;
}

/** A partial vector index for one value of a key, weighed by that value's share of the rows. */
export interface PartialIndexAdvice extends PartialIndexCandidate {
  /** Estimated share of rows with this value (a sample above 200,000 rows). */
  readonly share: number;
  readonly advised: boolean;
  /** Vector indexes with this predicate. */
  readonly existing: readonly string[];
  /** PostgreSQL's rendering of the predicate, e.g. `((metadata ->> 'type'::text) = 'note'::text)`. */
  readonly predicate: string;
  readonly command: string;
  readonly message: string;
}

/** The advice for one filter. */
export interface FilterAdvice {
  readonly filter: unknown;
  readonly items: readonly FilterIndexAdviceItem[];
  readonly partial: readonly PartialIndexAdvice[];
  /** Conditions no index serves (negations, `exists`). */
  readonly unserved: readonly string[];
  /**
   * The indexes the planner uses for the store's compiled filter (`compileFilter` with these columns),
   * `EXPLAIN SELECT 1 FROM t WHERE <filter>` with `enable_seqscan = off`: the proof that query and index
   * hold the same expression. Empty when no index can serve the compiled SQL.
   */
  readonly plannerIndexes: readonly string[];
  /** One-line summary. */
  readonly message: string;
}

/** The advice for all filters on a table. */
export interface FilterIndexesAdvice {
  readonly table: string;
  /** `pg_class.reltuples` (or a bounded count when the table was never analyzed). */
  readonly rows: number;
  readonly small: boolean;
  readonly filters: readonly FilterAdvice[];
}

const PROBE = 'pg_temp."_ppv_filter_probe"';

function usingPart(definition: string): string {
  const at = definition.lastIndexOf(' USING ');
  return at < 0 ? definition : definition.slice(at);
}

function migrationCommand(spec: ResolvedFilterIndexSpec, table: string): string {
  const kind = spec.kind === 'createdAt' ? 'created-at' : spec.kind;
  const key = spec.key === undefined ? '' : ` --key ${spec.key.join('.')}`;
  return `npx prisma-pgvector migration index --kind ${kind}${key} --table ${table}`;
}

async function tableRows(client: pg.ClientBase, tableSql: string, largeTableRows: number): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = '${tableSql.replaceAll("'", "''")}'::regclass`,
  );
  const n = Number(rows[0]?.n ?? -1);
  if (n > 0) return Math.round(n);
  // Never analyzed (-1 on PostgreSQL 14+, 0 before): count, up to 10× the threshold.
  const limit = largeTableRows * 10;
  const counted = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM ${tableSql} LIMIT ${limit}) s`,
  );
  return Number(counted.rows[0]?.n ?? 0);
}

async function valueShare(
  client: pg.ClientBase,
  tableSql: string,
  column: string,
  candidate: PartialIndexCandidate,
  rows: number,
): Promise<number> {
  const sample =
    rows > 200_000
      ? ` TABLESAMPLE SYSTEM (${Math.max(0.01, (100 * 200_000) / rows).toFixed(4)}) REPEATABLE (7)`
      : '';
  const { rows: r } = await client.query<{ hit: number; n: number }>(
    `SELECT count(*) FILTER (WHERE ${quoteIdentifier(column)} ->> $1::text = $2::text)::float8 AS hit, count(*)::float8 AS n FROM ${tableSql}${sample}`,
    [candidate.key, candidate.value],
  );
  const n = Number(r[0]?.n ?? 0);
  return n === 0 ? 0 : Number(r[0]?.hit ?? 0) / n;
}

function indexNames(plan: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(plan)) for (const p of plan) indexNames(p, out);
  else if (typeof plan === 'object' && plan !== null) {
    for (const [k, v] of Object.entries(plan)) {
      if (k === 'Index Name' && typeof v === 'string') out.add(v);
      else indexNames(v, out);
    }
  }
  return out;
}

/** The indexes the planner uses for the compiled filter when sequential scans are off. */
async function plannerIndexes(
  client: pg.ClientBase,
  tableSql: string,
  filter: unknown,
  metadata: string,
  createdAt: string,
): Promise<string[]> {
  // As the store compiles it on this table: for the keys with a text or string B-tree.
  const { rows } = await client.query<{ expression: unknown }>(EXPRESSION_INDEXES_SQL, [tableSql]);
  const keys = filterIndexKeys(metadata, rows);
  const where = compileFilter(filter as Filter, {
    metadataColumn: raw(quoteIdentifier(metadata)),
    createdAtColumn: raw(quoteIdentifier(createdAt)),
    textIndexKeys: keys.text,
    stringIndexKeys: keys.string,
  });
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${tableSql} WHERE ${where.text}`,
      where.values as unknown[],
    );
    const plan = rows[0]?.['QUERY PLAN'];
    return [...indexNames(typeof plan === 'string' ? JSON.parse(plan) : plan, new Set())].sort();
  } finally {
    await client.query('ROLLBACK');
  }
}

interface ExistingIndex {
  readonly name: string;
  readonly method: string;
  readonly using: string;
  readonly predicate: string | null;
}

/**
 * Advises filter indexes for sample filters on a live table (see the module comment for how existing
 * indexes are matched). The client must not be inside a transaction (the probe runs in its own, rolled back).
 *
 * ### Examples
 * ```ts
 * const advice = await adviseFilterIndexes(client, {
 *   table: 'documents',
 *   filters: [{ tenant: 't7' }, { price: { gte: 10, lt: 20 } }, { createdAt: { gte: new Date('2026-01-01') } }],
 * });
 * for (const f of advice.filters) console.log(f.message);
 * ```
 *
 * The SQL it runs (PostgreSQL), among others:
 * ```sql
 * SELECT c.relname, am.amname, pg_get_indexdef(i.indexrelid), pg_get_expr(i.indpred, i.indrelid) FROM pg_index i … WHERE i.indrelid = '"documents"'::regclass AND i.indisvalid;
 * BEGIN; CREATE TEMP TABLE pg_temp."_ppv_filter_probe" (LIKE "documents") ON COMMIT DROP; CREATE INDEX … ON pg_temp."_ppv_filter_probe" …; ROLLBACK;
 * ```
 */
export async function adviseFilterIndexes(
  client: pg.ClientBase,
  input: AdviseFilterIndexesInput,
): Promise<FilterIndexesAdvice> {
  const metadata = input.metadataColumn ?? 'metadata';
  const createdAt = input.createdAtColumn ?? 'created_at';
  const vector = input.vectorColumn ?? 'embedding';
  const threshold = input.largeTableRows ?? SMALL_TABLE_ROWS;
  const tableSql = qualifiedTable(input.table, input.schema);
  const label = input.schema === undefined ? input.table : `${input.schema}.${input.table}`;
  const rows = await tableRows(client, tableSql, threshold);
  const small = rows < threshold;

  const { rows: indexRows } = await client.query<ExistingIndex & { definition: string }>(
    `SELECT c.relname AS "name", am.amname AS "method", pg_get_indexdef(i.indexrelid) AS "definition",
            pg_get_expr(i.indpred, i.indrelid) AS "predicate"
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
      WHERE i.indrelid = '${tableSql.replaceAll("'", "''")}'::regclass AND i.indisvalid`,
  );
  const existing: ExistingIndex[] = indexRows.map((r) => ({ ...r, using: usingPart(r.definition) }));

  const analyses = input.filters.map((filter) => ({ filter, analysis: filterIndexNeeds(filter) }));
  // Every spec any filter needs, once; the GIN index in both operator classes that serve `@>`.
  const specs = new Map<string, ResolvedFilterIndexSpec>();
  const specKey = (kind: FilterIndexKind, key?: string) => `${kind}:${key ?? ''}`;
  for (const { analysis } of analyses) {
    for (const need of analysis.needs) {
      const k = specKey(need.kind, need.key);
      if (specs.has(k)) continue;
      specs.set(
        k,
        resolveFilterIndexSpec({
          table: input.table,
          schema: input.schema,
          kind: need.kind,
          key: need.key,
          column: need.kind === 'createdAt' ? createdAt : metadata,
          concurrently: true,
        }),
      );
    }
  }
  const candidates = analyses.flatMap(({ analysis }) => analysis.partialCandidates);

  // Deparse what we would build, on an empty copy of the table, rolled back.
  const rendered = new Map<string, string[]>();
  const predicates = new Map<string, string>();
  if (specs.size > 0 || candidates.length > 0) {
    await client.query('BEGIN');
    try {
      await client.query(`CREATE TEMP TABLE ${PROBE} (LIKE ${tableSql}) ON COMMIT DROP`);
      let n = 0;
      const probe = async (sqlText: string) => {
        const name = `_ppv_probe_${n++}`;
        await client.query(sqlText.replace('__NAME__', quoteIdentifier(name)));
        const { rows: d } = await client.query<{ definition: string; predicate: string | null }>(
          `SELECT pg_get_indexdef(c.oid) AS "definition", pg_get_expr(i.indpred, i.indrelid) AS "predicate"
             FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
            WHERE c.relname = $1 AND c.relnamespace = pg_my_temp_schema()`,
          [name],
        );
        return d[0];
      };
      for (const [k, spec] of specs) {
        const key = spec.keySql;
        // jsonb_ops serves `@>` too; a B-tree on the key's text serves string conditions too (with a
        // per-row type test beside them), so an existing one counts as serving a string range.
        const forms =
          spec.kind === 'gin'
            ? [key, quoteIdentifier(spec.column)]
            : spec.kind === 'string' && spec.key !== undefined
              ? [key, `(${metadataTextExpression(quoteIdentifier(spec.column), spec.key)})`]
              : [key];
        const out: string[] = [];
        for (const form of forms) {
          const d = await probe(`CREATE INDEX __NAME__ ON ${PROBE} USING ${spec.method} (${form})`);
          if (d !== undefined) out.push(usingPart(d.definition));
        }
        rendered.set(k, out);
      }
      for (const c of candidates) {
        const where = partialIndexPredicateSql(raw(quoteIdentifier(metadata)), c).text;
        const d = await probe(
          `CREATE INDEX __NAME__ ON ${PROBE} (${quoteIdentifier(metadata)}) WHERE ${where}`,
        );
        if (d?.predicate) predicates.set(`${c.key}\u0000${c.value}`, d.predicate);
      }
    } finally {
      await client.query('ROLLBACK');
    }
  }

  const filters: FilterAdvice[] = [];
  for (const { filter, analysis } of analyses) {
    const items: FilterIndexAdviceItem[] = [];
    for (const need of analysis.needs) {
      const spec = specs.get(specKey(need.kind, need.key)) as ResolvedFilterIndexSpec;
      const forms = rendered.get(specKey(need.kind, need.key)) ?? [];
      const matches = existing
        .filter((e) => e.predicate === null && forms.includes(e.using))
        .map((e) => e.name);
      const what = describeNeed(need);
      const status = matches.length > 0 ? 'served' : small ? 'small' : 'missing';
      const message =
        status === 'served'
          ? `${what}: served by ${matches.join(', ')}`
          : status === 'small'
            ? `${what}: would be served by ${spec.method} ${spec.keySql}; not needed at ${rows} rows (< ${threshold}: a sequential scan is fast)`
            : `${what}: no index serves it on ${rows} rows; add ${spec.method} ${spec.keySql}${need.inOr ? ' (inside an `or`: every branch needs an index)' : ''}`;
      items.push({
        need,
        spec,
        ddl: `${filterIndexDdl(spec)};`,
        existing: matches,
        status,
        command: migrationCommand(spec, input.table),
        message,
      });
    }
    const partial: PartialIndexAdvice[] = [];
    for (const c of analysis.partialCandidates) {
      const predicate = predicates.get(`${c.key}\u0000${c.value}`) ?? '';
      const have = existing
        .filter((e) => (e.method === 'hnsw' || e.method === 'ivfflat') && e.predicate === predicate)
        .map((e) => e.name);
      const share = small ? 0 : await valueShare(client, tableSql, metadata, c, rows);
      const advised = !small && have.length === 0 && share >= PARTIAL_INDEX_MIN_SHARE;
      const where = `(${metadata} ->> '${c.key}') = '${c.value}'`;
      const name = defaultIndexName({
        table: input.table,
        column: vector,
        method: 'hnsw',
        metric: 'cosine',
        where,
      });
      const pct = `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`;
      const message =
        have.length > 0
          ? `${c.key} = '${c.value}': partial vector index ${have.join(', ')}`
          : small
            ? `${c.key} = '${c.value}': no partial vector index needed at ${rows} rows`
            : advised
              ? `${c.key} = '${c.value}' is ${pct} of ${rows} rows (≥ ${PARTIAL_INDEX_MIN_SHARE * 100}%): a partial HNSW index WHERE ${predicate} gives its searches their own graph (k rows, full recall); list { key: '${c.key}', value: '${c.value}' } in the store's partialIndexPredicates`
              : `${c.key} = '${c.value}' is ${pct} of rows (< ${PARTIAL_INDEX_MIN_SHARE * 100}%): the index-selected rows are few enough for an exact search; no partial vector index`;
      partial.push({
        ...c,
        share,
        advised,
        existing: have,
        predicate,
        command: `npx prisma-pgvector migration index --name ${name} --column ${vector} --table ${input.table} --where "${where}"`,
        message,
      });
    }
    const planner = await plannerIndexes(client, tableSql, filter, metadata, createdAt);
    const missing = items.filter((i) => i.status === 'missing').length;
    const message =
      items.length === 0
        ? `no condition an index can serve${analysis.unserved.length > 0 ? ` (${analysis.unserved.join(', ')})` : ''}`
        : small
          ? `${rows} rows (< ${threshold}): a sequential scan is fine, no filter index needed yet`
          : missing === 0
            ? 'every condition is served by an index'
            : `${missing} of ${items.length} conditions have no index`;
    const used = planner.length > 0 ? `; the planner uses ${planner.join(', ')} for the compiled filter` : '';
    filters.push({
      filter,
      items,
      partial,
      unserved: analysis.unserved,
      plannerIndexes: planner,
      message: `${message}${used}`,
    });
  }
  return { table: label, rows, small, filters };
}

function describeNeed(need: FilterIndexNeed): string {
  const ops = need.operators.join('/');
  switch (need.kind) {
    case 'gin':
      return `${ops} (metadata @>)`;
    case 'createdAt':
      return `createdAt ${ops}`;
    default:
      return `${need.key} ${ops} (${need.kind})`;
  }
}
